//! The byte format of a fingerprint, for storage in a database BLOB.
//!
//! Version 1, all integers little-endian:
//!
//! | bytes | content |
//! |---|---|
//! | 4 | magic `VPFP` |
//! | 1 | format version, 1 |
//! | 4 | frames analysed (u32) |
//! | 4 | peak count (u32) |
//! | 2 to 6 per peak | frame minus the previous peak's frame (unsigned LEB128), then the bin (u8) |
//!
//! Peaks are stored in increasing order of (frame, bin), so each is stored once and the
//! frame differences are small: a peak takes 2 bytes unless it lies 128 frames (1 s) or more
//! after the previous one. The landmarks are not stored but rebuilt from the peaks, which
//! makes the encoding about six times smaller than a list of hashes. The version stands for
//! every parameter of [`Params::DEFAULT`]; changing any of them needs a new version.

use thiserror::Error;

use super::peaks::Peak;
use super::spectrogram::{frame_count, BAND_BINS};
use super::{Fingerprint, Params, MAX_SECONDS, SAMPLE_RATE};

const MAGIC: [u8; 4] = *b"VPFP";

/// Version of the byte format that [`Fingerprint::to_bytes`] writes.
pub const FORMAT_VERSION: u8 = 1;

const HEADER_LEN: usize = 4 + 1 + 4 + 4;

/// The smallest encoding of one peak: a one-byte frame difference and the bin.
const MIN_PEAK_LEN: usize = 2;

/// Most peaks a fingerprint holds: the density limit of [`Params::DEFAULT`] over
/// [`MAX_SECONDS`] and one more second.
pub const MAX_PEAKS: usize = 2 * Params::DEFAULT.max_peaks_per_half_second * (MAX_SECONDS as usize + 1);

/// Most frames a fingerprint covers: [`MAX_SECONDS`] of audio.
pub const MAX_FRAMES: u32 = frame_count(MAX_SECONDS as usize * SAMPLE_RATE as usize, Params::DEFAULT.hop) as u32;

/// Errors from reading bytes as a fingerprint.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FingerprintError {
    #[error("fingerprint is {found} bytes, shorter than its {expected}-byte header")]
    TruncatedHeader { found: usize, expected: usize },

    #[error("not a fingerprint: the bytes start with {found:02x?}, expected {expected:02x?}")]
    BadMagic { found: [u8; 4], expected: [u8; 4] },

    #[error("fingerprint format version {found} is not supported (this build reads version {supported}); recompute the fingerprint from its audio")]
    UnsupportedVersion { found: u8, supported: u8 },

    #[error("fingerprint covers {found} frames, over the limit of {limit}")]
    TooManyFrames { found: u32, limit: u32 },

    #[error("fingerprint has {found} peaks, over the limit of {limit}")]
    TooManyPeaks { found: u32, limit: usize },

    #[error("fingerprint declares {declared} peaks but has only {available} bytes for them, at least {min_per_peak} needed per peak")]
    TooFewBytesForPeaks { declared: u32, available: usize, min_per_peak: usize },

    #[error("peak {index}: invalid frame difference (unterminated, over 32 bits or not in its shortest form)")]
    InvalidFrameStep { index: usize },

    #[error("peak {index}: the bytes end before its bin")]
    MissingBin { index: usize },

    #[error("peak {index} lies at frame {frame}, outside the {frames} frames analysed")]
    FrameOutOfRange { index: usize, frame: u64, frames: u32 },

    #[error("peak {index} has bin {bin}, outside the band of {limit} bins")]
    BinOutOfRange { index: usize, bin: u8, limit: usize },

    #[error("peak {index} is not after the previous peak in (frame, bin) order")]
    PeaksOutOfOrder { index: usize },

    #[error("fingerprint has {found} bytes after its last peak")]
    TrailingBytes { found: usize },
}

impl Fingerprint {
    /// Serialises the fingerprint in format [`FORMAT_VERSION`]: 13 bytes of header and about
    /// 2 bytes per peak.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(HEADER_LEN + MIN_PEAK_LEN * self.peaks.len());
        bytes.extend_from_slice(&MAGIC);
        bytes.push(FORMAT_VERSION);
        bytes.extend_from_slice(&self.frames.to_le_bytes());
        bytes.extend_from_slice(&(self.peaks.len() as u32).to_le_bytes());

        let mut previous_frame = 0;
        for peak in &self.peaks {
            write_leb128(&mut bytes, peak.frame - previous_frame);
            bytes.push(peak.bin);
            previous_frame = peak.frame;
        }
        bytes
    }

    /// Reads a fingerprint written by [`Fingerprint::to_bytes`] and rebuilds its landmarks.
    ///
    /// Every field is checked before it is used, so corrupt or hostile bytes give an error.
    /// Memory grows with the input's length only: the peaks, and at most 10 landmarks of
    /// 8 bytes for every 2 input bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Fingerprint, FingerprintError> {
        let header = read_header(bytes)?;
        let peaks = read_peaks(&bytes[HEADER_LEN..], &header)?;
        Ok(Fingerprint::from_peaks(header.frames, peaks, &Params::DEFAULT))
    }
}

struct Header {
    frames: u32,
    peak_count: u32,
}

fn read_header(bytes: &[u8]) -> Result<Header, FingerprintError> {
    if bytes.len() < HEADER_LEN {
        return Err(FingerprintError::TruncatedHeader { found: bytes.len(), expected: HEADER_LEN });
    }

    let magic: [u8; 4] = bytes[0..4].try_into().expect("slice of 4 bytes");
    if magic != MAGIC {
        return Err(FingerprintError::BadMagic { found: magic, expected: MAGIC });
    }
    if bytes[4] != FORMAT_VERSION {
        return Err(FingerprintError::UnsupportedVersion { found: bytes[4], supported: FORMAT_VERSION });
    }

    let frames = u32::from_le_bytes(bytes[5..9].try_into().expect("slice of 4 bytes"));
    if frames > MAX_FRAMES {
        return Err(FingerprintError::TooManyFrames { found: frames, limit: MAX_FRAMES });
    }

    let peak_count = u32::from_le_bytes(bytes[9..13].try_into().expect("slice of 4 bytes"));
    if peak_count as usize > MAX_PEAKS {
        return Err(FingerprintError::TooManyPeaks { found: peak_count, limit: MAX_PEAKS });
    }
    let available = bytes.len() - HEADER_LEN;
    if (peak_count as usize) * MIN_PEAK_LEN > available {
        return Err(FingerprintError::TooFewBytesForPeaks {
            declared: peak_count,
            available,
            min_per_peak: MIN_PEAK_LEN,
        });
    }

    Ok(Header { frames, peak_count })
}

fn read_peaks(mut body: &[u8], header: &Header) -> Result<Vec<Peak>, FingerprintError> {
    let mut peaks: Vec<Peak> = Vec::with_capacity(header.peak_count as usize);
    let mut frame = 0u64;

    for index in 0..header.peak_count as usize {
        let (step, rest) = read_leb128(body).ok_or(FingerprintError::InvalidFrameStep { index })?;
        let (&bin, rest) = rest.split_first().ok_or(FingerprintError::MissingBin { index })?;
        body = rest;

        frame += u64::from(step);
        if frame >= u64::from(header.frames) {
            return Err(FingerprintError::FrameOutOfRange { index, frame, frames: header.frames });
        }
        if usize::from(bin) >= BAND_BINS {
            return Err(FingerprintError::BinOutOfRange { index, bin, limit: BAND_BINS });
        }

        let peak = Peak { frame: frame as u32, bin };
        if peaks.last().is_some_and(|previous| *previous >= peak) {
            return Err(FingerprintError::PeaksOutOfOrder { index });
        }
        peaks.push(peak);
    }

    if !body.is_empty() {
        return Err(FingerprintError::TrailingBytes { found: body.len() });
    }
    Ok(peaks)
}

fn write_leb128(bytes: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        bytes.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

/// Reads an unsigned LEB128 value of at most 32 bits in its shortest form.
///
/// Returns `None` when the input ends inside the value, when the value needs more than 32
/// bits, or when it ends in a redundant zero byte. Accepting only the shortest form gives
/// every fingerprint exactly one encoding.
fn read_leb128(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let mut value = 0u64;
    for (index, &byte) in bytes.iter().enumerate().take(5) {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            if index > 0 && byte == 0 {
                return None;
            }
            let value = u32::try_from(value).ok()?;
            return Some((value, &bytes[index + 1..]));
        }
    }
    None
}
