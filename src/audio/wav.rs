//! WAV files: the RIFF chunk list is parsed here, samples are read through hound where it
//! can read them and by hand where it cannot.
//!
//! Sources: the RIFF and WAVE chapters of "Multimedia Programming Interface and Data
//! Specifications 1.0" (IBM and Microsoft, 1991); WAVEFORMATEX and WAVEFORMATEXTENSIBLE as
//! Microsoft's mmreg.h and ksmedia.h define them; RF64 as EBU Tech 3306 defines it.
//!
//! hound 3.5 rejects several headers that recorders write: data sizes of 0 or 0xFFFFFFFF from
//! streaming encoders, data chunks cut short by a truncated upload, fmt chunks with a
//! `cbSize` other than 0 or 22, and inconsistent `nAvgBytesPerSec` values. So hound never
//! reads the original header. It reads a canonical 44-byte header, built from the values
//! parsed here, in front of the whole frames that are actually present.

use std::io::{Cursor, Read};

use super::container;
use super::downmix::Downmixer;
use super::raw::{ALAW_TO_LINEAR, MULAW_TO_LINEAR};
use super::sniff::Container;
use super::{AudioError, DecodedAudio, Limits};

const FORMAT_NAME: &str = "wav";

/// Frames converted per call to the downmixer.
const FRAMES_PER_BLOCK: usize = 4096;

/// Format tags from mmreg.h and RFC 2361.
const WAVE_FORMAT_PCM: u16 = 0x0001;
const WAVE_FORMAT_ADPCM: u16 = 0x0002;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 0x0003;
const WAVE_FORMAT_ALAW: u16 = 0x0006;
const WAVE_FORMAT_MULAW: u16 = 0x0007;
const WAVE_FORMAT_IMA_ADPCM: u16 = 0x0011;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// The last 14 bytes of every KSDATAFORMAT_SUBTYPE GUID that wraps a format tag
/// (ksmedia.h: `{0000xxxx-0000-0010-8000-00AA00389B71}`, stored little endian).
const SUBTYPE_GUID_SUFFIX: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// Decodes a RIFF/WAVE (or RF64/BW64) file into mono samples.
pub(super) fn decode(bytes: &[u8], limits: &Limits) -> Result<DecodedAudio, AudioError> {
    let chunks = RiffChunks::parse(bytes)?;
    let format = WaveFormat::parse(chunks.fmt)?;

    if format.channels == 0 {
        return Err(undecodable("the fmt chunk states 0 channels"));
    }
    let channels = limits.check_channels(u32::from(format.channels))?;
    let sample_rate = limits.check_sample_rate(u64::from(format.sample_rate))?;

    match format.encoding()? {
        Encoding::Pcm(pcm) => {
            let samples = decode_pcm(&chunks, &format, pcm, limits)?;
            Ok(DecodedAudio {
                samples,
                sample_rate,
                source_channels: channels,
                format: FORMAT_NAME.to_owned(),
            })
        }
        Encoding::Adpcm => decode_adpcm(&chunks, &format, limits),
    }
}

/// Decodes samples stored one per container, after checking the length that the header
/// states and the length that is present.
fn decode_pcm(
    chunks: &RiffChunks<'_>,
    format: &WaveFormat,
    pcm: PcmEncoding,
    limits: &Limits,
) -> Result<Vec<f32>, AudioError> {
    let block_align = usize::from(format.block_align);
    if let Some(declared_bytes) = chunks.declared_data_len {
        limits.check_duration(declared_bytes / block_align as u64, format.sample_rate)?;
    }
    let frames = chunks.data.len() / block_align;
    limits.check_duration(frames as u64, format.sample_rate)?;
    if frames == 0 {
        return Err(AudioError::Empty);
    }

    let data = &chunks.data[..frames * block_align];
    let channels = usize::from(format.channels);
    let mut downmixer = Downmixer::new(format.sample_rate, limits, frames);
    match pcm {
        PcmEncoding::Integer { .. } | PcmEncoding::Float32 => {
            read_with_hound(data, format, pcm, &mut downmixer)?
        }
        PcmEncoding::Float64 => read_float64(data, channels, &mut downmixer)?,
        PcmEncoding::Mulaw => read_g711(data, &MULAW_TO_LINEAR, channels, &mut downmixer)?,
        PcmEncoding::Alaw => read_g711(data, &ALAW_TO_LINEAR, channels, &mut downmixer)?,
    }
    Ok(downmixer.into_samples())
}

/// The chunks of a WAVE file that decoding needs.
struct RiffChunks<'a> {
    fmt: &'a [u8],
    fact: Option<&'a [u8]>,
    /// The data chunk's bytes that are present in the file.
    data: &'a [u8],
    /// The data chunk's size as the header states it, unless the header leaves it open.
    declared_data_len: Option<u64>,
}

impl<'a> RiffChunks<'a> {
    /// Walks the chunk list. Sizes are never trusted: every chunk is clipped to the bytes
    /// present, and the walk advances at least 8 bytes per chunk, so it ends on any input.
    fn parse(bytes: &'a [u8]) -> Result<RiffChunks<'a>, AudioError> {
        if bytes.len() < 12 {
            return Err(undecodable(format!(
                "the file is {} bytes, shorter than a RIFF header",
                bytes.len()
            )));
        }
        let is_rf64 = &bytes[0..4] != b"RIFF";

        let mut fmt = None;
        let mut fact = None;
        let mut data: Option<(&[u8], Option<u64>)> = None;
        let mut ds64_data_len = None;
        let mut position = 12;
        while let Some(header) = bytes.get(position..position + 8) {
            let id = [header[0], header[1], header[2], header[3]];
            let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            let body_start = position + 8;
            let body_end = body_start.saturating_add(size as usize).min(bytes.len());

            match &id {
                // EBU Tech 3306: in RF64 and BW64 files, "ds64" contains the 64-bit sizes of
                // the RIFF and data chunks, whose 32-bit size fields are then 0xFFFFFFFF.
                b"ds64" if is_rf64 => {
                    ds64_data_len = bytes.get(body_start + 8..body_start + 16).map(read_u64)
                }
                b"fmt " => fmt = Some(&bytes[body_start..body_end]),
                b"fact" => fact = Some(&bytes[body_start..body_end]),
                b"data" => {
                    let (present, declared) = data_extent(
                        bytes,
                        body_start,
                        size,
                        is_rf64.then_some(ds64_data_len).flatten(),
                    );
                    data = Some((present, declared));
                    // A data chunk whose size is open runs to the end of the file, and with
                    // the fmt chunk already seen nothing after the data is needed.
                    if declared.is_none() || fmt.is_some() {
                        break;
                    }
                }
                _ => {}
            }

            // RIFF chunks are word aligned: an odd-sized chunk is followed by a pad byte.
            position = body_start
                .saturating_add(size as usize)
                .saturating_add(size as usize & 1);
        }

        let Some(fmt) = fmt else {
            return Err(undecodable("the file has no fmt chunk"));
        };
        let Some((data, declared_data_len)) = data else {
            return Err(undecodable("the file has no data chunk"));
        };
        Ok(RiffChunks {
            fmt,
            fact,
            data,
            declared_data_len,
        })
    }
}

/// Finds the bytes of a data chunk whose body starts at `start`, and the length its header
/// states. Streaming encoders write a size of 0 or 0xFFFFFFFF before they know the length,
/// and ffmpeg writing to a pipe leaves 0xFFFFFFFF. Such a chunk runs to the end of the file,
/// unless it is an RF64 placeholder whose real size is in the ds64 chunk.
fn data_extent(
    bytes: &[u8],
    start: usize,
    size: u32,
    ds64_size: Option<u64>,
) -> (&[u8], Option<u64>) {
    let declared = match (size, ds64_size) {
        (u32::MAX, Some(ds64_size)) => Some(ds64_size),
        (0 | u32::MAX, _) => None,
        (size, _) => Some(u64::from(size)),
    };
    let present = bytes.len().saturating_sub(start);
    let len = declared.map_or(present, |declared| {
        usize::try_from(declared).unwrap_or(usize::MAX).min(present)
    });
    (&bytes[start..start + len], declared)
}

/// The fields of a WAVEFORMATEX, with WAVEFORMATEXTENSIBLE's sub-format resolved.
#[derive(Debug, Clone, PartialEq)]
struct WaveFormat {
    /// The format tag; for WAVE_FORMAT_EXTENSIBLE, the tag that its sub-format GUID wraps.
    format_tag: u16,
    extensible: bool,
    channels: u16,
    sample_rate: u32,
    block_align: u16,
    /// `wBitsPerSample`: for integer PCM, the container width of one sample in bits.
    bits_per_sample: u16,
}

/// The coding of the data chunk.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    Pcm(PcmEncoding),
    /// Microsoft or IMA ADPCM, decoded by Symphonia.
    Adpcm,
}

/// Samples stored one per container.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PcmEncoding {
    /// Signed integers (unsigned for 8 bits) in `bytes`-wide little-endian containers.
    Integer {
        bytes: u16,
    },
    Float32,
    Float64,
    Mulaw,
    Alaw,
}

impl WaveFormat {
    /// Parses a fmt chunk: the 16-byte WAVEFORMAT part always, `cbSize` and the
    /// WAVEFORMATEXTENSIBLE fields only when the tag is WAVE_FORMAT_EXTENSIBLE. Extra bytes
    /// after the fields in use (any `cbSize` for other tags) are ignored.
    fn parse(fmt: &[u8]) -> Result<WaveFormat, AudioError> {
        if fmt.len() < 16 {
            return Err(undecodable(format!(
                "the fmt chunk is {} bytes, at least 16 needed",
                fmt.len()
            )));
        }
        let mut format = WaveFormat {
            format_tag: read_u16(&fmt[0..2]),
            extensible: false,
            channels: read_u16(&fmt[2..4]),
            sample_rate: u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]),
            // Bytes 8..12 are nAvgBytesPerSec, which follows from the other fields.
            block_align: read_u16(&fmt[12..14]),
            bits_per_sample: read_u16(&fmt[14..16]),
        };

        if format.format_tag == WAVE_FORMAT_EXTENSIBLE {
            // cbSize is at least 22: wValidBitsPerSample, dwChannelMask and the sub-format
            // GUID. The valid bits are the high bits of each container (left justified), so
            // reading the whole container gives the right scale and they can be ignored.
            let Some(guid) = fmt.get(24..40) else {
                return Err(undecodable(format!(
                    "the WAVE_FORMAT_EXTENSIBLE fmt chunk is {} bytes, at least 40 needed",
                    fmt.len()
                )));
            };
            if guid[2..] != SUBTYPE_GUID_SUFFIX {
                let sub_format = format_guid(guid);
                return Err(unsupported(format!(
                    "WAVE_FORMAT_EXTENSIBLE sub-format {sub_format}"
                )));
            }
            format.format_tag = read_u16(&guid[0..2]);
            format.extensible = true;
        }
        Ok(format)
    }

    fn encoding(&self) -> Result<Encoding, AudioError> {
        let bits = self.bits_per_sample;
        let pcm = match (self.format_tag, bits) {
            (WAVE_FORMAT_PCM, 1..=32) => self.integer_encoding()?,
            (WAVE_FORMAT_PCM, _) => return Err(unsupported(format!("{bits}-bit integer PCM"))),
            (WAVE_FORMAT_IEEE_FLOAT, 32) => PcmEncoding::Float32,
            (WAVE_FORMAT_IEEE_FLOAT, 64) => PcmEncoding::Float64,
            (WAVE_FORMAT_IEEE_FLOAT, _) => {
                return Err(unsupported(format!("{bits}-bit float PCM")))
            }
            (WAVE_FORMAT_MULAW, 8) => PcmEncoding::Mulaw,
            (WAVE_FORMAT_ALAW, 8) => PcmEncoding::Alaw,
            (WAVE_FORMAT_ADPCM | WAVE_FORMAT_IMA_ADPCM, _) => return Ok(Encoding::Adpcm),
            (tag, _) => return Err(unsupported(wave_codec_name(tag))),
        };

        let frame_bytes = pcm.bytes_per_sample() * u32::from(self.channels);
        if u32::from(self.block_align) != frame_bytes {
            return Err(undecodable(format!(
                "block align {} does not match {} channels of {bits}-bit samples",
                self.block_align, self.channels
            )));
        }
        Ok(Encoding::Pcm(pcm))
    }

    /// Integer PCM containers. WAVEFORMATEX rounds a sample up to whole bytes, so 12-bit
    /// samples take 2 bytes, left justified. In WAVE_FORMAT_EXTENSIBLE, `wBitsPerSample` is
    /// the container size and must be a multiple of 8.
    fn integer_encoding(&self) -> Result<PcmEncoding, AudioError> {
        let bits = self.bits_per_sample;
        if self.extensible && !bits.is_multiple_of(8) {
            return Err(undecodable(format!(
                "a WAVE_FORMAT_EXTENSIBLE container of {bits} bits is not whole bytes"
            )));
        }
        Ok(PcmEncoding::Integer {
            bytes: bits.div_ceil(8),
        })
    }
}

impl PcmEncoding {
    fn bytes_per_sample(self) -> u32 {
        match self {
            PcmEncoding::Integer { bytes } => u32::from(bytes),
            PcmEncoding::Float32 => 4,
            PcmEncoding::Float64 => 8,
            PcmEncoding::Mulaw | PcmEncoding::Alaw => 1,
        }
    }
}

/// Reads integer and 32-bit float samples with hound, behind a canonical header that
/// states exactly the frames in `data`.
fn read_with_hound(
    data: &[u8],
    format: &WaveFormat,
    pcm: PcmEncoding,
    downmixer: &mut Downmixer,
) -> Result<(), AudioError> {
    let header = canonical_header(format, pcm, data.len())?;
    let reader = hound::WavReader::new(Cursor::new(header).chain(data))
        .map_err(|error| undecodable(format!("hound rejected the canonical header: {error}")))?;
    let channels = usize::from(format.channels);

    match pcm {
        PcmEncoding::Integer { bytes } => {
            let scale = 1.0 / f64::from(1u32 << (8 * u32::from(bytes) - 1));
            let samples = reader
                .into_samples::<i32>()
                .map(|sample| sample.map(|value| (f64::from(value) * scale) as f32));
            push_in_blocks(samples, channels, downmixer)
        }
        _ => push_in_blocks(reader.into_samples::<f32>(), channels, downmixer),
    }
}

/// Builds a 44-byte WAVE header (RIFF, a 16-byte fmt chunk, data) for `data_len` bytes of
/// samples.
fn canonical_header(
    format: &WaveFormat,
    pcm: PcmEncoding,
    data_len: usize,
) -> Result<Vec<u8>, AudioError> {
    let (tag, bits) = match pcm {
        PcmEncoding::Integer { bytes } => (WAVE_FORMAT_PCM, bytes * 8),
        _ => (WAVE_FORMAT_IEEE_FLOAT, 32),
    };
    let too_large = || {
        undecodable(format!(
            "{data_len} bytes of samples do not fit a RIFF chunk"
        ))
    };
    let data_len = u32::try_from(data_len).map_err(|_| too_large())?;
    let riff_len = data_len.checked_add(36).ok_or_else(too_large)?;
    let byte_rate = u32::from(format.block_align)
        .checked_mul(format.sample_rate)
        .ok_or_else(|| {
            undecodable(format!(
                "{} Hz at {} bytes per frame overflows the byte rate",
                format.sample_rate, format.block_align
            ))
        })?;

    let mut header = Vec::with_capacity(44);
    header.extend_from_slice(b"RIFF");
    header.extend_from_slice(&riff_len.to_le_bytes());
    header.extend_from_slice(b"WAVEfmt ");
    header.extend_from_slice(&16u32.to_le_bytes());
    header.extend_from_slice(&tag.to_le_bytes());
    header.extend_from_slice(&format.channels.to_le_bytes());
    header.extend_from_slice(&format.sample_rate.to_le_bytes());
    header.extend_from_slice(&byte_rate.to_le_bytes());
    header.extend_from_slice(&format.block_align.to_le_bytes());
    header.extend_from_slice(&bits.to_le_bytes());
    header.extend_from_slice(b"data");
    header.extend_from_slice(&data_len.to_le_bytes());
    Ok(header)
}

fn push_in_blocks(
    samples: impl Iterator<Item = hound::Result<f32>>,
    channels: usize,
    downmixer: &mut Downmixer,
) -> Result<(), AudioError> {
    let mut block = Vec::with_capacity(FRAMES_PER_BLOCK * channels);
    for sample in samples {
        block.push(
            sample
                .map_err(|error| undecodable(format!("hound failed to read a sample: {error}")))?,
        );
        if block.len() == block.capacity() {
            downmixer.push_interleaved(&block, channels)?;
            block.clear();
        }
    }
    downmixer.push_interleaved(&block, channels)
}

/// Reads 64-bit IEEE floats, which hound 3.5 does not support. Finite values are clamped to
/// [-1, 1] before narrowing, so that a large finite sample does not become infinite.
fn read_float64(data: &[u8], channels: usize, downmixer: &mut Downmixer) -> Result<(), AudioError> {
    let samples = data.chunks_exact(8).map(|bytes| {
        let value = read_f64(bytes);
        Ok(if value.is_finite() {
            value.clamp(-1.0, 1.0) as f32
        } else {
            f32::NAN
        })
    });
    push_in_blocks(samples, channels, downmixer)
}

/// Reads WAVE_FORMAT_MULAW and WAVE_FORMAT_ALAW samples, which hound does not support.
fn read_g711(
    data: &[u8],
    table: &[i16; 256],
    channels: usize,
    downmixer: &mut Downmixer,
) -> Result<(), AudioError> {
    let samples = data
        .iter()
        .map(|&code| Ok(f32::from(table[usize::from(code)]) / 32_768.0));
    push_in_blocks(samples, channels, downmixer)
}

/// Hands Microsoft and IMA ADPCM, which hound does not support, to Symphonia's WAVE reader,
/// in a rebuilt file of whole blocks with the original fmt and fact chunks, so that
/// Symphonia reads the same corrected sizes as hound does.
fn decode_adpcm(
    chunks: &RiffChunks<'_>,
    format: &WaveFormat,
    limits: &Limits,
) -> Result<DecodedAudio, AudioError> {
    // Each block starts with a header per channel: 7 bytes for Microsoft ADPCM, 4 for IMA.
    let header_bytes = if format.format_tag == WAVE_FORMAT_ADPCM {
        7
    } else {
        4
    };
    let block_align = usize::from(format.block_align);
    if block_align <= header_bytes * usize::from(format.channels) {
        return Err(undecodable(format!(
            "ADPCM block align {block_align} leaves no room for samples after {} channel headers",
            format.channels
        )));
    }
    let data = &chunks.data[..chunks.data.len() / block_align * block_align];
    if data.is_empty() {
        return Err(AudioError::Empty);
    }

    let mut rebuilt = Vec::with_capacity(data.len() + chunks.fmt.len() + 64);
    rebuilt.extend_from_slice(b"RIFF\0\0\0\0WAVE");
    push_chunk(&mut rebuilt, b"fmt ", chunks.fmt);
    if let Some(fact) = chunks.fact {
        push_chunk(&mut rebuilt, b"fact", fact);
    }
    push_chunk(&mut rebuilt, b"data", data);
    let riff_len = u32::try_from(rebuilt.len() - 8).unwrap_or(u32::MAX);
    rebuilt[4..8].copy_from_slice(&riff_len.to_le_bytes());

    let mut decoded = container::decode(&rebuilt, Container::Wav, limits)?;
    decoded.format = FORMAT_NAME.to_owned();
    Ok(decoded)
}

fn push_chunk(file: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) {
    file.extend_from_slice(id);
    file.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
    file.extend_from_slice(body);
    if body.len() % 2 == 1 {
        file.push(0);
    }
}

/// Names a WAVE format tag for an error message (tag values from mmreg.h).
fn wave_codec_name(tag: u16) -> String {
    let name = match tag {
        0x0022 => "DSP Group TrueSpeech",
        0x0031 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0042 => "G.723.1 (WAVE_FORMAT_MSG723)",
        0x0050 => "MPEG audio",
        0x0055 => "MP3",
        0x0064 => "G.726 ADPCM",
        0x0065 => "G.722 ADPCM",
        0x0083 => "G.729A",
        0x00FF => "AAC",
        0x0160 | 0x0161 => "WMA",
        0x1610 => "HE-AAC",
        0x2000 => "AC-3 (WAVE_FORMAT_DVM)",
        _ => return format!("WAVE format tag 0x{tag:04X}"),
    };
    name.to_owned()
}

fn format_guid(guid: &[u8]) -> String {
    let data1 = u32::from_le_bytes([guid[0], guid[1], guid[2], guid[3]]);
    let data2 = read_u16(&guid[4..6]);
    let data3 = read_u16(&guid[6..8]);
    let tail: String = guid[8..].iter().map(|byte| format!("{byte:02X}")).collect();
    format!(
        "{{{data1:08X}-{data2:04X}-{data3:04X}-{}-{}}}",
        &tail[..4],
        &tail[4..]
    )
}

fn unsupported(codec: String) -> AudioError {
    AudioError::UnsupportedCodec { codec }
}

fn undecodable(reason: impl Into<String>) -> AudioError {
    AudioError::Undecodable {
        format: "WAV".to_owned(),
        reason: reason.into(),
    }
}

fn read_u16(bytes: &[u8]) -> u16 {
    u16::from_le_bytes([bytes[0], bytes[1]])
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut le = [0; 8];
    le.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(le)
}

fn read_f64(bytes: &[u8]) -> f64 {
    f64::from_bits(read_u64(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a WAVE_FORMAT_EXTENSIBLE fmt chunk for 24-bit stereo of the given sub-format.
    fn extensible_fmt(guid: [u8; 16]) -> Vec<u8> {
        let mut fmt = Vec::new();
        for field in [0xFFFEu16, 2] {
            fmt.extend_from_slice(&field.to_le_bytes());
        }
        fmt.extend_from_slice(&48_000u32.to_le_bytes());
        fmt.extend_from_slice(&288_000u32.to_le_bytes());
        for field in [6u16, 24, 22, 24] {
            fmt.extend_from_slice(&field.to_le_bytes());
        }
        fmt.extend_from_slice(&3u32.to_le_bytes());
        fmt.extend_from_slice(&guid);
        fmt
    }

    fn subtype_guid(tag: u16) -> [u8; 16] {
        let mut guid = [0; 16];
        guid[0..2].copy_from_slice(&tag.to_le_bytes());
        guid[2..].copy_from_slice(&SUBTYPE_GUID_SUFFIX);
        guid
    }

    #[test]
    fn extensible_sub_format_gives_the_tag() {
        let format = WaveFormat::parse(&extensible_fmt(subtype_guid(WAVE_FORMAT_PCM))).unwrap();

        assert_eq!(format.format_tag, WAVE_FORMAT_PCM);
        assert!(format.extensible);
        assert_eq!(
            format.encoding().unwrap(),
            Encoding::Pcm(PcmEncoding::Integer { bytes: 3 })
        );
    }

    #[test]
    fn unknown_extensible_sub_format_is_named() {
        let mut guid = subtype_guid(1);
        guid[15] = 0x72;

        let error = WaveFormat::parse(&extensible_fmt(guid)).unwrap_err();

        let codec = "WAVE_FORMAT_EXTENSIBLE sub-format {00000001-0000-0010-8000-00AA00389B72}";
        assert_eq!(
            error,
            AudioError::UnsupportedCodec {
                codec: codec.to_owned()
            }
        );
    }

    #[test]
    fn short_extensible_fmt_is_undecodable() {
        let fmt = &extensible_fmt(subtype_guid(1))[..24];

        let error = WaveFormat::parse(fmt).unwrap_err();

        assert!(
            matches!(error, AudioError::Undecodable { ref reason, .. } if reason.contains("at least 40")),
            "{error}"
        );
    }

    #[test]
    fn twelve_bit_pcm_takes_two_bytes() {
        let mut fmt = extensible_fmt([0; 16])[..16].to_vec();
        fmt[0..2].copy_from_slice(&WAVE_FORMAT_PCM.to_le_bytes());
        fmt[12..14].copy_from_slice(&4u16.to_le_bytes());
        fmt[14..16].copy_from_slice(&12u16.to_le_bytes());

        let format = WaveFormat::parse(&fmt).unwrap();

        assert_eq!(
            format.encoding().unwrap(),
            Encoding::Pcm(PcmEncoding::Integer { bytes: 2 })
        );
    }

    #[test]
    fn chunk_sizes_past_the_end_are_clipped() {
        let mut file = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0".to_vec();
        file.extend_from_slice(&[1, 0, 1, 0, 0x80, 0x3E, 0, 0, 0, 0x7D, 0, 0, 2, 0, 16, 0]);
        file.extend_from_slice(b"data\x00\x00\x00\x7F\x01\x02\x03");

        let chunks = RiffChunks::parse(&file).unwrap();

        assert_eq!(chunks.data, &[1, 2, 3]);
        assert_eq!(chunks.declared_data_len, Some(0x7F00_0000));
    }

    #[test]
    fn missing_chunks_are_named() {
        let no_fmt = b"RIFF\0\0\0\0WAVEdata\x02\0\0\0\x01\x02";
        let no_data = b"RIFF\0\0\0\0WAVEfmt \x02\0\0\0\x01\x02";

        let no_fmt_error = RiffChunks::parse(no_fmt).err().unwrap();
        let no_data_error = RiffChunks::parse(no_data).err().unwrap();

        assert_eq!(no_fmt_error, undecodable("the file has no fmt chunk"));
        assert_eq!(no_data_error, undecodable("the file has no data chunk"));
    }
}
