//! Container decoding. Filled in by the audio work; the signatures below are the contract.

use super::{AudioError, DecodedAudio, Limits};
use super::raw::RawPcm;

/// Decodes a container file (WAV, FLAC, MP3, AAC in MP4/M4A, Ogg Vorbis), sniffing the
/// format from its bytes, into mono samples at the source rate.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<DecodedAudio, AudioError> {
    let _ = (bytes, limits);
    unimplemented!("container decoding")
}

/// Decodes headerless PCM whose encoding and rate the caller states.
pub fn decode_raw(bytes: &[u8], format: &RawPcm, limits: &Limits) -> Result<DecodedAudio, AudioError> {
    let _ = (bytes, format, limits);
    unimplemented!("raw PCM decoding")
}
