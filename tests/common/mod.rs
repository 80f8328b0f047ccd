//! Helpers shared by the integration tests: fixture paths, a reader for the float32 `.npy`
//! golden files, and writers for WAV variants that the fixtures do not contain.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(relative)
}

pub fn read_fixture(relative: &str) -> Vec<u8> {
    let path = fixture(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Reads a little-endian float32 (`<f4`) or bool (`|b1`) `.npy` array in C order, flattened.
pub fn read_npy(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{} is not an .npy file", path.display());

    let (header_len, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
    };
    let header = std::str::from_utf8(&bytes[header_start..header_start + header_len]).unwrap();
    assert!(header.contains("'fortran_order': False"), "{}: Fortran order", path.display());
    let data = &bytes[header_start + header_len..];

    if header.contains("'<f4'") {
        data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
    } else if header.contains("'|b1'") {
        data.iter().map(|&b| f32::from(b)).collect()
    } else {
        panic!("{}: unsupported dtype in header {header}", path.display());
    }
}

/// Reads a 16-bit PCM WAV fixture into its rate and interleaved samples.
pub fn read_pcm16(relative: &str) -> (u32, u16, Vec<i16>) {
    let reader = hound::WavReader::open(fixture(relative)).unwrap();
    let spec = reader.spec();
    assert_eq!(spec.bits_per_sample, 16);
    let samples = reader.into_samples::<i16>().collect::<Result<Vec<_>, _>>().unwrap();
    (spec.sample_rate, spec.channels, samples)
}

/// Sample formats of the WAV writer below.
#[derive(Clone, Copy)]
pub enum WavSamples {
    Int24,
    Float32,
}

/// Writes `samples` (mono, in [-1, 1)) as a WAVE_FORMAT_EXTENSIBLE file.
pub fn extensible_wav(rate: u32, samples: &[f32], format: WavSamples) -> Vec<u8> {
    let (bits, subformat_tag): (u16, u16) = match format {
        WavSamples::Int24 => (24, 1),
        WavSamples::Float32 => (32, 3),
    };
    let block_align = bits / 8;
    let mut data = Vec::with_capacity(samples.len() * block_align as usize);
    for &x in samples {
        match format {
            WavSamples::Int24 => {
                let value = (f64::from(x) * 8_388_608.0).round().clamp(-8_388_608.0, 8_388_607.0) as i32;
                data.extend_from_slice(&value.to_le_bytes()[..3]);
            }
            WavSamples::Float32 => data.extend_from_slice(&x.to_le_bytes()),
        }
    }

    let mut fmt = Vec::new();
    fmt.extend_from_slice(&0xFFFEu16.to_le_bytes()); // WAVE_FORMAT_EXTENSIBLE
    fmt.extend_from_slice(&1u16.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    fmt.extend_from_slice(&22u16.to_le_bytes()); // cbSize
    fmt.extend_from_slice(&bits.to_le_bytes()); // valid bits per sample
    fmt.extend_from_slice(&4u32.to_le_bytes()); // channel mask: front centre
    // The subformat GUID: the format tag followed by the fixed KSDATAFORMAT suffix.
    fmt.extend_from_slice(&subformat_tag.to_le_bytes());
    fmt.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]);

    riff(&fmt, &data, data.len() as u32)
}

/// Writes 16-bit PCM with an fmt chunk that carries cbSize 2 and two extra bytes, and with
/// `data_size` written into the data chunk header in place of the true size.
pub fn pcm16_wav_with_extras(rate: u32, channels: u16, samples: &[i16], data_size: u32) -> Vec<u8> {
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&1u16.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&rate.wrapping_mul(2 * u32::from(channels)).to_le_bytes()); // may wrap for implausible rates
    fmt.extend_from_slice(&(2 * channels).to_le_bytes());
    fmt.extend_from_slice(&16u16.to_le_bytes());
    fmt.extend_from_slice(&2u16.to_le_bytes()); // cbSize
    fmt.extend_from_slice(&[0, 0]);

    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    riff(&fmt, &data, data_size)
}

fn riff(fmt: &[u8], data: &[u8], data_size_field: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(44 + fmt.len() + data.len());
    out.extend_from_slice(b"RIFF");
    let riff_size = if data_size_field == u32::MAX { u32::MAX } else { (4 + 8 + fmt.len() + 8 + data.len()) as u32 };
    out.extend_from_slice(&riff_size.to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(fmt);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_size_field.to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// Cosine similarity computed here rather than with the crate's own function.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
    let na: f64 = a.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}
