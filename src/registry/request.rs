//! Validated inputs of the registry. Transport layers build them, so every value here has
//! already passed the checks that need no audio processing.

use std::fmt;

use prost::bytes::Bytes;

use crate::audio::raw::{RawEncoding, RawPcm};
use crate::embed::AudioSource;

/// Maximum identifier length, in bytes of UTF-8.
pub const MAX_ID_BYTES: usize = 128;

/// Maximum candidates an identification may return.
pub const MAX_IDENTIFY_RESULTS: usize = 100;

/// Candidates returned when the request leaves `max_results` at 0.
pub const DEFAULT_IDENTIFY_RESULTS: usize = 5;

/// A problem with one field of a request, named by its path in the request message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        FieldViolation { field: field.into(), description: description.into() }
    }
}

/// A caller's identifier of a subject or a device: 1 to [`MAX_ID_BYTES`] bytes of UTF-8 with
/// no control characters and no white space at either end.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identifier(String);

impl Identifier {
    /// Checks `text` as the value of `field`.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldViolation> {
        let reason = if text.is_empty() {
            Some("is missing".to_owned())
        } else if text.len() > MAX_ID_BYTES {
            Some(format!("is {} bytes long, over the limit of {MAX_ID_BYTES}", text.len()))
        } else if text.chars().any(char::is_control) {
            Some("contains a control character".to_owned())
        } else if text.trim() != text {
            Some("starts or ends with white space".to_owned())
        } else {
            None
        };

        match reason {
            Some(reason) => Err(FieldViolation::new(field, format!("{field} {reason}"))),
            None => Ok(Identifier(text.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A recording as received: container bytes, or headerless PCM with its format.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInput {
    pub content: Bytes,
    /// `None` for a container file.
    pub raw_format: Option<RawPcm>,
}

impl AudioInput {
    pub fn source(&self) -> AudioSource<'_> {
        match self.raw_format {
            None => AudioSource::Container(&self.content),
            Some(format) => AudioSource::Raw { bytes: &self.content, format },
        }
    }

    /// Labels how to read the bytes again when they are kept: "container", or
    /// "encoding/rate/channels" such as "linear16/16000/1".
    pub fn format_label(&self) -> String {
        let Some(format) = self.raw_format else {
            return "container".to_owned();
        };
        let encoding = match format.encoding {
            RawEncoding::Linear16 => "linear16",
            RawEncoding::Float32 => "float32",
            RawEncoding::Mulaw => "mulaw",
            RawEncoding::Alaw => "alaw",
        };
        format!("{encoding}/{}/{}", format.sample_rate, format.channels)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnrollmentRequest {
    pub subject_id: Identifier,
    /// At least one.
    pub clips: Vec<AudioInput>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VerificationRequest {
    pub subject_id: Identifier,
    pub device_id: Identifier,
    pub audio: AudioInput,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdentificationRequest {
    pub audio: AudioInput,
    /// 1 to [`MAX_IDENTIFY_RESULTS`].
    pub max_results: usize,
    /// `None` for the verification threshold.
    pub min_score: Option<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_accepts_ordinary_ids() {
        for id in ["S0150", "case-2024/017", "沪长宁矫2024-0031", "a"] {
            assert_eq!(Identifier::parse("subject_id", id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn identifier_rejects_malformed_ids() {
        let too_long = "x".repeat(MAX_ID_BYTES + 1);
        for id in ["", " padded", "tab\there", too_long.as_str()] {
            let violation = Identifier::parse("device_id", id).unwrap_err();
            assert_eq!(violation.field, "device_id");
        }
    }

    #[test]
    fn raw_format_label_names_encoding_rate_and_channels() {
        let input = AudioInput {
            content: Bytes::new(),
            raw_format: Some(RawPcm { encoding: RawEncoding::Mulaw, sample_rate: 8_000, channels: 1 }),
        };
        assert_eq!(input.format_label(), "mulaw/8000/1");
    }
}
