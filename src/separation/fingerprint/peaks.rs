//! Spectral peaks: the time-frequency points that survive codecs, resampling and noise.
//!
//! A peak is a local maximum of the log-power spectrogram within a rectangle of
//! ±`peak_radius_frames` × ±`peak_radius_bins`. Every threshold is relative to the recording
//! itself (its loudest bin and the floor of each bin), so a change of level picks the same
//! peaks. Where speech is dense, only the strongest peaks of each second are kept, which
//! bounds the size of a fingerprint and keeps the weak peaks, the first to drown in noise,
//! out of it.

use super::spectrogram::{Spectrogram, BAND_BINS, SILENCE_DB};
use super::Params;

/// One spectral peak: a frame index and a bin index relative to the band's first bin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Peak {
    pub frame: u32,
    pub bin: u8,
}

/// A local maximum with its level in dB.
#[derive(Clone, Copy)]
struct Candidate {
    peak: Peak,
    level: f32,
}

/// Picks the peaks of `spectrogram`, sorted by frame and then by bin.
pub(crate) fn pick_peaks(spectrogram: &Spectrogram, params: &Params) -> Vec<Peak> {
    if spectrogram.frames == 0 {
        return Vec::new();
    }

    let candidates = local_maxima(spectrogram, params);
    thin_to_density(&candidates, params.max_peaks_per_half_second, half_second_frames(params))
}

pub(crate) fn half_second_frames(params: &Params) -> u32 {
    (8_000.0 / params.hop as f32).round() as u32
}

fn local_maxima(spectrogram: &Spectrogram, params: &Params) -> Vec<Candidate> {
    let floors = bin_floors(spectrogram, params.floor_percentile);
    let loudest = spectrogram.values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let min_level = (loudest - params.dynamic_range_db).max(SILENCE_DB);
    let neighbourhood = neighbourhood_max(spectrogram, params.peak_radius_frames, params.peak_radius_bins);

    let mut candidates = Vec::new();
    for frame in 0..spectrogram.frames {
        for bin in 0..BAND_BINS {
            let level = spectrogram.at(frame, bin);
            let prominence = level - floors[bin];
            let is_local_max = level >= neighbourhood[frame * BAND_BINS + bin];
            if is_local_max && level >= min_level && prominence >= params.min_prominence_db {
                let peak = Peak { frame: frame as u32, bin: bin as u8 };
                candidates.push(Candidate { peak, level });
            }
        }
    }
    candidates
}

/// Computes, for each bin, the `percentile` of its level over all frames: the level that
/// stationary noise and silence keep the bin at.
fn bin_floors(spectrogram: &Spectrogram, percentile: f32) -> Vec<f32> {
    let rank = ((spectrogram.frames - 1) as f32 * percentile).round() as usize;
    let mut column = Vec::with_capacity(spectrogram.frames);

    (0..BAND_BINS)
        .map(|bin| {
            column.clear();
            column.extend((0..spectrogram.frames).map(|frame| spectrogram.at(frame, bin)));
            *column.select_nth_unstable_by(rank, f32::total_cmp).1
        })
        .collect()
}

/// Computes the maximum over the rectangle around every point, as two one-dimensional
/// passes: across bins within each frame, then across frames.
fn neighbourhood_max(spectrogram: &Spectrogram, radius_frames: usize, radius_bins: usize) -> Vec<f32> {
    let frames = spectrogram.frames;
    let mut across_bins = vec![f32::NEG_INFINITY; frames * BAND_BINS];
    for frame in 0..frames {
        let row = spectrogram.frame(frame);
        for bin in 0..BAND_BINS {
            let window = &row[bin.saturating_sub(radius_bins)..(bin + radius_bins + 1).min(BAND_BINS)];
            across_bins[frame * BAND_BINS + bin] = window.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        }
    }

    let mut both = vec![f32::NEG_INFINITY; frames * BAND_BINS];
    for frame in 0..frames {
        let first = frame.saturating_sub(radius_frames);
        let last = (frame + radius_frames).min(frames - 1);
        for bin in 0..BAND_BINS {
            both[frame * BAND_BINS + bin] =
                (first..=last).map(|t| across_bins[t * BAND_BINS + bin]).fold(f32::NEG_INFINITY, f32::max);
        }
    }
    both
}

/// Keeps a candidate when fewer than `max_louder` candidates within ±`half_window` frames of
/// it are louder. The window slides with each candidate rather than cutting the recording
/// into fixed blocks, so a replay that starts at another moment keeps the same peaks. Any
/// `half_window` frames then hold at most `max_louder` peaks, because the quietest peak kept
/// in them has all the others within its window.
fn thin_to_density(candidates: &[Candidate], max_louder: usize, half_window: u32) -> Vec<Peak> {
    let mut kept = Vec::with_capacity(candidates.len());
    let mut window_start = 0;
    let mut window_end = 0;

    for (index, candidate) in candidates.iter().enumerate() {
        let frame = candidate.peak.frame;
        while candidates[window_start].peak.frame + half_window < frame {
            window_start += 1;
        }
        while window_end < candidates.len() && candidates[window_end].peak.frame <= frame + half_window {
            window_end += 1;
        }

        let stronger = (window_start..window_end)
            .filter(|&other| outranks(&candidates[other], other, candidate, index))
            .take(max_louder)
            .count();
        if stronger < max_louder {
            kept.push(candidate.peak);
        }
    }
    kept
}

/// Orders candidates by level, breaking ties by position so that exactly one of two equal
/// candidates outranks the other.
fn outranks(a: &Candidate, a_index: usize, b: &Candidate, b_index: usize) -> bool {
    a.level > b.level || (a.level == b.level && a_index < b_index)
}

#[cfg(test)]
mod tests {
    use super::super::spectrogram::{BAND_FIRST_BIN, FFT_SIZE};
    use super::*;

    fn tone(frequency: f32, seconds: f32) -> Vec<f32> {
        (0..(16_000.0 * seconds) as usize)
            .map(|n| 0.5 * (2.0 * std::f32::consts::PI * frequency * n as f32 / 16_000.0).sin())
            .collect()
    }

    #[test]
    fn tone_gives_peaks_in_its_bin() {
        // 1000 Hz lies exactly on bin 32 of a 512-point FFT at 16 kHz.
        let mut samples = vec![0.0; 16_000];
        samples.extend(tone(1_000.0, 0.5));
        samples.extend(vec![0.0; 16_000]);
        let spectrogram = Spectrogram::compute(&samples, Params::DEFAULT.hop);

        let peaks = pick_peaks(&spectrogram, &Params::DEFAULT);
        assert!(!peaks.is_empty());
        for peak in &peaks {
            assert_eq!(usize::from(peak.bin) + BAND_FIRST_BIN, 1_000 * FFT_SIZE / 16_000, "{peak:?}");
        }
    }

    #[test]
    fn peaks_are_sorted_and_within_density() {
        // Bursts of noise between silences: every local maximum of a burst stands far above
        // the silent floor, so the density limit, not the thresholds, decides what is kept.
        let mut state = 1u32;
        let samples: Vec<f32> = (0..48_000)
            .map(|n| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                if (n / 1_600) % 2 == 0 {
                    noise
                } else {
                    0.0
                }
            })
            .collect();
        let params = Params::DEFAULT;
        let spectrogram = Spectrogram::compute(&samples, params.hop);
        let peaks = pick_peaks(&spectrogram, &params);

        let candidates = local_maxima(&spectrogram, &params).len();
        assert!(peaks.len() < candidates / 2, "{} of {candidates} local maxima kept", peaks.len());
        assert!(peaks.windows(2).all(|pair| pair[0] < pair[1]));
        let half_second = half_second_frames(&params);
        for start in 0..peaks.last().unwrap().frame {
            let in_window = peaks.iter().filter(|peak| (start..=start + half_second).contains(&peak.frame)).count();
            assert!(in_window <= params.max_peaks_per_half_second, "{in_window} peaks from frame {start}");
        }
    }
}
