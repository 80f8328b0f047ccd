//! Conversions between the alert messages and the separation types.

use super::convert::{check_page_size, system_time, Violations};
use crate::proto::v1 as pb;
use crate::registry::{AlertStateRequest, AlertWatchRequest, FieldViolation, Identifier, RegistryError};
use crate::separation::{Alert, AlertEvent, AlertEventKind, AlertState, Evidence, EvidenceDetail, ReplaySource, Signal, StateChange, WatchItem};
use crate::store::{AlertCursor, AlertFilter};

impl TryFrom<pb::ListAlertsRequest> for AlertFilter {
    type Error = RegistryError;

    fn try_from(request: pb::ListAlertsRequest) -> Result<Self, Self::Error> {
        let mut violations = Violations::default();

        let subject_id = if request.subject_id.is_empty() {
            None
        } else {
            violations.check(Identifier::parse("subject_id", &request.subject_id)).map(|id| id.to_string())
        };

        let mut states = Vec::new();
        for (index, &value) in request.states.iter().enumerate() {
            match alert_state_from_proto(value) {
                Some(state) if !states.contains(&state) => states.push(state),
                Some(_) => {}
                None => violations.push(format!("states[{index}]"), format!("states[{index}] has the invalid value {value}")),
            }
        }

        let start = request.start_time.and_then(|time| violations.check(system_time(time, "start_time")));
        let end = request.end_time.and_then(|time| violations.check(system_time(time, "end_time")));
        if let (Some(start), Some(end)) = (start, end) {
            if end <= start {
                violations.push("end_time", "end_time must be after start_time");
            }
        }

        let limit = check_page_size(request.page_size, &mut violations);
        let after = if request.page_token.is_empty() {
            None
        } else {
            violations.check(parse_page_token(&request.page_token))
        };

        violations.finish(|| Some(AlertFilter { subject_id, states, start, end, after, limit }))
    }
}

impl TryFrom<pb::WatchAlertsRequest> for AlertWatchRequest {
    type Error = RegistryError;

    fn try_from(request: pb::WatchAlertsRequest) -> Result<Self, Self::Error> {
        let subject_id = if request.subject_id.is_empty() {
            None
        } else {
            Some(Identifier::parse("subject_id", &request.subject_id)?)
        };
        Ok(AlertWatchRequest { subject_id, include_open: request.include_open })
    }
}

impl TryFrom<pb::AcknowledgeAlertRequest> for AlertStateRequest {
    type Error = RegistryError;

    fn try_from(request: pb::AcknowledgeAlertRequest) -> Result<Self, Self::Error> {
        alert_state_request(request.alert_id, &request.officer_id, request.note, false)
    }
}

impl TryFrom<pb::CloseAlertRequest> for AlertStateRequest {
    type Error = RegistryError;

    fn try_from(request: pb::CloseAlertRequest) -> Result<Self, Self::Error> {
        alert_state_request(request.alert_id, &request.officer_id, request.note, true)
    }
}

fn alert_state_request(alert_id: u64, officer_id: &str, note: String, note_required: bool) -> Result<AlertStateRequest, RegistryError> {
    let mut violations = Violations::default();
    let alert_id = match i64::try_from(alert_id) {
        Ok(id) if id > 0 => Some(id),
        _ => {
            violations.push("alert_id", format!("alert_id is {alert_id}, but alert ids are 1 or more"));
            None
        }
    };
    let officer_id = violations.check(Identifier::parse("officer_id", officer_id));
    violations.check(AlertStateRequest::check_note(&note, note_required));

    violations.finish(|| Some(AlertStateRequest { alert_id: alert_id?, officer_id: officer_id?, note }))
}

/// Encodes where the next page of alerts starts. Clients treat the token as opaque.
pub(crate) fn page_token(cursor: AlertCursor) -> String {
    format!("{}.{}", cursor.raised_at_ms, cursor.id)
}

fn parse_page_token(token: &str) -> Result<AlertCursor, FieldViolation> {
    let invalid = || FieldViolation::new("page_token", "page_token is not a token this server returned");
    let (time, id) = token.split_once('.').ok_or_else(invalid)?;
    Ok(AlertCursor { raised_at_ms: time.parse().map_err(|_| invalid())?, id: id.parse().map_err(|_| invalid())? })
}

fn alert_state_from_proto(value: i32) -> Option<AlertState> {
    match pb::AlertState::try_from(value).ok()? {
        pb::AlertState::Open => Some(AlertState::Open),
        pb::AlertState::Acknowledged => Some(AlertState::Acknowledged),
        pb::AlertState::Closed => Some(AlertState::Closed),
        pb::AlertState::Unspecified => None,
    }
}

fn alert_state(state: AlertState) -> pb::AlertState {
    match state {
        AlertState::Open => pb::AlertState::Open,
        AlertState::Acknowledged => pb::AlertState::Acknowledged,
        AlertState::Closed => pb::AlertState::Closed,
    }
}

fn signal(signal: Signal) -> pb::AlertSignal {
    match signal {
        Signal::MismatchStreak => pb::AlertSignal::MismatchStreak,
        Signal::ProxyCheckIn => pb::AlertSignal::ProxyCheckIn,
        Signal::Replay => pb::AlertSignal::Replay,
    }
}

pub(crate) fn alert(alert: &Alert) -> pb::Alert {
    pb::Alert {
        id: alert.id as u64,
        subject_id: alert.subject_id.clone(),
        signal: signal(alert.signal) as i32,
        state: alert_state(alert.state) as i32,
        raised_at: Some(alert.raised_at.into()),
        updated_at: Some(alert.updated_at.into()),
        acknowledgement: alert.acknowledged.as_ref().map(state_change),
        closure: alert.closed.as_ref().map(state_change),
        evidence: alert.evidence.iter().map(evidence).collect(),
    }
}

fn state_change(change: &StateChange) -> pb::AlertStateChange {
    pb::AlertStateChange { officer_id: change.officer_id.clone(), note: change.note.clone(), changed_at: Some(change.at.into()) }
}

fn evidence(evidence: &Evidence) -> pb::AlertEvidence {
    let (decision, _) = super::convert::decision(evidence.decision);
    pb::AlertEvidence {
        check_in_id: evidence.check_in_id as u64,
        checked_in_at: Some(evidence.checked_in_at.into()),
        decision: decision as i32,
        score: evidence.score,
        detail: evidence_detail(&evidence.detail),
        erased_at: evidence.erased_at.map(Into::into),
    }
}

fn evidence_detail(detail: &EvidenceDetail) -> Option<pb::alert_evidence::Detail> {
    match detail {
        EvidenceDetail::Mismatch => None,
        EvidenceDetail::Proxy { subject_id, score } => {
            Some(pb::alert_evidence::Detail::Proxy(pb::ProxyEvidence { subject_id: subject_id.clone(), score: *score }))
        }
        EvidenceDetail::Replay { source, match_score, matched_hashes } => {
            let replay = pb::ReplayEvidence {
                source: Some(replay_source(source)),
                source_recorded_at: Some(source.recorded_at().into()),
                match_score: *match_score,
                matched_hashes: *matched_hashes,
            };
            Some(pb::alert_evidence::Detail::Replay(replay))
        }
    }
}

fn replay_source(source: &ReplaySource) -> pb::replay_evidence::Source {
    match *source {
        ReplaySource::CheckIn { check_in_id, .. } => pb::replay_evidence::Source::SourceCheckInId(check_in_id as u64),
        ReplaySource::EnrollmentClip { voiceprint_id, clip_index, .. } => {
            pb::replay_evidence::Source::SourceEnrollmentClip(pb::EnrollmentClipRef {
                voiceprint_id: voiceprint_id as u64,
                clip_index: i32::try_from(clip_index).unwrap_or(i32::MAX),
            })
        }
    }
}

pub(crate) fn watch_item(item: WatchItem) -> pb::WatchAlertsResponse {
    let update = match item {
        WatchItem::Existing(existing) => pb::watch_alerts_response::Update::Event(pb::AlertEvent {
            kind: pb::alert_event::Kind::Existing as i32,
            alert: Some(alert(&existing)),
        }),
        WatchItem::Event(event) => pb::watch_alerts_response::Update::Event(alert_event(&event)),
        WatchItem::Missed { events } => pb::watch_alerts_response::Update::Missed(pb::MissedAlertEvents { count: events }),
    };
    pb::WatchAlertsResponse { update: Some(update) }
}

fn alert_event(event: &AlertEvent) -> pb::AlertEvent {
    let kind = match event.kind {
        AlertEventKind::Raised => pb::alert_event::Kind::Raised,
        AlertEventKind::EvidenceAdded => pb::alert_event::Kind::EvidenceAdded,
        AlertEventKind::Acknowledged => pb::alert_event::Kind::Acknowledged,
        AlertEventKind::Closed => pb::alert_event::Kind::Closed,
    };
    pb::AlertEvent { kind: kind as i32, alert: Some(alert(&event.alert)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violated_fields(error: RegistryError) -> Vec<String> {
        match error {
            RegistryError::InvalidRequest(violations) => violations.into_iter().map(|v| v.field).collect(),
            other => panic!("expected field violations, got {other}"),
        }
    }

    #[test]
    fn list_request_converts_states_and_token() {
        let request = pb::ListAlertsRequest {
            subject_id: "s1".into(),
            states: vec![pb::AlertState::Open as i32, pb::AlertState::Acknowledged as i32, pb::AlertState::Open as i32],
            page_token: page_token(AlertCursor { raised_at_ms: 1_735_689_600_000, id: 7 }),
            ..Default::default()
        };
        let filter = AlertFilter::try_from(request).unwrap();
        assert_eq!(filter.subject_id.as_deref(), Some("s1"));
        assert_eq!(filter.states, vec![AlertState::Open, AlertState::Acknowledged]);
        assert_eq!(filter.after, Some(AlertCursor { raised_at_ms: 1_735_689_600_000, id: 7 }));
        assert_eq!(filter.limit, super::super::DEFAULT_PAGE_SIZE);
    }

    #[test]
    fn list_request_reports_every_bad_field() {
        let request = pb::ListAlertsRequest {
            subject_id: " s1".into(),
            states: vec![0, 9],
            page_size: 5000,
            page_token: "nonsense".into(),
            ..Default::default()
        };
        let fields = violated_fields(AlertFilter::try_from(request).unwrap_err());
        assert_eq!(fields, vec!["subject_id", "states[0]", "states[1]", "page_size", "page_token"]);
    }

    #[test]
    fn close_needs_an_officer_and_a_note() {
        let request = pb::CloseAlertRequest { alert_id: 0, officer_id: String::new(), note: "  ".into() };
        let fields = violated_fields(AlertStateRequest::try_from(request).unwrap_err());
        assert_eq!(fields, vec!["alert_id", "officer_id", "note"]);

        let request = pb::AcknowledgeAlertRequest { alert_id: 3, officer_id: "officer-1".into(), note: String::new() };
        assert_eq!(AlertStateRequest::try_from(request).unwrap().alert_id, 3);
    }

    #[test]
    fn long_note_is_rejected() {
        let note = "x".repeat(crate::registry::MAX_NOTE_BYTES + 1);
        let request = pb::AcknowledgeAlertRequest { alert_id: 3, officer_id: "officer-1".into(), note };
        assert_eq!(violated_fields(AlertStateRequest::try_from(request).unwrap_err()), vec!["note"]);
    }
}
