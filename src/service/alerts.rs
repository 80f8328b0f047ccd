//! `voiceprint.v1.AlertService`: person-device separation alerts for officers.

use std::pin::Pin;
use std::sync::Arc;

use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::convert_alerts;
use super::observe::RpcCall;
use crate::proto::v1 as pb;
use crate::proto::v1::alert_service_server::AlertService;
use crate::registry::{AlertStateRequest, AlertWatchRequest, Registry};
use crate::store::AlertFilter;

/// The response stream of WatchAlerts.
pub type AlertUpdates = Pin<Box<dyn Stream<Item = Result<pb::WatchAlertsResponse, Status>> + Send + 'static>>;

pub struct AlertApi {
    registry: Arc<Registry>,
}

impl AlertApi {
    pub fn new(registry: Arc<Registry>) -> Self {
        AlertApi { registry }
    }

    async fn list(&self, request: pb::ListAlertsRequest) -> Result<pb::ListAlertsResponse, Status> {
        let filter = AlertFilter::try_from(request)?;
        let page = self.registry.alerts(filter).await?;
        Ok(pb::ListAlertsResponse {
            alerts: page.alerts.iter().map(convert_alerts::alert).collect(),
            next_page_token: page.next.map(convert_alerts::page_token).unwrap_or_default(),
        })
    }

    async fn watch(&self, request: pb::WatchAlertsRequest) -> Result<AlertUpdates, Status> {
        let request = AlertWatchRequest::try_from(request)?;
        let feed = self.registry.watch_alerts(request).await?;
        Ok(Box::pin(feed.map(|item| Ok(convert_alerts::watch_item(item)))))
    }

    async fn acknowledge(&self, request: pb::AcknowledgeAlertRequest) -> Result<pb::Alert, Status> {
        let request = AlertStateRequest::try_from(request)?;
        let alert = self.registry.acknowledge_alert(request).await?;
        Ok(convert_alerts::alert(&alert))
    }

    async fn close(&self, request: pb::CloseAlertRequest) -> Result<pb::Alert, Status> {
        let request = AlertStateRequest::try_from(request)?;
        let alert = self.registry.close_alert(request).await?;
        Ok(convert_alerts::alert(&alert))
    }
}

#[tonic::async_trait]
impl AlertService for AlertApi {
    type WatchAlertsStream = AlertUpdates;

    async fn list_alerts(&self, request: Request<pb::ListAlertsRequest>) -> Result<Response<pb::ListAlertsResponse>, Status> {
        let request = request.into_inner();
        let mut call = RpcCall::start("ListAlerts");
        call.subject(&request.subject_id);
        call.finish(self.list(request).await)
    }

    /// Logged when the stream starts; the stream itself runs until the client leaves or the
    /// server shuts down.
    async fn watch_alerts(&self, request: Request<pb::WatchAlertsRequest>) -> Result<Response<AlertUpdates>, Status> {
        let request = request.into_inner();
        let mut call = RpcCall::start("WatchAlerts");
        call.subject(&request.subject_id);
        call.finish(self.watch(request).await)
    }

    async fn acknowledge_alert(&self, request: Request<pb::AcknowledgeAlertRequest>) -> Result<Response<pb::Alert>, Status> {
        let call = RpcCall::start("AcknowledgeAlert");
        call.finish(self.acknowledge(request.into_inner()).await)
    }

    async fn close_alert(&self, request: Request<pb::CloseAlertRequest>) -> Result<Response<pb::Alert>, Status> {
        let call = RpcCall::start("CloseAlert");
        call.finish(self.close(request.into_inner()).await)
    }
}
