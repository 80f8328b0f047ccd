//! Transformations that a replayed recording goes through, for the tests and the evaluation:
//! resampling, level changes, white noise, and a simulated room. Every random choice comes
//! from a seeded generator, so every run produces the same signals.

use std::path::Path;

use rubato::{FftFixedIn, Resampler};
use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

/// Reads a WAV file (16-bit integer or 32-bit float PCM) and averages its channels.
pub fn read_wav_mono(path: &Path) -> (u32, Vec<f32>) {
    let mut reader =
        hound::WavReader::open(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let spec = reader.spec();
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u32 << (spec.bits_per_sample - 1)) as f32;
            reader.samples::<i32>().map(|sample| sample.expect("valid sample") as f32 * scale).collect()
        }
        hound::SampleFormat::Float => reader.samples::<f32>().map(|sample| sample.expect("valid sample")).collect(),
    };

    let channels = usize::from(spec.channels);
    let mono = interleaved.chunks_exact(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32).collect();
    (spec.sample_rate, mono)
}

/// Reads a WAV file and brings it to 16 kHz.
pub fn read_wav_16k(path: &Path) -> Vec<f32> {
    let (rate, samples) = read_wav_mono(path);
    resample(&samples, rate, 16_000)
}

/// Resamples with rubato's FFT resampler and removes its delay, so that output sample `j`
/// lies at input time `j * from / to`.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }

    const CHUNK: usize = 1024;
    let mut resampler = FftFixedIn::<f32>::new(from as usize, to as usize, CHUNK, 2, 1).expect("valid rates");
    let delay = resampler.output_delay();
    let expected = (samples.len() as u64 * u64::from(to)).div_ceil(u64::from(from)) as usize;
    let mut output = Vec::with_capacity(expected + delay + 2 * CHUNK);

    let mut chunks = samples.chunks_exact(CHUNK);
    for chunk in chunks.by_ref() {
        output.extend_from_slice(&resampler.process(&[chunk], None).expect("whole chunk")[0]);
    }
    // rubato reads an empty last chunk as a missing channel, so only a partial one is passed.
    if !chunks.remainder().is_empty() {
        output.extend_from_slice(&resampler.process_partial(Some(&[chunks.remainder()]), None).expect("last chunk")[0]);
    }
    while output.len() < expected + delay {
        output.extend_from_slice(&resampler.process_partial::<&[f32]>(None, None).expect("flush")[0]);
    }

    output.drain(..delay);
    output.truncate(expected);
    output
}

/// Multiplies by the gain of `db` decibels, without clipping.
pub fn change_level(samples: &[f32], db: f32) -> Vec<f32> {
    let gain = 10f32.powf(db / 20.0);
    samples.iter().map(|&x| x * gain).collect()
}

/// Adds white Gaussian noise `snr_db` below the active speech level of `samples`.
pub fn add_white_noise(samples: &[f32], snr_db: f64, seed: u64) -> Vec<f32> {
    let noise_power = active_power(samples) / 10f64.powf(snr_db / 10.0);
    let noise_std = noise_power.sqrt();
    let mut rng = SplitMix64::new(seed);
    samples.iter().map(|&x| x + (rng.gaussian() * noise_std) as f32).collect()
}

/// Computes the mean power of the 20 ms frames within 30 dB of the loudest frame. This is the
/// level of the speech without the pauses around it, so an SNR means the same for a clip that
/// is mostly silence as for one that is all speech.
pub fn active_power(samples: &[f32]) -> f64 {
    const FRAME: usize = 320;
    let powers: Vec<f64> = samples
        .chunks(FRAME)
        .map(|frame| frame.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / frame.len() as f64)
        .collect();
    let loudest = powers.iter().copied().fold(0.0, f64::max);
    let active: Vec<f64> = powers.into_iter().filter(|&power| power >= loudest * 1e-3).collect();
    if active.is_empty() {
        return 0.0;
    }
    active.iter().sum::<f64>() / active.len() as f64
}

/// Convolves with a synthetic room impulse response: a direct path followed by Gaussian
/// noise that decays by 60 dB in `rt60_seconds`, `direct_to_reverberant_db` below the direct
/// path in energy. It approximates playing the recording through a loudspeaker in a room, but
/// it is no substitute for measured rooms and loudspeakers.
pub fn reverberate(samples: &[f32], rt60_seconds: f64, direct_to_reverberant_db: f64, seed: u64) -> Vec<f32> {
    let response = room_response(16_000.0, rt60_seconds, direct_to_reverberant_db, seed);
    let mut wet = convolve(samples, &response);
    wet.truncate(samples.len());
    wet
}

fn room_response(rate: f64, rt60_seconds: f64, direct_to_reverberant_db: f64, seed: u64) -> Vec<f32> {
    let length = (rate * rt60_seconds) as usize;
    let decay_per_sample = (-3.0 * 10f64.ln() / (rt60_seconds * rate)).exp();
    let mut rng = SplitMix64::new(seed);

    let mut tail: Vec<f64> = Vec::with_capacity(length);
    let mut envelope = 1.0;
    for _ in 0..length {
        tail.push(rng.gaussian() * envelope);
        envelope *= decay_per_sample;
    }
    let tail_energy: f64 = tail.iter().map(|x| x * x).sum();
    let tail_gain = (10f64.powf(-direct_to_reverberant_db / 10.0) / tail_energy).sqrt();

    // The tail starts one sample after the direct path.
    std::iter::once(1.0).chain(tail.iter().map(|x| (x * tail_gain) as f32)).collect()
}

fn convolve(signal: &[f32], response: &[f32]) -> Vec<f32> {
    let length = (signal.len() + response.len() - 1).next_power_of_two();
    let mut planner = FftPlanner::<f32>::new();
    let forward = planner.plan_fft_forward(length);
    let inverse = planner.plan_fft_inverse(length);

    let spectrum = |values: &[f32]| {
        let mut buffer: Vec<Complex<f32>> = values.iter().map(|&x| Complex::new(x, 0.0)).collect();
        buffer.resize(length, Complex::new(0.0, 0.0));
        forward.process(&mut buffer);
        buffer
    };
    let mut product: Vec<Complex<f32>> = spectrum(signal).iter().zip(spectrum(response)).map(|(a, b)| a * b).collect();
    inverse.process(&mut product);
    product.iter().take(signal.len() + response.len() - 1).map(|value| value.re / length as f32).collect()
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a small generator, good enough for test noise.
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Returns a uniform value in (0, 1].
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Returns a standard normal value (Box-Muller transform).
    pub fn gaussian(&mut self) -> f64 {
        let radius = (-2.0 * self.uniform().ln()).sqrt();
        let angle = 2.0 * std::f64::consts::PI * self.uniform();
        radius * angle.cos()
    }
}
