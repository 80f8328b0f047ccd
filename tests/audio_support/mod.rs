//! Helpers shared by the audio integration tests: fixtures, a WAV writer that is
//! independent of the decoder under test, and signal comparison.

#![allow(dead_code)]

use std::path::PathBuf;

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/audio")
        .join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Reads the reference clip as 16-bit samples, with hound alone.
pub fn reference_pcm() -> Vec<i16> {
    let reader = hound::WavReader::open(fixture_path("aishell_S0150W0001.wav")).unwrap();
    assert_eq!(reader.spec().sample_rate, 16_000);
    assert_eq!(reader.spec().channels, 1);
    reader.into_samples::<i16>().map(Result::unwrap).collect()
}

/// Reads the reference clip scaled to [-1, 1), as librosa and soundfile scale 16-bit PCM.
pub fn reference_speech() -> Vec<f32> {
    reference_pcm()
        .into_iter()
        .map(|s| f32::from(s) / 32_768.0)
        .collect()
}

pub fn le_bytes_i16(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// Builds a 16-byte PCMWAVEFORMAT body: tag, channels, rate, byte rate, block align, bits.
pub fn fmt_body(tag: u16, channels: u16, rate: u32, block_align: u16, bits: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&tag.to_le_bytes());
    body.extend_from_slice(&channels.to_le_bytes());
    body.extend_from_slice(&rate.to_le_bytes());
    body.extend_from_slice(&rate.wrapping_mul(u32::from(block_align)).to_le_bytes());
    body.extend_from_slice(&block_align.to_le_bytes());
    body.extend_from_slice(&bits.to_le_bytes());
    body
}

/// Builds a RIFF/WAVE file of the given chunks, with correct sizes and pad bytes.
pub fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut file = b"RIFF\0\0\0\0WAVE".to_vec();
    for (id, body) in chunks {
        file.extend_from_slice(*id);
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend_from_slice(body);
        if body.len() % 2 == 1 {
            file.push(0);
        }
    }
    let riff_len = (file.len() - 8) as u32;
    file[4..8].copy_from_slice(&riff_len.to_le_bytes());
    file
}

/// Builds a plain WAV with a 16-byte fmt chunk.
pub fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let block_align = channels * bits.div_ceil(8);
    riff(&[
        (b"fmt ", &fmt_body(tag, channels, rate, block_align, bits)),
        (b"data", data),
    ])
}

/// Finds the offset of the data chunk's size field in a WAV file.
pub fn data_size_offset(file: &[u8]) -> usize {
    file.windows(4)
        .position(|window| window == b"data")
        .expect("no data chunk")
        + 4
}

/// Returns the largest normalised cross-correlation of `actual` against `expected` over
/// lags of up to `max_lag` samples, and the lag where it occurs.
pub fn best_correlation(actual: &[f32], expected: &[f32], max_lag: usize) -> (f64, isize) {
    let mut best = (f64::MIN, 0);
    for lag in -(max_lag as isize)..=(max_lag as isize) {
        let (a, e) = if lag >= 0 {
            (&actual[lag as usize..], expected)
        } else {
            (actual, &expected[(-lag) as usize..])
        };
        let n = a.len().min(e.len());
        let dot: f64 = a[..n]
            .iter()
            .zip(&e[..n])
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        let norm_a: f64 = a[..n].iter().map(|x| f64::from(*x).powi(2)).sum();
        let norm_e: f64 = e[..n].iter().map(|y| f64::from(*y).powi(2)).sum();
        let correlation = dot / (norm_a * norm_e).sqrt().max(f64::MIN_POSITIVE);
        if correlation > best.0 {
            best = (correlation, lag);
        }
    }
    best
}

pub fn rms(samples: &[f32]) -> f64 {
    (samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

pub fn max_abs_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
