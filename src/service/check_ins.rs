//! `voiceprint.v1.CheckInService`: the check-in log.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert;
use super::observe::RpcCall;
use crate::proto::v1 as pb;
use crate::proto::v1::check_in_service_server::CheckInService;
use crate::registry::Registry;
use crate::store::CheckInFilter;

pub struct CheckInApi {
    registry: Arc<Registry>,
}

impl CheckInApi {
    pub fn new(registry: Arc<Registry>) -> Self {
        CheckInApi { registry }
    }

    async fn list(&self, request: pb::ListCheckInsRequest) -> Result<pb::ListCheckInsResponse, Status> {
        let filter = CheckInFilter::try_from(request)?;
        let page = self.registry.check_ins(filter).await?;
        Ok(pb::ListCheckInsResponse {
            check_ins: page.check_ins.iter().map(convert::check_in).collect(),
            next_page_token: page.next.map(convert::page_token).unwrap_or_default(),
        })
    }
}

#[tonic::async_trait]
impl CheckInService for CheckInApi {
    async fn list_check_ins(
        &self,
        request: Request<pb::ListCheckInsRequest>,
    ) -> Result<Response<pb::ListCheckInsResponse>, Status> {
        let request = request.into_inner();
        let mut call = RpcCall::start("ListCheckIns");
        call.subject(&request.subject_id);
        call.finish(self.list(request).await)
    }
}
