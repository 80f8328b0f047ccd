//! Headerless PCM, as streaming clients send it.

use super::downmix::Downmixer;
use super::{AudioError, DecodedAudio, Limits};

/// The sample encodings accepted without a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawEncoding {
    /// Signed 16-bit little-endian integers.
    Linear16,
    /// 32-bit little-endian IEEE floats.
    Float32,
    /// G.711 µ-law, 8 bits per sample.
    Mulaw,
    /// G.711 A-law, 8 bits per sample.
    Alaw,
}

impl RawEncoding {
    /// Returns the name reported in [`DecodedAudio::format`].
    pub fn name(self) -> &'static str {
        match self {
            RawEncoding::Linear16 => "pcm_s16le",
            RawEncoding::Float32 => "pcm_f32le",
            RawEncoding::Mulaw => "mulaw",
            RawEncoding::Alaw => "alaw",
        }
    }

    /// Bytes that one sample of one channel takes.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            RawEncoding::Linear16 => 2,
            RawEncoding::Float32 => 4,
            RawEncoding::Mulaw | RawEncoding::Alaw => 1,
        }
    }

    fn to_f32(self, bytes: &[u8]) -> f32 {
        match self {
            RawEncoding::Linear16 => f32::from(i16::from_le_bytes([bytes[0], bytes[1]])) / 32_768.0,
            RawEncoding::Float32 => f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            RawEncoding::Mulaw => f32::from(MULAW_TO_LINEAR[usize::from(bytes[0])]) / 32_768.0,
            RawEncoding::Alaw => f32::from(ALAW_TO_LINEAR[usize::from(bytes[0])]) / 32_768.0,
        }
    }
}

/// How to read headerless PCM: its encoding, rate and interleaved channel count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPcm {
    pub encoding: RawEncoding,
    pub sample_rate: u32,
    pub channels: u16,
}

/// Frames converted per call to the downmixer, so the conversion buffer stays small.
const FRAMES_PER_BLOCK: usize = 4096;

/// Decodes headerless PCM. The stated rate and channel count are checked against `limits`
/// before anything is converted, and a trailing partial frame is ignored.
pub(super) fn decode(
    bytes: &[u8],
    format: &RawPcm,
    limits: &Limits,
) -> Result<DecodedAudio, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    limits.check_size(bytes.len())?;

    let encoding = format.encoding;
    if format.channels == 0 {
        return Err(AudioError::Undecodable {
            format: encoding.name().to_owned(),
            reason: "the stated channel count is 0".to_owned(),
        });
    }
    let channels = limits.check_channels(u32::from(format.channels))?;
    let sample_rate = limits.check_sample_rate(u64::from(format.sample_rate))?;

    let bytes_per_frame = encoding.bytes_per_sample() * usize::from(channels);
    let frames = bytes.len() / bytes_per_frame;
    if frames == 0 {
        return Err(AudioError::Undecodable {
            format: encoding.name().to_owned(),
            reason: format!(
                "{} bytes are less than one frame of {bytes_per_frame} bytes",
                bytes.len()
            ),
        });
    }
    limits.check_duration(frames as u64, sample_rate)?;

    let mut downmixer = Downmixer::new(sample_rate, limits, frames);
    let mut block = Vec::with_capacity(FRAMES_PER_BLOCK * usize::from(channels));
    for frames_bytes in bytes[..frames * bytes_per_frame].chunks(FRAMES_PER_BLOCK * bytes_per_frame)
    {
        block.clear();
        block.extend(
            frames_bytes
                .chunks_exact(encoding.bytes_per_sample())
                .map(|sample| encoding.to_f32(sample)),
        );
        downmixer.push_interleaved(&block, usize::from(channels))?;
    }

    Ok(DecodedAudio {
        samples: downmixer.into_samples(),
        sample_rate,
        source_channels: channels,
        format: encoding.name().to_owned(),
    })
}

/// 16-bit linear value of each µ-law code (ITU-T G.711, table 2a). The code is stored
/// inverted; after inverting, bit 7 is the sign, bits 6-4 the segment and bits 3-0 the
/// step within it. Each segment doubles the step size and starts where the previous one
/// ends, which the 0x84 bias (132, a quarter step of the first segment, times 4) expresses.
pub(super) static MULAW_TO_LINEAR: [i16; 256] = mulaw_table();

/// 16-bit linear value of each A-law code (ITU-T G.711, table 1a). Even bits of the code
/// are inverted (XOR 0x55); bit 7 set means positive. Segment 0 and 1 share a step size,
/// and every later segment doubles it.
pub(super) static ALAW_TO_LINEAR: [i16; 256] = alaw_table();

const fn mulaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        let inverted = !(code as u8);
        let segment = (inverted >> 4) & 0x07;
        let step = (inverted & 0x0F) as i32;
        let magnitude = (((step << 3) + 0x84) << segment) - 0x84;
        table[code] = if inverted & 0x80 != 0 {
            -magnitude as i16
        } else {
            magnitude as i16
        };
        code += 1;
    }
    table
}

const fn alaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        let toggled = (code as u8) ^ 0x55;
        let segment = (toggled >> 4) & 0x07;
        let step = (toggled & 0x0F) as i32;
        let magnitude = match segment {
            0 => (step << 4) + 8,
            _ => ((step << 4) + 0x108) << (segment - 1),
        };
        table[code] = if toggled & 0x80 != 0 {
            magnitude as i16
        } else {
            -magnitude as i16
        };
        code += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden_table(name: &str) -> Vec<i16> {
        let path = format!(
            "{}/fixtures/audio/g711_golden.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let golden: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        golden[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|value| value.as_i64().unwrap() as i16)
            .collect()
    }

    fn raw(encoding: RawEncoding, sample_rate: u32, channels: u16) -> RawPcm {
        RawPcm {
            encoding,
            sample_rate,
            channels,
        }
    }

    #[test]
    fn mulaw_matches_audioop() {
        assert_eq!(MULAW_TO_LINEAR.to_vec(), golden_table("mulaw"));
    }

    #[test]
    fn alaw_matches_audioop() {
        assert_eq!(ALAW_TO_LINEAR.to_vec(), golden_table("alaw"));
    }

    #[test]
    fn linear16_is_scaled_by_32768() {
        let bytes: Vec<u8> = [i16::MIN, -16_384, 0, 16_384, i16::MAX]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();

        let decoded = decode(
            &bytes,
            &raw(RawEncoding::Linear16, 16_000, 1),
            &Limits::default(),
        )
        .unwrap();

        assert_eq!(
            decoded.samples,
            vec![-1.0, -0.5, 0.0, 0.5, 32_767.0 / 32_768.0]
        );
        assert_eq!(decoded.sample_rate, 16_000);
        assert_eq!(decoded.source_channels, 1);
        assert_eq!(decoded.format, "pcm_s16le");
    }

    #[test]
    fn float32_stereo_is_averaged() {
        let bytes: Vec<u8> = [0.5f32, -0.25, 1.0, 0.0]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();

        let decoded = decode(
            &bytes,
            &raw(RawEncoding::Float32, 48_000, 2),
            &Limits::default(),
        )
        .unwrap();

        assert_eq!(decoded.samples, vec![0.125, 0.5]);
        assert_eq!(decoded.source_channels, 2);
        assert_eq!(decoded.format, "pcm_f32le");
    }

    #[test]
    fn float32_nan_is_rejected() {
        let bytes: Vec<u8> = [0.5f32, 0.25, f32::INFINITY]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();

        let error = decode(
            &bytes,
            &raw(RawEncoding::Float32, 8_000, 1),
            &Limits::default(),
        )
        .unwrap_err();

        assert_eq!(error, AudioError::NonFinite { index: 2 });
    }

    #[test]
    fn g711_codes_decode_through_tables() {
        let bytes = [0x00, 0xFF, 0x80, 0xD5];

        let mulaw = decode(
            &bytes,
            &raw(RawEncoding::Mulaw, 8_000, 1),
            &Limits::default(),
        )
        .unwrap();
        let alaw = decode(
            &bytes,
            &raw(RawEncoding::Alaw, 8_000, 1),
            &Limits::default(),
        )
        .unwrap();

        assert_eq!(
            mulaw.samples,
            [-32_124.0, 0.0, 32_124.0, 716.0].map(|s: f32| s / 32_768.0)
        );
        assert_eq!(mulaw.format, "mulaw");
        assert_eq!(
            alaw.samples,
            [-5_504.0, 848.0, 5_504.0, 8.0].map(|s: f32| s / 32_768.0)
        );
        assert_eq!(alaw.format, "alaw");
    }

    #[test]
    fn trailing_partial_frame_is_ignored() {
        let decoded = decode(
            &[0, 64, 0, 64, 0],
            &raw(RawEncoding::Linear16, 8_000, 2),
            &Limits::default(),
        )
        .unwrap();

        assert_eq!(decoded.samples, vec![0.5]);
    }

    #[test]
    fn empty_input_is_rejected() {
        let error = decode(
            &[],
            &raw(RawEncoding::Linear16, 16_000, 1),
            &Limits::default(),
        )
        .unwrap_err();

        assert_eq!(error, AudioError::Empty);
    }

    #[test]
    fn less_than_one_frame_is_rejected() {
        let error = decode(
            &[1, 2, 3],
            &raw(RawEncoding::Float32, 16_000, 1),
            &Limits::default(),
        )
        .unwrap_err();

        assert!(
            matches!(error, AudioError::Undecodable { ref format, .. } if format == "pcm_f32le"),
            "{error}"
        );
    }

    #[test]
    fn stated_values_are_checked_against_limits() {
        let limits = Limits::default();
        let bytes = [0u8; 64];

        let zero_channels =
            decode(&bytes, &raw(RawEncoding::Linear16, 16_000, 0), &limits).unwrap_err();
        let nine_channels =
            decode(&bytes, &raw(RawEncoding::Linear16, 16_000, 9), &limits).unwrap_err();
        let low_rate = decode(&bytes, &raw(RawEncoding::Linear16, 1, 1), &limits).unwrap_err();
        let high_rate = decode(
            &bytes,
            &raw(RawEncoding::Linear16, 4_000_000_000, 1),
            &limits,
        )
        .unwrap_err();

        assert!(
            matches!(zero_channels, AudioError::Undecodable { .. }),
            "{zero_channels}"
        );
        assert_eq!(
            nine_channels,
            AudioError::TooManyChannels {
                channels: 9,
                limit: 8
            }
        );
        assert_eq!(
            low_rate,
            AudioError::SampleRateOutOfRange {
                rate: 1,
                min: 8_000,
                max: 192_000
            }
        );
        assert_eq!(
            high_rate,
            AudioError::SampleRateOutOfRange {
                rate: 4_000_000_000,
                min: 8_000,
                max: 192_000
            }
        );
    }

    #[test]
    fn size_and_duration_limits_apply() {
        let limits = Limits {
            max_bytes: 1_000,
            max_seconds: 0.01,
            ..Limits::default()
        };

        let too_large =
            decode(&[0u8; 1_001], &raw(RawEncoding::Mulaw, 8_000, 1), &limits).unwrap_err();
        let too_long =
            decode(&[0u8; 162], &raw(RawEncoding::Linear16, 8_000, 1), &limits).unwrap_err();

        assert_eq!(
            too_large,
            AudioError::TooLarge {
                bytes: 1_001,
                limit: 1_000
            }
        );
        assert_eq!(
            too_long,
            AudioError::TooLong {
                seconds: 81.0 / 8_000.0,
                limit: 0.01
            }
        );
    }
}
