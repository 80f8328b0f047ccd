//! No input makes `audio::decode` or `decode_raw` panic: random bytes, random headers and
//! random damage to real files all return, and whatever decodes keeps the output contract.

mod audio_support;

use audio_support::*;
use proptest::prelude::*;
use voiceprint::audio::decode::{decode, decode_raw};
use voiceprint::audio::raw::{RawEncoding, RawPcm};
use voiceprint::audio::{AudioError, DecodedAudio, Limits};

/// Real files whose damaged versions are decoded. WAV and FLAC appear most often.
const FIXTURES: [&str; 12] = [
    "aishell_S0150W0001.wav",
    "aishell_extensible_s24.wav",
    "aishell_adpcm_ima.wav",
    "aishell_8k_mulaw.wav",
    "aishell.flac",
    "aishell.flac",
    "aishell.mp3",
    "aishell.m4a",
    "aishell.aac",
    "aishell.ogg",
    "aishell.opus",
    "aishell_amr.3gp",
];

/// Checks what any successful decode promises.
fn check_output(result: &Result<DecodedAudio, AudioError>, limits: &Limits) {
    let Ok(decoded) = result else { return };
    assert!(!decoded.samples.is_empty());
    assert!(
        decoded.samples.iter().all(|s| (-1.0..=1.0).contains(s)),
        "sample outside [-1, 1]"
    );
    assert!((limits.min_sample_rate..=limits.max_sample_rate).contains(&decoded.sample_rate));
    assert!((1..=limits.max_channels).contains(&decoded.source_channels));
    assert!(decoded.duration_seconds() <= limits.max_seconds);
}

/// Damage to a file: bytes overwritten at random places, then an optional cut.
#[derive(Debug, Clone)]
struct Damage {
    fixture: usize,
    overwrites: Vec<(usize, u8)>,
    keep_fraction: Option<f64>,
}

fn damage() -> impl Strategy<Value = Damage> {
    (
        0..FIXTURES.len(),
        prop::collection::vec((any::<usize>(), any::<u8>()), 1..24),
        prop::option::of(0.0f64..1.0),
    )
        .prop_map(|(fixture, overwrites, keep_fraction)| Damage {
            fixture,
            overwrites,
            keep_fraction,
        })
}

fn apply(damage: &Damage, original: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    // Half of the writes land in the first 256 bytes, where the headers are.
    for (i, (position, value)) in damage.overwrites.iter().enumerate() {
        let range = if i % 2 == 0 {
            bytes.len().min(256)
        } else {
            bytes.len()
        };
        bytes[position % range] = *value;
    }
    if let Some(fraction) = damage.keep_fraction {
        bytes.truncate((bytes.len() as f64 * fraction) as usize);
    }
    bytes
}

/// Magic numbers that steer random bytes into each parser.
const PREFIXES: [&[u8]; 11] = [
    b"",
    b"RIFF\xFF\xFF\xFF\xFFWAVEfmt ",
    b"RF64\xFF\xFF\xFF\xFFWAVEds64",
    b"fLaC\0\0\0\x22",
    b"OggS\0\x02",
    b"\0\0\0\x20ftypM4A ",
    b"\0\0\0\x18ftyp3gp4",
    b"ID3\x04\0\0\0\0\0\x10",
    b"\xFF\xFB\x90\x64",
    b"\xFF\xF1\x50\x80",
    b"#!AMR\n",
];

/// A WAV header with arbitrary fmt fields, optionally WAVE_FORMAT_EXTENSIBLE.
#[derive(Debug, Clone)]
struct RandomHeader {
    tag: u16,
    channels: u16,
    rate: u32,
    block_align: u16,
    bits: u16,
    extension: Option<(u16, [u8; 16])>,
    data_size: u32,
    data: Vec<u8>,
}

fn random_header() -> impl Strategy<Value = RandomHeader> {
    let tag = prop_oneof![
        Just(1u16),
        Just(2),
        Just(3),
        Just(6),
        Just(7),
        Just(0x11),
        Just(0xFFFE),
        any::<u16>()
    ];
    let channels = prop_oneof![0u16..10, any::<u16>()];
    let rate = prop_oneof![Just(16_000u32), 0u32..200_000, any::<u32>()];
    let bits = prop_oneof![
        Just(8u16),
        Just(16),
        Just(24),
        Just(32),
        Just(64),
        any::<u16>()
    ];
    let data_size = prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>()];
    let extension = prop::option::of((any::<u16>(), any::<[u8; 16]>()));
    (
        tag,
        channels,
        rate,
        any::<u16>(),
        bits,
        extension,
        data_size,
        prop::collection::vec(any::<u8>(), 0..2_048),
    )
        .prop_map(
            |(tag, channels, rate, block_align, bits, extension, data_size, data)| RandomHeader {
                tag,
                channels,
                rate,
                block_align,
                bits,
                extension,
                data_size,
                data,
            },
        )
}

fn header_file(header: &RandomHeader) -> Vec<u8> {
    let mut fmt = fmt_body(
        header.tag,
        header.channels,
        header.rate,
        header.block_align,
        header.bits,
    );
    if let Some((cb_size, guid)) = header.extension {
        fmt.extend_from_slice(&cb_size.to_le_bytes());
        fmt.extend_from_slice(&header.bits.to_le_bytes());
        fmt.extend_from_slice(&3u32.to_le_bytes());
        fmt.extend_from_slice(&guid);
    }
    let mut file = riff(&[(b"fmt ", &fmt), (b"data", &header.data)]);
    let size_at = data_size_offset(&file);
    file[size_at..size_at + 4].copy_from_slice(&header.data_size.to_le_bytes());
    file
}

fn raw_encoding() -> impl Strategy<Value = RawEncoding> {
    prop_oneof![
        Just(RawEncoding::Linear16),
        Just(RawEncoding::Float32),
        Just(RawEncoding::Mulaw),
        Just(RawEncoding::Alaw),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_return(prefix in 0..PREFIXES.len(), tail in prop::collection::vec(any::<u8>(), 0..4_096)) {
        let bytes = [PREFIXES[prefix], &tail].concat();
        let limits = Limits::default();

        check_output(&decode(&bytes, &limits), &limits);
    }

    #[test]
    fn damaged_files_return(damage in damage()) {
        let original = fixture(FIXTURES[damage.fixture]);
        let bytes = apply(&damage, &original);
        let limits = Limits::default();

        check_output(&decode(&bytes, &limits), &limits);
    }

    #[test]
    fn random_wav_headers_return(header in random_header()) {
        let limits = Limits::default();

        check_output(&decode(&header_file(&header), &limits), &limits);
    }

    #[test]
    fn random_raw_pcm_returns(
        encoding in raw_encoding(),
        sample_rate in any::<u32>(),
        channels in any::<u16>(),
        bytes in prop::collection::vec(any::<u8>(), 0..4_096),
    ) {
        let limits = Limits::default();
        let format = RawPcm { encoding, sample_rate, channels };

        check_output(&decode_raw(&bytes, &format, &limits), &limits);
    }
}
