//! Person-device separation alerts: listing, officers' acknowledgement and closure, and live
//! delivery of their changes.

use tokio_stream::Stream;

use super::request::{FieldViolation, Identifier};
use super::{Registry, RegistryError};
use crate::separation::watch::alert_feed;
use crate::separation::{Alert, AlertEvent, AlertEventKind, AlertState, StateChange, WatchItem};
use crate::store::{AlertAction, AlertFilter, AlertPage, AlertUpdate};

/// Maximum length of an officer's note, in bytes of UTF-8.
pub const MAX_NOTE_BYTES: usize = 4096;

/// Page size used to read the open alerts that start a watch.
const WATCH_PAGE_SIZE: usize = 1000;

/// Counter of alert events published, labelled by signal and event kind.
pub const ALERT_EVENTS_TOTAL: &str = "voiceprint_alert_events_total";

/// An officer's acknowledgement or closure of one alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertStateRequest {
    pub alert_id: i64,
    pub officer_id: Identifier,
    /// At most [`MAX_NOTE_BYTES`]; required for a closure.
    pub note: String,
}

impl AlertStateRequest {
    /// Checks the note of an acknowledgement (`required` false) or a closure.
    pub fn check_note(note: &str, required: bool) -> Result<(), FieldViolation> {
        if required && note.trim().is_empty() {
            return Err(FieldViolation::new("note", "note is missing: say how the alert was resolved"));
        }
        if note.len() > MAX_NOTE_BYTES {
            return Err(FieldViolation::new("note", format!("note is {} bytes long, over the limit of {MAX_NOTE_BYTES}", note.len())));
        }
        Ok(())
    }
}

/// The alerts a watch delivers.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertWatchRequest {
    /// `None` for every subject.
    pub subject_id: Option<Identifier>,
    /// Start with the alerts that are open now.
    pub include_open: bool,
}

impl Registry {
    /// Lists alerts. A filter on an unknown subject is an error rather than an empty page,
    /// so that a mistyped id is noticed.
    pub async fn alerts(&self, filter: AlertFilter) -> Result<AlertPage, RegistryError> {
        if let Some(subject_id) = &filter.subject_id {
            let id = Identifier::parse("subject_id", subject_id)?;
            self.subject(&id).await?;
        }
        self.with_store(move |store| store.list_alerts(&filter)).await
    }

    pub async fn acknowledge_alert(&self, request: AlertStateRequest) -> Result<Alert, RegistryError> {
        self.update_alert(request, AlertAction::Acknowledge).await
    }

    pub async fn close_alert(&self, request: AlertStateRequest) -> Result<Alert, RegistryError> {
        self.update_alert(request, AlertAction::Close).await
    }

    /// Starts a watch: the open alerts first when asked, then every change from now on.
    pub async fn watch_alerts(
        &self,
        request: AlertWatchRequest,
    ) -> Result<impl Stream<Item = WatchItem> + Send + 'static, RegistryError> {
        if let Some(subject_id) = &request.subject_id {
            self.subject(subject_id).await?;
        }

        // Subscribing before the open alerts are read means no alert raised meanwhile is lost.
        let receiver = self.alert_hub.subscribe();
        let subject_id = request.subject_id.map(|id| id.to_string());
        let existing = if request.include_open { self.open_alerts(subject_id.clone()).await? } else { Vec::new() };
        Ok(alert_feed(existing, receiver, subject_id))
    }

    /// Ends every watch, so that the server can shut down while officers are subscribed.
    pub fn end_alert_watches(&self) {
        self.alert_hub.close();
    }

    /// Logs, counts and broadcasts committed alert changes.
    pub(super) fn publish_alert_events(&self, events: Vec<AlertEvent>) {
        for event in &events {
            let alert = &event.alert;
            let kind = event_kind_label(event.kind);
            tracing::warn!(
                target: "voiceprint::alerts",
                alert_id = alert.id,
                subject_id = %alert.subject_id,
                signal = alert.signal.code(),
                event = kind,
                state = alert.state.code(),
                evidence = alert.evidence.len(),
                "person-device separation alert"
            );
            metrics::counter!(ALERT_EVENTS_TOTAL, "signal" => alert.signal.code(), "event" => kind).increment(1);
        }
        self.alert_hub.publish(events);
    }

    async fn update_alert(&self, request: AlertStateRequest, action: AlertAction) -> Result<Alert, RegistryError> {
        let alert_id = request.alert_id;
        let change = StateChange { officer_id: request.officer_id.to_string(), note: request.note, at: self.now() };
        let update = self.with_store(move |store| store.update_alert(alert_id, action, &change)).await?;

        match update {
            AlertUpdate::Updated(alert) => {
                let kind = match action {
                    AlertAction::Acknowledge => AlertEventKind::Acknowledged,
                    AlertAction::Close => AlertEventKind::Closed,
                };
                self.publish_alert_events(vec![AlertEvent { kind, alert: (*alert).clone() }]);
                Ok(*alert)
            }
            AlertUpdate::NotFound => Err(RegistryError::AlertNotFound { alert_id }),
            AlertUpdate::Rejected { state } => Err(RegistryError::AlertStateConflict { alert_id, state, action }),
        }
    }

    /// Reads every alert in state OPEN, page by page.
    // NOTE: keeps all open alerts in memory at once. An office with tens of thousands of
    // unhandled alerts would want the watch to page through them lazily instead.
    async fn open_alerts(&self, subject_id: Option<String>) -> Result<Vec<Alert>, RegistryError> {
        let mut alerts = Vec::new();
        let mut filter = AlertFilter {
            subject_id,
            states: vec![AlertState::Open],
            start: None,
            end: None,
            after: None,
            limit: WATCH_PAGE_SIZE,
        };
        loop {
            let page_filter = filter.clone();
            let page = self.with_store(move |store| store.list_alerts(&page_filter)).await?;
            alerts.extend(page.alerts);
            match page.next {
                Some(next) => filter.after = Some(next),
                None => return Ok(alerts),
            }
        }
    }
}

fn event_kind_label(kind: AlertEventKind) -> &'static str {
    match kind {
        AlertEventKind::Raised => "RAISED",
        AlertEventKind::EvidenceAdded => "EVIDENCE_ADDED",
        AlertEventKind::Acknowledged => "ACKNOWLEDGED",
        AlertEventKind::Closed => "CLOSED",
    }
}

