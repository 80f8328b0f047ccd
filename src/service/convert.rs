//! Conversions between the protobuf messages and the registry's types. Requests are
//! validated on the way in, collecting every field violation rather than stopping at the
//! first.

use std::time::SystemTime;

use crate::audio::raw::{RawEncoding, RawPcm};
use crate::embed::QualityReport;
use crate::proto::v1 as pb;
use crate::registry::{
    AudioInput, EnrollmentRequest, FieldViolation, IdentificationRequest, Identifier, RegistryError,
    VerificationRequest, DEFAULT_IDENTIFY_RESULTS, MAX_IDENTIFY_RESULTS,
};
use crate::scoring::{ClipProblem, ClipReport, Decision, EnrollmentReport, InconclusiveReason};
use crate::store::{CheckInCursor, CheckInFilter, CheckInRecord, SubjectView, VoiceprintRecord};

/// Check-ins per page when the request leaves `page_size` at 0.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// Maximum check-ins per page.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Field violations found so far in one request.
#[derive(Debug, Default)]
pub(crate) struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Keeps the value, or records the violation and returns `None`.
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        result.map_err(|violation| self.0.push(violation)).ok()
    }

    /// `value` when no violation was recorded, the violations otherwise.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, RegistryError> {
        if !self.0.is_empty() {
            return Err(RegistryError::InvalidRequest(self.0));
        }
        value().ok_or_else(|| RegistryError::Internal("a validated request lost a field".into()))
    }
}

impl TryFrom<pb::EnrollRequest> for EnrollmentRequest {
    type Error = RegistryError;

    fn try_from(request: pb::EnrollRequest) -> Result<Self, Self::Error> {
        let mut violations = Violations::default();
        let subject_id = violations.check(Identifier::parse("subject_id", &request.subject_id));

        if request.clips.is_empty() {
            violations.push("clips", "clips is missing: at least one recording is needed");
        }
        let clips: Vec<Option<AudioInput>> = request
            .clips
            .into_iter()
            .enumerate()
            .map(|(index, clip)| audio_input(Some(clip), &format!("clips[{index}]"), &mut violations))
            .collect();

        violations.finish(|| Some(EnrollmentRequest { subject_id: subject_id?, clips: clips.into_iter().collect::<Option<_>>()? }))
    }
}

impl TryFrom<pb::VerifyRequest> for VerificationRequest {
    type Error = RegistryError;

    fn try_from(request: pb::VerifyRequest) -> Result<Self, Self::Error> {
        let mut violations = Violations::default();
        let subject_id = violations.check(Identifier::parse("subject_id", &request.subject_id));
        let device_id = violations.check(Identifier::parse("device_id", &request.device_id));
        let audio = audio_input(request.audio, "audio", &mut violations);

        violations.finish(|| Some(VerificationRequest { subject_id: subject_id?, device_id: device_id?, audio: audio? }))
    }
}

impl TryFrom<pb::IdentifyRequest> for IdentificationRequest {
    type Error = RegistryError;

    fn try_from(request: pb::IdentifyRequest) -> Result<Self, Self::Error> {
        let mut violations = Violations::default();
        let audio = audio_input(request.audio, "audio", &mut violations);

        let max_results = match request.max_results {
            0 => Some(DEFAULT_IDENTIFY_RESULTS),
            n if n > 0 && n as usize <= MAX_IDENTIFY_RESULTS => Some(n as usize),
            n => {
                violations.push("max_results", format!("max_results is {n}, outside 1..={MAX_IDENTIFY_RESULTS} (or 0 for {DEFAULT_IDENTIFY_RESULTS})"));
                None
            }
        };
        if let Some(score) = request.min_score {
            if !(score.is_finite() && (-1.0..=1.0).contains(&score)) {
                violations.push("min_score", format!("min_score is {score}, outside -1..=1"));
            }
        }

        violations.finish(|| Some(IdentificationRequest { audio: audio?, max_results: max_results?, min_score: request.min_score }))
    }
}

impl TryFrom<pb::ListCheckInsRequest> for CheckInFilter {
    type Error = RegistryError;

    fn try_from(request: pb::ListCheckInsRequest) -> Result<Self, Self::Error> {
        let mut violations = Violations::default();

        let subject_id = if request.subject_id.is_empty() {
            None
        } else {
            violations.check(Identifier::parse("subject_id", &request.subject_id)).map(|id| id.to_string())
        };
        let start = request.start_time.and_then(|time| violations.check(system_time(time, "start_time")));
        let end = request.end_time.and_then(|time| violations.check(system_time(time, "end_time")));
        if let (Some(start), Some(end)) = (start, end) {
            if end <= start {
                violations.push("end_time", "end_time must be after start_time");
            }
        }

        let limit = match request.page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n > 0 && n as usize <= MAX_PAGE_SIZE => n as usize,
            n => {
                violations.push("page_size", format!("page_size is {n}, outside 1..={MAX_PAGE_SIZE} (or 0 for {DEFAULT_PAGE_SIZE})"));
                DEFAULT_PAGE_SIZE
            }
        };
        let after = if request.page_token.is_empty() {
            None
        } else {
            violations.check(parse_page_token(&request.page_token))
        };

        violations.finish(|| Some(CheckInFilter { subject_id, start, end, after, limit }))
    }
}

/// Checks a recording and its format; `None` after recording a violation.
pub(crate) fn audio_input(audio: Option<pb::Audio>, field: &str, violations: &mut Violations) -> Option<AudioInput> {
    let Some(audio) = audio else {
        violations.push(field, format!("{field} is missing"));
        return None;
    };
    if audio.content.is_empty() {
        violations.push(format!("{field}.content"), format!("{field}.content is empty"));
    }
    let raw_format = raw_format(audio.format.as_ref(), &format!("{field}.format"), violations)?;
    Some(AudioInput { content: audio.content, raw_format })
}

/// Reads an optional format: `Some(None)` for a container file, `Some(Some(..))` for
/// headerless PCM, `None` after recording violations.
pub(crate) fn raw_format(format: Option<&pb::AudioFormat>, field: &str, violations: &mut Violations) -> Option<Option<RawPcm>> {
    let Some(format) = format else {
        return Some(None);
    };

    let encoding = match pb::audio_format::Encoding::try_from(format.encoding) {
        Ok(pb::audio_format::Encoding::Unspecified) => None,
        Ok(pb::audio_format::Encoding::Linear16) => Some(RawEncoding::Linear16),
        Ok(pb::audio_format::Encoding::Float32) => Some(RawEncoding::Float32),
        Ok(pb::audio_format::Encoding::Mulaw) => Some(RawEncoding::Mulaw),
        Ok(pb::audio_format::Encoding::Alaw) => Some(RawEncoding::Alaw),
        Err(_) => {
            violations.push(format!("{field}.encoding"), format!("{field}.encoding has the unknown value {}", format.encoding));
            return None;
        }
    };

    let Some(encoding) = encoding else {
        let mut valid = true;
        if format.sample_rate_hertz != 0 || format.audio_channel_count != 0 {
            violations.push(
                field.to_owned(),
                format!("{field}: sample_rate_hertz and audio_channel_count must be 0 for a container file, whose header states them"),
            );
            valid = false;
        }
        return valid.then_some(None);
    };

    let sample_rate = match u32::try_from(format.sample_rate_hertz) {
        Ok(rate) if rate > 0 => Some(rate),
        _ => {
            violations.push(
                format!("{field}.sample_rate_hertz"),
                format!("{field}.sample_rate_hertz is {}, but headerless PCM needs a positive rate", format.sample_rate_hertz),
            );
            None
        }
    };
    let channels = match format.audio_channel_count {
        0 => Some(1),
        n => match u16::try_from(n) {
            Ok(channels) => Some(channels),
            Err(_) => {
                violations.push(
                    format!("{field}.audio_channel_count"),
                    format!("{field}.audio_channel_count is {n}, outside 1..={}", u16::MAX),
                );
                None
            }
        },
    };
    Some(Some(RawPcm { encoding, sample_rate: sample_rate?, channels: channels? }))
}

fn system_time(timestamp: prost_types::Timestamp, field: &str) -> Result<SystemTime, FieldViolation> {
    SystemTime::try_from(timestamp).map_err(|error| FieldViolation::new(field, format!("{field} is not a valid time: {error}")))
}

/// Encodes where the next page starts. Clients treat the token as opaque.
pub(crate) fn page_token(cursor: CheckInCursor) -> String {
    format!("{}.{}", cursor.checked_in_at_ms, cursor.id)
}

fn parse_page_token(token: &str) -> Result<CheckInCursor, FieldViolation> {
    let invalid = || FieldViolation::new("page_token", "page_token is not a token this server returned");
    let (time, id) = token.split_once('.').ok_or_else(invalid)?;
    Ok(CheckInCursor { checked_in_at_ms: time.parse().map_err(|_| invalid())?, id: id.parse().map_err(|_| invalid())? })
}

pub(crate) fn subject(view: &SubjectView) -> pb::Subject {
    pb::Subject {
        subject_id: view.subject.subject_id.clone(),
        created_at: Some(view.subject.created_at.into()),
        deleted_at: view.subject.deleted_at.map(Into::into),
        voiceprint: view.current.as_ref().map(voiceprint),
        history: view.history.iter().map(voiceprint).collect(),
    }
}

fn voiceprint(record: &VoiceprintRecord) -> pb::Voiceprint {
    pb::Voiceprint {
        id: record.id as u64,
        model: record.model.clone(),
        enrolled_at: Some(record.enrolled_at.into()),
        replaced_at: record.replaced_at.map(Into::into),
        erased_at: record.erased_at.map(Into::into),
        clip_count: record.clip_count as i32,
        speech_seconds: record.speech_seconds,
    }
}

pub(crate) fn quality(report: &QualityReport) -> pb::AudioQuality {
    pb::AudioQuality {
        format: report.format.clone(),
        source_sample_rate_hertz: report.source_sample_rate as i32,
        source_channel_count: i32::from(report.source_channels),
        duration_seconds: report.duration_seconds,
        speech_seconds: report.speech_seconds,
        clipping_ratio: report.clipping_ratio,
        snr_db: report.snr_db,
    }
}

pub(crate) fn enrollment_report(report: &EnrollmentReport) -> pb::EnrollmentReport {
    pb::EnrollmentReport {
        clips: report.clips.iter().map(clip_report).collect(),
        total_speech_seconds: report.total_speech_seconds,
        min_total_speech_seconds: report.min_total_speech_seconds,
        accepted: report.accepted(),
    }
}

fn clip_report(report: &ClipReport) -> pb::ClipReport {
    pb::ClipReport {
        index: report.index as i32,
        quality: Some(quality(&report.quality)),
        agreement: report.agreement.map(f64::from),
        problems: report.problems.iter().map(|problem| clip_problem(*problem) as i32).collect(),
    }
}

fn clip_problem(problem: ClipProblem) -> pb::clip_report::Problem {
    match problem {
        ClipProblem::NoSpeech => pb::clip_report::Problem::NoSpeech,
        ClipProblem::TooShort => pb::clip_report::Problem::TooShort,
        ClipProblem::Clipped => pb::clip_report::Problem::Clipped,
        ClipProblem::TooNoisy => pb::clip_report::Problem::TooNoisy,
        ClipProblem::UnlikeOtherClips => pb::clip_report::Problem::UnlikeOtherClips,
    }
}

/// Describes a rejected clip's problems in one line, with the measured values.
pub(crate) fn describe_clip_problems(clip: &ClipReport) -> String {
    let quality = &clip.quality;
    let findings: Vec<String> = clip
        .problems
        .iter()
        .map(|problem| match problem {
            ClipProblem::NoSpeech => "no speech found".to_owned(),
            ClipProblem::TooShort => format!("only {:.2} s of speech", quality.speech_seconds),
            ClipProblem::Clipped => format!("{:.2}% of samples clipped", quality.clipping_ratio * 100.0),
            ClipProblem::TooNoisy => format!("estimated SNR {:.1} dB", quality.snr_db),
            ClipProblem::UnlikeOtherClips => {
                format!("similarity {:.3} to the other clips: likely another speaker", clip.agreement.unwrap_or(f32::NAN))
            }
        })
        .collect();
    format!("clip {} rejected: {}", clip.index, findings.join("; "))
}

pub(crate) fn decision(decision: Decision) -> (pb::Decision, pb::InconclusiveReason) {
    match decision {
        Decision::Match => (pb::Decision::Match, pb::InconclusiveReason::Unspecified),
        Decision::NoMatch => (pb::Decision::NoMatch, pb::InconclusiveReason::Unspecified),
        Decision::Inconclusive(reason) => (pb::Decision::Inconclusive, inconclusive_reason(reason)),
    }
}

pub(crate) fn inconclusive_reason(reason: InconclusiveReason) -> pb::InconclusiveReason {
    match reason {
        InconclusiveReason::TooShort => pb::InconclusiveReason::TooShort,
        InconclusiveReason::NoSpeech => pb::InconclusiveReason::NoSpeech,
        InconclusiveReason::Clipped => pb::InconclusiveReason::Clipped,
        InconclusiveReason::TooNoisy => pb::InconclusiveReason::TooNoisy,
    }
}

pub(crate) fn check_in(record: &CheckInRecord) -> pb::CheckIn {
    let (decision, reason) = decision(record.decision);
    pb::CheckIn {
        id: record.id as u64,
        subject_id: record.subject_id.clone(),
        device_id: record.device_id.clone(),
        checked_in_at: Some(record.checked_in_at.into()),
        decision: decision as i32,
        inconclusive_reason: reason as i32,
        score: record.score,
        threshold: record.threshold,
        model: record.model.clone(),
        voiceprint_id: record.voiceprint_id as u64,
        quality: record.quality.as_ref().map(quality),
        erased_at: record.erased_at.map(Into::into),
    }
}

#[cfg(test)]
mod tests {
    use prost::bytes::Bytes;

    use super::*;

    fn container(content: &'static [u8]) -> Option<pb::Audio> {
        Some(pb::Audio { content: Bytes::from_static(content), format: None })
    }

    fn violations(error: RegistryError) -> Vec<String> {
        match error {
            RegistryError::InvalidRequest(violations) => violations.into_iter().map(|v| v.field).collect(),
            other => panic!("expected field violations, got {other}"),
        }
    }

    #[test]
    fn verify_request_converts() {
        let request = pb::VerifyRequest { subject_id: "s1".into(), device_id: "phone".into(), audio: container(b"RIFF") };
        let converted = VerificationRequest::try_from(request).unwrap();
        assert_eq!(converted.subject_id.as_str(), "s1");
        assert_eq!(converted.audio.raw_format, None);
    }

    #[test]
    fn every_missing_field_is_reported() {
        let error = VerificationRequest::try_from(pb::VerifyRequest::default()).unwrap_err();
        assert_eq!(violations(error), vec!["subject_id", "device_id", "audio"]);
    }

    #[test]
    fn raw_audio_needs_a_sample_rate() {
        let format = pb::AudioFormat { encoding: pb::audio_format::Encoding::Linear16 as i32, ..Default::default() };
        let audio = Some(pb::Audio { content: Bytes::from_static(&[0, 0]), format: Some(format) });
        let request = pb::VerifyRequest { subject_id: "s1".into(), device_id: "d".into(), audio };
        let error = VerificationRequest::try_from(request).unwrap_err();
        assert_eq!(violations(error), vec!["audio.format.sample_rate_hertz"]);
    }

    #[test]
    fn raw_audio_format_converts() {
        let format = pb::AudioFormat {
            encoding: pb::audio_format::Encoding::Mulaw as i32,
            sample_rate_hertz: 8000,
            audio_channel_count: 0,
        };
        let mut violations = Violations::default();
        let raw = raw_format(Some(&format), "audio.format", &mut violations).unwrap();
        assert_eq!(raw, Some(RawPcm { encoding: RawEncoding::Mulaw, sample_rate: 8000, channels: 1 }));
    }

    #[test]
    fn container_with_sample_rate_is_rejected() {
        let format = pb::AudioFormat { sample_rate_hertz: 16000, ..Default::default() };
        let mut violations = Violations::default();
        assert_eq!(raw_format(Some(&format), "audio.format", &mut violations), None);
        assert_eq!(violations.0.len(), 1);
    }

    #[test]
    fn unknown_encoding_is_rejected() {
        let format = pb::AudioFormat { encoding: 99, sample_rate_hertz: 16000, audio_channel_count: 1 };
        let mut violations = Violations::default();
        assert_eq!(raw_format(Some(&format), "audio.format", &mut violations), None);
        assert_eq!(violations.0[0].field, "audio.format.encoding");
    }

    #[test]
    fn enroll_request_names_bad_clip() {
        let request = pb::EnrollRequest {
            subject_id: "s1".into(),
            clips: vec![pb::Audio { content: Bytes::from_static(b"x"), format: None }, pb::Audio::default()],
        };
        let error = EnrollmentRequest::try_from(request).unwrap_err();
        assert_eq!(violations(error), vec!["clips[1].content"]);
    }

    #[test]
    fn identify_limits_results() {
        let request = pb::IdentifyRequest { audio: container(b"x"), max_results: 101, min_score: Some(1.5) };
        let error = IdentificationRequest::try_from(request).unwrap_err();
        assert_eq!(violations(error), vec!["max_results", "min_score"]);

        let request = pb::IdentifyRequest { audio: container(b"x"), max_results: 0, min_score: None };
        assert_eq!(IdentificationRequest::try_from(request).unwrap().max_results, DEFAULT_IDENTIFY_RESULTS);
    }

    #[test]
    fn page_token_round_trips() {
        let cursor = CheckInCursor { checked_in_at_ms: 1_733_000_000_000, id: 42 };
        assert_eq!(parse_page_token(&page_token(cursor)).unwrap(), cursor);
        assert!(parse_page_token("garbage").is_err());
    }

    #[test]
    fn list_request_checks_time_range_and_page_size() {
        let request = pb::ListCheckInsRequest {
            start_time: Some(prost_types::Timestamp { seconds: 100, nanos: 0 }),
            end_time: Some(prost_types::Timestamp { seconds: 50, nanos: 0 }),
            page_size: -1,
            ..Default::default()
        };
        let error = CheckInFilter::try_from(request).unwrap_err();
        assert_eq!(violations(error), vec!["end_time", "page_size"]);
    }
}
