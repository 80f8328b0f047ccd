//! One log line and a set of Prometheus metrics per call: method, subject and device ids,
//! decision, score, status, reason and latency. Audio and embeddings are never logged.

use std::time::Instant;

use tonic::{Code, Response, Status};

use super::status::{code_name, reason_of};
use crate::scoring::Decision;

/// Ids are logged up to this many characters, so that a hostile request cannot flood the log.
const MAX_LOGGED_ID_CHARS: usize = 128;

/// Counter of finished calls, labelled by method, status and reason.
pub const REQUESTS_TOTAL: &str = "voiceprint_requests_total";

/// Histogram of call latency in seconds, labelled by method.
pub const REQUEST_DURATION_SECONDS: &str = "voiceprint_request_duration_seconds";

/// Counter of check-in decisions, labelled by decision and inconclusive reason.
pub const DECISIONS_TOTAL: &str = "voiceprint_decisions_total";

/// Registers the help text of every metric with the installed recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(REQUESTS_TOTAL, "gRPC calls finished, by method, status code and reason code");
    metrics::describe_histogram!(REQUEST_DURATION_SECONDS, metrics::Unit::Seconds, "gRPC call latency, by method");
    metrics::describe_counter!(DECISIONS_TOTAL, "Check-in decisions, by decision and inconclusive reason");
}

/// Facts about one call gathered while it runs.
pub(crate) struct RpcCall {
    method: &'static str,
    started: Instant,
    subject_id: Option<String>,
    device_id: Option<String>,
    decision: Option<Decision>,
    score: Option<f32>,
}

impl RpcCall {
    pub fn start(method: &'static str) -> Self {
        RpcCall { method, started: Instant::now(), subject_id: None, device_id: None, decision: None, score: None }
    }

    pub fn subject(&mut self, subject_id: &str) {
        if !subject_id.is_empty() {
            self.subject_id = Some(truncate(subject_id));
        }
    }

    pub fn device(&mut self, device_id: &str) {
        if !device_id.is_empty() {
            self.device_id = Some(truncate(device_id));
        }
    }

    pub fn decision(&mut self, decision: Decision, score: Option<f32>) {
        self.decision = Some(decision);
        self.score = score;
    }

    /// Logs the call and records its metrics, then wraps the outcome for tonic.
    pub fn finish<T>(self, outcome: Result<T, Status>) -> Result<Response<T>, Status> {
        let latency = self.started.elapsed();
        let (code, reason, message) = match &outcome {
            Ok(_) => (Code::Ok, String::new(), String::new()),
            Err(status) => (status.code(), reason_of(status), status.message().to_owned()),
        };

        self.log(code, &reason, &message, latency.as_secs_f64() * 1000.0);

        let labels = [("method", self.method.to_owned()), ("status", code_name(code).to_owned()), ("reason", reason)];
        metrics::counter!(REQUESTS_TOTAL, &labels).increment(1);
        metrics::histogram!(REQUEST_DURATION_SECONDS, "method" => self.method).record(latency.as_secs_f64());
        if let (Code::Ok, Some(decision)) = (code, self.decision) {
            let reason = decision.inconclusive_reason().map_or("", |reason| reason.code());
            metrics::counter!(DECISIONS_TOTAL, "decision" => decision.label(), "reason" => reason).increment(1);
        }

        outcome.map(Response::new)
    }

    fn log(&self, code: Code, reason: &str, message: &str, latency_ms: f64) {
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(
                    target: "voiceprint::rpc",
                    $level,
                    method = self.method,
                    subject_id = self.subject_id.as_deref(),
                    device_id = self.device_id.as_deref(),
                    decision = self.decision.map(Decision::label),
                    inconclusive_reason = self.decision.and_then(Decision::inconclusive_reason).map(|r| r.code()),
                    score = self.score.map(f64::from),
                    status = code_name(code),
                    reason = (!reason.is_empty()).then_some(reason),
                    error = (!message.is_empty()).then_some(message),
                    latency_ms,
                    "rpc finished"
                )
            };
        }

        match code {
            Code::Ok => emit!(tracing::Level::INFO),
            Code::Internal | Code::Unknown | Code::DataLoss => emit!(tracing::Level::ERROR),
            _ => emit!(tracing::Level::WARN),
        }
    }
}

fn truncate(id: &str) -> String {
    id.chars().take(MAX_LOGGED_ID_CHARS).collect()
}
