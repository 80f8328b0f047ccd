//! Audio fingerprints that recognise the same recording after re-encoding, resampling,
//! level changes and added noise, but not the same words spoken again.
//!
//! The method is the landmark fingerprint of Wang (2003, "An Industrial-Strength Audio
//! Search Algorithm") in the form of Dan Ellis's audfprint:
//!
//! 1. a log-power STFT (512-point Hann window) of the 16 kHz signal, kept between 312.5 and
//!    3500 Hz, the band that 8 kHz telephone audio and low-bitrate codecs preserve;
//! 2. spectral peaks: local maxima in a time-frequency neighbourhood, above thresholds that
//!    are relative to the recording, thinned to the loudest few in each half second;
//! 3. landmarks: each peak paired with the next few peaks in a target zone after it, each
//!    pair hashed from its two frequencies and their time difference, and stored with the
//!    anchor's frame;
//! 4. matching (see [`match_score`]): hashes that two fingerprints share vote for the time
//!    offset between them, and the largest vote, divided by the hash count of the fingerprint
//!    with fewer hashes, is the score.
//!
//! A replay keeps the fine structure of the recording: the harmonics of its voice at the
//! same frequencies to within a bin (31.25 Hz) and the same spacing in time to within a frame
//! (8 ms). A new take of the same words by the same speaker moves the harmonics with a
//! slightly different pitch and stretches the timing, which breaks almost every hash.
//! The measured score distributions are in `docs/replay-detection.md`.

mod encoding;
pub(crate) mod matching;
mod peaks;
mod spectrogram;

pub use encoding::{FingerprintError, FORMAT_VERSION, MAX_FRAMES, MAX_PEAKS};
pub use matching::{best_match, match_score, HistoryMatch, ReplayMatch, ReplayThreshold};

use peaks::{pick_peaks, Peak};
use spectrogram::{frame_count, Spectrogram, BAND_BINS};

/// Sample rate that [`Fingerprint::compute`] expects.
pub const SAMPLE_RATE: u32 = 16_000;

/// Only the first hour of a recording is fingerprinted, which bounds every count in a
/// fingerprint and the bytes it serialises to.
pub const MAX_SECONDS: u32 = 3_600;

/// Parameters of peak picking, pairing and matching. A serialised fingerprint does not
/// carry them, because [`FORMAT_VERSION`] implies [`Params::DEFAULT`]. Other values exist
/// only for the parameter sweep in the evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Params {
    /// STFT hop in samples.
    pub hop: usize,
    /// A peak is the maximum of ±this many frames around it.
    pub peak_radius_frames: usize,
    /// A peak is the maximum of ±this many bins around it.
    pub peak_radius_bins: usize,
    /// Peaks lie at most this many dB below the loudest bin of the recording.
    pub dynamic_range_db: f32,
    /// Peaks rise at least this many dB above the floor of their bin.
    pub min_prominence_db: f32,
    /// The floor of a bin is this percentile (0 to 1) of its level over all frames.
    pub floor_percentile: f32,
    /// A peak is dropped when this many louder peaks lie within half a second of it, so no
    /// half second contains more than this many peaks.
    pub max_peaks_per_half_second: usize,
    /// Each anchor pairs with at most this many peaks after it.
    pub fan_out: usize,
    /// Target zone: frames after the anchor, inclusive.
    pub min_dt: u32,
    pub max_dt: u32,
    /// Target zone: at most this many bins above or below the anchor.
    pub max_df: u32,
    /// Votes for offsets up to this many frames apart count together, which absorbs a shift
    /// of a fraction of a hop between a recording and its replay.
    pub offset_tolerance: u32,
}

impl Params {
    pub const DEFAULT: Params = Params {
        hop: 128,
        peak_radius_frames: 3,
        peak_radius_bins: 3,
        dynamic_range_db: 60.0,
        min_prominence_db: 20.0,
        floor_percentile: 0.2,
        max_peaks_per_half_second: 40,
        fan_out: 10,
        min_dt: 1,
        max_dt: 63,
        max_df: 31,
        offset_tolerance: 1,
    };

    /// Whether every landmark fits the fields of [`landmark_hash`].
    const fn fits_hash(&self) -> bool {
        self.max_dt <= 63 && self.max_df <= 63 && BAND_BINS <= 128
    }

    pub fn seconds_per_frame(&self) -> f64 {
        self.hop as f64 / f64::from(SAMPLE_RATE)
    }
}

const _: () = assert!(Params::DEFAULT.fits_hash());

/// A pair of peaks: the hash of their two bins and time difference, at the anchor's frame.
/// Sorted by hash first, so two fingerprints can be joined on the hash in one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Landmark {
    pub hash: u32,
    pub frame: u32,
}

/// The fingerprint of one recording: its spectral peaks and the landmarks made from them.
///
/// Fingerprints compare with [`match_score`] and serialise with [`Fingerprint::to_bytes`].
/// Audio shorter than one STFT window (32 ms), or without any peaks, gives an empty
/// fingerprint, which matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    frames: u32,
    peaks: Vec<Peak>,
    landmarks: Vec<Landmark>,
}

impl Fingerprint {
    /// Computes the fingerprint of mono audio at 16 kHz.
    ///
    /// Pass the resampled signal before level normalisation or silence trimming, so that a
    /// replay of a stored clip is fingerprinted the way the clip was. Only the first
    /// [`MAX_SECONDS`] are read, and non-finite samples are read as zero.
    pub fn compute(samples_16k: &[f32]) -> Fingerprint {
        Fingerprint::compute_with(samples_16k, &Params::DEFAULT)
    }

    pub(crate) fn compute_with(samples_16k: &[f32], params: &Params) -> Fingerprint {
        let max_samples = MAX_SECONDS as usize * SAMPLE_RATE as usize;
        let samples = &samples_16k[..samples_16k.len().min(max_samples)];

        let spectrogram = Spectrogram::compute(samples, params.hop);
        let mut peaks = pick_peaks(&spectrogram, params);
        peaks.truncate(MAX_PEAKS);
        let frames = frame_count(samples.len(), params.hop) as u32;
        Fingerprint::from_peaks(frames, peaks, params)
    }

    fn from_peaks(frames: u32, peaks: Vec<Peak>, params: &Params) -> Fingerprint {
        let landmarks = landmarks(&peaks, params);
        Fingerprint { frames, peaks, landmarks }
    }

    /// Returns whether the fingerprint has no landmarks, in which case it matches nothing.
    pub fn is_empty(&self) -> bool {
        self.landmarks.is_empty()
    }

    /// Length of the audio that was analysed, counted in whole STFT hops.
    pub fn duration_seconds(&self) -> f64 {
        f64::from(self.frames) * Params::DEFAULT.seconds_per_frame()
    }

    pub fn peak_count(&self) -> usize {
        self.peaks.len()
    }

    /// Number of hashes, the denominator of a match score.
    pub fn hash_count(&self) -> usize {
        self.landmarks.len()
    }
}

/// Pairs each peak with the first `fan_out` peaks of its target zone and returns the
/// landmarks sorted by hash. `peaks` must be sorted by frame.
fn landmarks(peaks: &[Peak], params: &Params) -> Vec<Landmark> {
    debug_assert!(params.fits_hash(), "{params:?} overflows the landmark hash");
    let mut landmarks = Vec::with_capacity(peaks.len() * params.fan_out);

    for (index, anchor) in peaks.iter().enumerate() {
        let targets = peaks[index + 1..]
            .iter()
            .take_while(|target| target.frame - anchor.frame <= params.max_dt)
            .filter(|target| {
                target.frame - anchor.frame >= params.min_dt
                    && i32::from(target.bin).abs_diff(i32::from(anchor.bin)) <= params.max_df
            })
            .take(params.fan_out);
        for target in targets {
            landmarks.push(Landmark { hash: landmark_hash(anchor, target), frame: anchor.frame });
        }
    }

    landmarks.sort_unstable();
    landmarks
}

/// Packs a pair into 20 bits: the anchor's bin (7 bits), the bin difference offset by 63
/// (7 bits) and the frame difference (6 bits). The parameters keep each field in range:
/// bins below 128, differences of at most 63.
fn landmark_hash(anchor: &Peak, target: &Peak) -> u32 {
    let bin_step = i32::from(target.bin) - i32::from(anchor.bin) + 63;
    let frame_step = target.frame - anchor.frame;
    (u32::from(anchor.bin) << 13) | ((bin_step as u32) << 6) | frame_step
}
