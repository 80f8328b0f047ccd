//! Conversion of any allowed rate to the model rate.
//!
//! Resemblyzer loads audio through librosa, which resamples with soxr at quality `soxr_hq`.
//! This module uses rubato's windowed-sinc resampler instead and is tested against soxr's
//! output: on chirps from 8 to 192 kHz and on 8 kHz speech the difference stays below -40 dB.

use std::cell::RefCell;

use rubato::{
    calculate_cutoff, Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use super::{AudioError, MODEL_SAMPLE_RATE};

/// Lowest input rate the resampler accepts, in hertz.
pub const MIN_INPUT_RATE: u32 = 8_000;
/// Highest input rate the resampler accepts, in hertz.
pub const MAX_INPUT_RATE: u32 = 192_000;

/// Input frames handed to rubato per call.
const CHUNK_FRAMES: usize = 1024;

/// Sinc filter length for upsampling and mild downsampling. rubato's documentation names
/// 256 as a good starting point, and against soxr_hq at 44.1 and 48 kHz it leaves a
/// difference below -60 dB.
const MIN_SINC_LEN: usize = 256;

/// Filter taps per output sample when downsampling. rubato counts the sinc length in input
/// samples, so a fixed length would span fewer output samples as the rate rises, which
/// widens the transition band. 256 taps at 48 kHz are 86 taps at 16 kHz.
const MIN_TAPS_AT_MODEL_RATE: usize = 86;

/// Sub-sample steps of the sinc table. rubato reads its table 1/oversampling of an input
/// sample late, so a fine table keeps that offset negligible (see `Alignment`).
const OVERSAMPLING: usize = 1024;

const WINDOW: WindowFunction = WindowFunction::BlackmanHarris2;

/// Resamplers kept per thread, one per input rate, most recently used last. Building one
/// computes a sinc table of `sinc_len × 1024` values, which costs about as much as
/// resampling 10 s of audio. Phones record at a few rates (8, 16, 44.1 and 48 kHz), so four
/// cover them. The largest table, at 192 kHz, takes 4 MiB.
const CACHED_RESAMPLERS: usize = 4;

thread_local! {
    static RESAMPLERS: RefCell<Vec<(u32, SincFixedIn<f32>)>> = const { RefCell::new(Vec::new()) };
}

/// Resamples mono `samples` from `rate` to 16 kHz; the output has `n * 16000 / rate` samples,
/// within one sample.
///
/// The output has exactly `ceil(n * 16000 / rate)` samples, the length librosa gives, and
/// output sample `j` lies at input time `j * rate / 16000`: the filter's delay is removed
/// and its tail is flushed. Input at 16 kHz is returned unchanged. Rates outside
/// [`MIN_INPUT_RATE`]..=[`MAX_INPUT_RATE`] are rejected.
pub fn to_model_rate(samples: &[f32], rate: u32) -> Result<Vec<f32>, AudioError> {
    if !(MIN_INPUT_RATE..=MAX_INPUT_RATE).contains(&rate) {
        return Err(AudioError::SampleRateOutOfRange {
            rate: u64::from(rate),
            min: MIN_INPUT_RATE,
            max: MAX_INPUT_RATE,
        });
    }
    if rate == MODEL_SAMPLE_RATE {
        return Ok(samples.to_vec());
    }
    if samples.is_empty() {
        return Ok(Vec::new());
    }

    let mut resampler = take_resampler(rate)?;
    let output = resample_with(&mut resampler, samples, rate);
    return_resampler(rate, resampler);
    output
}

/// Takes this thread's resampler for `rate` out of the cache, reset, or builds one.
fn take_resampler(rate: u32) -> Result<SincFixedIn<f32>, AudioError> {
    let cached = RESAMPLERS.with_borrow_mut(|resamplers| {
        let position = resamplers.iter().position(|(cached_rate, _)| *cached_rate == rate)?;
        Some(resamplers.remove(position).1)
    });
    match cached {
        Some(mut resampler) => {
            resampler.reset();
            Ok(resampler)
        }
        None => sinc_resampler(rate),
    }
}

/// Puts a resampler back as the most recently used, dropping the least recently used one
/// beyond [`CACHED_RESAMPLERS`].
fn return_resampler(rate: u32, resampler: SincFixedIn<f32>) {
    RESAMPLERS.with_borrow_mut(|resamplers| {
        resamplers.push((rate, resampler));
        if resamplers.len() > CACHED_RESAMPLERS {
            resamplers.remove(0);
        }
    });
}

fn resample_with(resampler: &mut SincFixedIn<f32>, samples: &[f32], rate: u32) -> Result<Vec<f32>, AudioError> {
    let alignment = Alignment::for_rate(rate);
    let output_len = output_len(samples.len(), rate);
    let mut output =
        Vec::with_capacity(alignment.skipped_outputs + output_len + resampler.output_frames_max());

    let leading_zeros = std::iter::repeat_n(0.0, alignment.leading_zeros);
    let mut input = leading_zeros.chain(samples.iter().copied());
    run_through(resampler, &mut input, &mut output, rate)?;
    flush(
        resampler,
        alignment.skipped_outputs + output_len,
        &mut output,
        rate,
    )?;

    output.drain(..alignment.skipped_outputs);
    output.truncate(output_len);
    Ok(output)
}

/// Computes how many samples at 16 kHz `input_len` samples at `rate` become, rounding up as
/// librosa's `resample` does.
pub fn output_len(input_len: usize, rate: u32) -> usize {
    let scaled = input_len as u128 * u128::from(MODEL_SAMPLE_RATE);
    scaled.div_ceil(u128::from(rate)) as usize
}

/// How to line rubato's output grid up with the input.
///
/// rubato 0.16's `SincFixedIn` starts its read position at `-sinc_len / 2` and centres the
/// kernel `sinc_len / 2 - 1` samples after it, so output frame `k` is interpolated at input
/// position `(k + 1) r - 1`, where `r = rate / 16000` (plus 1/`OVERSAMPLING`, see below).
/// Its own `output_delay()` does not describe this grid. Writing `r = a / b` in lowest terms,
/// prepending `a - 1` zeros and dropping the first `b - 1` outputs puts output `j` at input
/// position `(j + b) a / b - 1 - (a - 1) = j r`, exactly where soxr puts it.
///
/// NOTE: the table lookup adds 1/`OVERSAMPLING` of an input sample to every position, and
/// prepending whole samples cannot remove that fraction. With 1024 steps the difference
/// from soxr on an 8 kHz chirp, where the offset matters most, is -56 dB.
struct Alignment {
    leading_zeros: usize,
    skipped_outputs: usize,
}

impl Alignment {
    fn for_rate(rate: u32) -> Alignment {
        let divisor = greatest_common_divisor(rate, MODEL_SAMPLE_RATE);
        let input_step = (rate / divisor) as usize;
        let output_step = (MODEL_SAMPLE_RATE / divisor) as usize;
        Alignment {
            leading_zeros: input_step - 1,
            skipped_outputs: output_step - 1,
        }
    }
}

fn greatest_common_divisor(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn sinc_resampler(rate: u32) -> Result<SincFixedIn<f32>, AudioError> {
    let sinc_len = sinc_len(rate);
    let parameters = SincInterpolationParameters {
        sinc_len,
        f_cutoff: calculate_cutoff(sinc_len, WINDOW),
        oversampling_factor: OVERSAMPLING,
        // The nearest of 1024 table steps is exact wherever the output times fall on whole or
        // half input samples (8, 32, 48, 96 and 192 kHz). At 44.1 kHz it moves the chirp's
        // difference from soxr by 0.2 dB, from -63.5 to -63.2 dB. Linear interpolation between
        // steps reads two table rows per output sample and took 1.6 times as long.
        interpolation: SincInterpolationType::Nearest,
        window: WINDOW,
    };
    let ratio = f64::from(MODEL_SAMPLE_RATE) / f64::from(rate);

    SincFixedIn::new(ratio, 1.0, parameters, CHUNK_FRAMES, 1)
        .map_err(|error| resampling_failed(rate, error))
}

fn sinc_len(rate: u32) -> usize {
    let taps = (MIN_TAPS_AT_MODEL_RATE * rate as usize).div_ceil(MODEL_SAMPLE_RATE as usize);
    taps.max(MIN_SINC_LEN).next_multiple_of(8)
}

/// Feeds all of `input` through the resampler in whole chunks and one final partial chunk.
fn run_through(
    resampler: &mut SincFixedIn<f32>,
    input: &mut impl Iterator<Item = f32>,
    output: &mut Vec<f32>,
    rate: u32,
) -> Result<(), AudioError> {
    let mut chunk = Vec::with_capacity(CHUNK_FRAMES);
    let mut produced = vec![vec![0.0; resampler.output_frames_max()]];
    loop {
        chunk.clear();
        chunk.extend(input.by_ref().take(CHUNK_FRAMES));
        if chunk.is_empty() {
            // The input was a whole number of chunks. rubato reads an empty channel slice as
            // an inactive channel and rejects the call, and `flush` produces the zero-padded
            // tail that a partial call would.
            return Ok(());
        }

        let (_, frames) = if chunk.len() == CHUNK_FRAMES {
            resampler.process_into_buffer(&[&chunk], &mut produced, None)
        } else {
            resampler.process_partial_into_buffer(Some(&[&chunk]), &mut produced, None)
        }
        .map_err(|error| resampling_failed(rate, error))?;
        output.extend_from_slice(&produced[0][..frames]);

        if chunk.len() < CHUNK_FRAMES {
            return Ok(());
        }
    }
}

/// Runs silence through the resampler until `output` contains `wanted` samples, so the
/// filter's tail (the last input samples' contribution) reaches the output.
fn flush(
    resampler: &mut SincFixedIn<f32>,
    wanted: usize,
    output: &mut Vec<f32>,
    rate: u32,
) -> Result<(), AudioError> {
    let mut produced = vec![vec![0.0; resampler.output_frames_max()]];
    while output.len() < wanted {
        let (_, frames) = resampler
            .process_partial_into_buffer(None::<&[&[f32]]>, &mut produced, None)
            .map_err(|error| resampling_failed(rate, error))?;
        if frames == 0 {
            // Every call yields about CHUNK_FRAMES * 16000 / rate frames. This break only
            // guards the loop against a change in rubato.
            break;
        }
        output.extend_from_slice(&produced[0][..frames]);
    }
    output.resize(output.len().max(wanted), 0.0);
    Ok(())
}

/// Wraps a rubato error. rubato rejects only invalid ratios and buffer sizes, which this
/// module computes, so such an error marks a bug here rather than bad input.
fn resampling_failed(rate: u32, error: impl std::fmt::Display) -> AudioError {
    AudioError::Undecodable {
        format: format!("{rate} Hz"),
        reason: format!("resampling to {MODEL_SAMPLE_RATE} Hz failed: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds the chirp of tools/make_resample_golden.py: 1 s, 50 Hz up to 87.5 % of the
    /// lower Nyquist frequency, amplitude 0.5, 20 ms raised-cosine fades.
    fn chirp(rate: u32) -> Vec<f32> {
        use std::f64::consts::PI;

        let duration = 1.0;
        let start_hz = 50.0;
        let end_hz = 0.875 * f64::from(rate.min(MODEL_SAMPLE_RATE)) / 2.0;
        let len = rate as usize;
        let fade = (0.02 * f64::from(rate)) as usize;
        let ramp = |k: usize| 0.5 - 0.5 * (PI * k as f64 / fade as f64).cos();

        (0..len)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                let phase =
                    2.0 * PI * (start_hz * t + (end_hz - start_hz) * t * t / (2.0 * duration));
                let mut sample = 0.5 * phase.sin();
                if i < fade {
                    sample *= ramp(i);
                }
                if i >= len - fade {
                    sample *= ramp(len - 1 - i);
                }
                sample as f32
            })
            .collect()
    }

    fn read_f32_fixture(name: &str) -> Vec<f32> {
        let path = format!(
            "{}/fixtures/audio/resample/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    /// Energy of `actual - expected` relative to the energy of `expected`, in decibels.
    fn difference_db(actual: &[f32], expected: &[f32]) -> f64 {
        let error: f64 = actual
            .iter()
            .zip(expected)
            .map(|(a, e)| f64::from(a - e).powi(2))
            .sum();
        let signal: f64 = expected.iter().map(|e| f64::from(*e).powi(2)).sum();
        10.0 * (error / signal).log10()
    }

    #[test]
    fn chirps_match_soxr_hq() {
        for rate in [8_000, 44_100, 48_000, 96_000, 192_000] {
            let expected = read_f32_fixture(&format!("chirp_{rate}_to_16000.f32"));

            let actual = to_model_rate(&chirp(rate), rate).unwrap();

            assert_eq!(actual.len(), expected.len(), "length at {rate} Hz");
            let difference = difference_db(&actual, &expected);
            assert!(
                difference < -40.0,
                "{rate} Hz: {difference:.1} dB from soxr_hq"
            );
        }
    }

    #[test]
    fn speech_at_8khz_matches_soxr_hq() {
        let path = format!(
            "{}/fixtures/audio/resample/aishell_8000.wav",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut reader = hound::WavReader::open(path).unwrap();
        assert_eq!(reader.spec().sample_rate, 8_000);
        let speech: Vec<f32> = reader
            .samples::<i16>()
            .map(|s| f32::from(s.unwrap()) / 32768.0)
            .collect();
        let expected = read_f32_fixture("aishell_8000_to_16000.f32");

        let actual = to_model_rate(&speech, 8_000).unwrap();

        assert_eq!(actual.len(), expected.len());
        let difference = difference_db(&actual, &expected);
        assert!(difference < -40.0, "{difference:.1} dB from soxr_hq");
    }

    #[test]
    fn reused_resampler_gives_the_same_output() {
        let speech = chirp(8_000);
        let fresh = to_model_rate(&speech, 8_000).unwrap();

        // The cached resampler ends this call in the middle of another signal.
        to_model_rate(&vec![0.9; 3_333], 8_000).unwrap();

        assert_eq!(to_model_rate(&speech, 8_000).unwrap(), fresh);
    }

    #[test]
    fn least_recently_used_resampler_is_dropped() {
        for rate in [8_000, 44_100, 48_000, 22_050, 8_000, 96_000, 32_000] {
            to_model_rate(&[0.1; 100], rate).unwrap();
        }

        let cached_rates: Vec<u32> = RESAMPLERS.with_borrow(|resamplers| resamplers.iter().map(|(rate, _)| *rate).collect());
        assert_eq!(cached_rates, [22_050, 8_000, 96_000, 32_000]);
    }

    #[test]
    fn model_rate_is_unchanged() {
        let samples = chirp(MODEL_SAMPLE_RATE);

        assert_eq!(to_model_rate(&samples, MODEL_SAMPLE_RATE).unwrap(), samples);
    }

    #[test]
    fn empty_input_gives_empty_output() {
        assert_eq!(to_model_rate(&[], 44_100).unwrap(), Vec::<f32>::new());
    }

    #[test]
    fn rates_outside_range_are_rejected() {
        for rate in [0, 1, 7_999, 192_001, u32::MAX] {
            let error = to_model_rate(&[0.0; 10], rate).unwrap_err();

            assert_eq!(
                error,
                AudioError::SampleRateOutOfRange {
                    rate: u64::from(rate),
                    min: 8_000,
                    max: 192_000
                }
            );
        }
    }

    #[test]
    fn whole_chunks_of_input_are_resampled() {
        // At 8 kHz no zeros are prepended, so these inputs end exactly on a chunk boundary.
        for len in [CHUNK_FRAMES, 3 * CHUNK_FRAMES, 5 * CHUNK_FRAMES] {
            let samples = vec![0.25; len];

            let output = to_model_rate(&samples, 8_000).unwrap();

            assert_eq!(output.len(), 2 * len);
        }
    }

    #[test]
    fn single_sample_is_kept() {
        let output = to_model_rate(&[0.5], 8_000).unwrap();

        assert_eq!(output.len(), 2);
        assert!((output[0] - 0.5).abs() < 0.05, "first sample {}", output[0]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn length_is_within_one_sample(len in 0usize..20_000, rate in MIN_INPUT_RATE..=MAX_INPUT_RATE) {
            let samples: Vec<f32> = (0..len).map(|i| ((i * 7919) % 201) as f32 / 200.0 - 0.5).collect();

            let output = to_model_rate(&samples, rate).unwrap();

            let exact = len as f64 * f64::from(MODEL_SAMPLE_RATE) / f64::from(rate);
            prop_assert!((output.len() as f64 - exact).abs() <= 1.0,
                "{len} samples at {rate} Hz gave {}, expected {exact:.2}", output.len());
        }
    }
}
