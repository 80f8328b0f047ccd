//! The entry points: container files sniffed from their bytes, and headerless PCM.

use super::raw::{self, RawPcm};
use super::sniff::{sniff, Container};
use super::{container, wav};
use super::{AudioError, DecodedAudio, Limits};

/// Decodes a container file (WAV, FLAC, MP3, AAC in MP4/M4A, Ogg Vorbis), sniffing the
/// format from its bytes, into mono samples at the source rate.
///
/// The checks run in this order, so that nothing large is allocated before they pass. First
/// the size of `bytes`, then the rate, channel count and length where the header states
/// them, and then the length again while decoding, which stops as soon as it passes
/// `limits.max_seconds`.
/// Input that decodes to no samples at all is [`AudioError::Empty`].
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<DecodedAudio, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    limits.check_size(bytes.len())?;

    let sniffed = sniff(bytes)?;
    let file = &bytes[sniffed.offset..];
    match sniffed.container {
        Container::Wav => wav::decode(file, limits),
        other => container::decode(file, other, limits),
    }
}

/// Decodes headerless PCM whose encoding and rate the caller states.
///
/// The stated values are checked against `limits` like a header's, and a trailing partial
/// frame is ignored.
pub fn decode_raw(
    bytes: &[u8],
    format: &RawPcm,
    limits: &Limits,
) -> Result<DecodedAudio, AudioError> {
    raw::decode(bytes, format, limits)
}
