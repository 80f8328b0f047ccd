//! `voiceprint client alerts`, `ack` and `close`: person-device separation alerts for
//! officers and scripts.
//!
//! `alerts` prints one alert per line as a JSON object with the subject id, the signal and
//! the evidence, so that the output can be piped into `jq` or a log shipper. With
//! `--follow` every line also has an `event` field: EXISTING for the alerts open at the
//! start, then RAISED, EVIDENCE_ADDED, ACKNOWLEDGED or CLOSED. A line `{"missed_events": N}`
//! reports changes that the server dropped because this client read too slowly, and
//! `alerts` without `--follow` then shows the current state.

use clap::ValueEnum;
use serde_json::{json, Value};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use super::{decision_name, print_json, score_json, time_json, Failure};
use voiceprint::proto::v1 as pb;
use voiceprint::proto::v1::alert_service_client::AlertServiceClient;

/// Alerts requested per page when listing.
const LIST_PAGE_SIZE: i32 = 500;

#[derive(Debug, clap::Args)]
pub struct AlertsArgs {
    /// Only this subject's alerts
    #[arg(long, value_name = "ID")]
    subject: Option<String>,

    /// Only alerts in this state [default: open]; repeat for several
    #[arg(long, value_enum, value_name = "STATE", conflicts_with = "follow")]
    state: Vec<StateArg>,

    /// Earliest raising time included, RFC 3339 (such as 2025-01-31T08:00:00Z)
    #[arg(long, value_name = "TIME", conflicts_with = "follow")]
    since: Option<prost_types::Timestamp>,

    /// Keep running: print the open alerts, then every change to any alert as it happens
    #[arg(long)]
    follow: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StateArg {
    Open,
    Acknowledged,
    Closed,
    /// Every state
    All,
}

#[derive(Debug, clap::Args)]
pub struct AlertStateArgs {
    /// The alert's id, as `alerts` prints it
    #[arg(long, value_name = "ID")]
    alert: u64,

    /// The officer's id
    #[arg(long, value_name = "ID")]
    officer: String,

    /// The officer's finding or action; required to close an alert
    #[arg(long, value_name = "TEXT", default_value = "")]
    note: String,
}

/// Prints alerts as JSON lines: a listing that ends, or with `--follow` a watch that runs
/// until interrupted.
pub(super) async fn print_alerts(channel: Channel, args: &AlertsArgs, pretty: bool) -> Result<(), Failure> {
    let mut client = AlertServiceClient::new(channel);
    if args.follow {
        follow(&mut client, args, pretty).await
    } else {
        list(&mut client, args, pretty).await
    }
}

pub(super) async fn acknowledge(channel: Channel, args: &AlertStateArgs) -> Result<Value, Failure> {
    let request = pb::AcknowledgeAlertRequest { alert_id: args.alert, officer_id: args.officer.clone(), note: args.note.clone() };
    let alert = AlertServiceClient::new(channel).acknowledge_alert(request).await?.into_inner();
    Ok(alert_json(&alert))
}

pub(super) async fn close(channel: Channel, args: &AlertStateArgs) -> Result<Value, Failure> {
    let request = pb::CloseAlertRequest { alert_id: args.alert, officer_id: args.officer.clone(), note: args.note.clone() };
    let alert = AlertServiceClient::new(channel).close_alert(request).await?.into_inner();
    Ok(alert_json(&alert))
}

async fn list(client: &mut AlertServiceClient<Channel>, args: &AlertsArgs, pretty: bool) -> Result<(), Failure> {
    let mut request = pb::ListAlertsRequest {
        subject_id: args.subject.clone().unwrap_or_default(),
        states: requested_states(&args.state),
        start_time: args.since,
        end_time: None,
        page_size: LIST_PAGE_SIZE,
        page_token: String::new(),
    };

    loop {
        let page = client.list_alerts(request.clone()).await?.into_inner();
        for alert in &page.alerts {
            print_json(&alert_json(alert), pretty);
        }
        if page.next_page_token.is_empty() {
            return Ok(());
        }
        request.page_token = page.next_page_token;
    }
}

async fn follow(client: &mut AlertServiceClient<Channel>, args: &AlertsArgs, pretty: bool) -> Result<(), Failure> {
    let request = pb::WatchAlertsRequest { subject_id: args.subject.clone().unwrap_or_default(), include_open: true };
    let mut updates = client.watch_alerts(request).await?.into_inner();

    while let Some(update) = updates.next().await {
        match update?.update {
            Some(pb::watch_alerts_response::Update::Event(event)) => {
                let mut line = event.alert.as_ref().map_or_else(|| json!({}), alert_json);
                line["event"] = json!(event.kind().as_str_name());
                print_json(&line, pretty);
            }
            Some(pb::watch_alerts_response::Update::Missed(missed)) => {
                eprintln!("warning: fell behind and missed {} alert changes; `voiceprint client alerts` lists the current state", missed.count);
                print_json(&json!({ "missed_events": missed.count }), pretty);
            }
            None => {}
        }
    }
    Err(Failure::Input("the server ended the alert stream, probably because it is shutting down".into()))
}

/// Turns the `--state` options into the request's states: OPEN when none is given, and
/// every state for `all`.
fn requested_states(states: &[StateArg]) -> Vec<i32> {
    if states.contains(&StateArg::All) {
        return Vec::new();
    }
    if states.is_empty() {
        return vec![pb::AlertState::Open as i32];
    }
    states
        .iter()
        .filter_map(|state| match state {
            StateArg::Open => Some(pb::AlertState::Open as i32),
            StateArg::Acknowledged => Some(pb::AlertState::Acknowledged as i32),
            StateArg::Closed => Some(pb::AlertState::Closed as i32),
            StateArg::All => None,
        })
        .collect()
}

pub(super) fn alert_json(alert: &pb::Alert) -> Value {
    json!({
        "id": alert.id,
        "subject_id": alert.subject_id,
        "signal": alert.signal().as_str_name(),
        "state": alert.state().as_str_name(),
        "raised_at": time_json(alert.raised_at.as_ref()),
        "updated_at": time_json(alert.updated_at.as_ref()),
        "acknowledgement": alert.acknowledgement.as_ref().map_or(Value::Null, state_change_json),
        "closure": alert.closure.as_ref().map_or(Value::Null, state_change_json),
        "evidence": alert.evidence.iter().map(evidence_json).collect::<Vec<_>>(),
    })
}

fn state_change_json(change: &pb::AlertStateChange) -> Value {
    json!({
        "officer_id": change.officer_id,
        "note": change.note,
        "changed_at": time_json(change.changed_at.as_ref()),
    })
}

fn evidence_json(evidence: &pb::AlertEvidence) -> Value {
    let mut value = json!({
        "check_in_id": evidence.check_in_id,
        "checked_in_at": time_json(evidence.checked_in_at.as_ref()),
        "decision": decision_name(evidence.decision),
        "score": evidence.score.map_or(Value::Null, score_json),
        "erased_at": time_json(evidence.erased_at.as_ref()),
    });

    match &evidence.detail {
        Some(pb::alert_evidence::Detail::Proxy(proxy)) => {
            value["proxy"] = json!({
                "subject_id": proxy.subject_id,
                "score": proxy.score.map_or(Value::Null, score_json),
            });
        }
        Some(pb::alert_evidence::Detail::Replay(replay)) => value["replay"] = replay_json(replay),
        None => {}
    }
    value
}

fn replay_json(replay: &pb::ReplayEvidence) -> Value {
    let mut value = json!({
        "source_recorded_at": time_json(replay.source_recorded_at.as_ref()),
        "match_score": replay.match_score.map_or(Value::Null, |score| json!((score * 1e4).round() / 1e4)),
        "matched_hashes": replay.matched_hashes,
    });
    match &replay.source {
        Some(pb::replay_evidence::Source::SourceCheckInId(check_in_id)) => value["source_check_in_id"] = json!(check_in_id),
        Some(pb::replay_evidence::Source::SourceEnrollmentClip(clip)) => {
            value["source_enrollment_clip"] = json!({ "voiceprint_id": clip.voiceprint_id, "clip_index": clip.clip_index });
        }
        None => {}
    }
    value
}
