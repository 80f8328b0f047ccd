//! How `audio::decode` and `decode_raw` reject input: each case names the value found and
//! the limit it broke, and long input is rejected without decoding all of it.

mod audio_support;

use audio_support::*;
use voiceprint::audio::decode::{decode, decode_raw};
use voiceprint::audio::raw::{RawEncoding, RawPcm};
use voiceprint::audio::{AudioError, Limits};

#[test]
fn empty_input_is_empty() {
    let raw = RawPcm {
        encoding: RawEncoding::Linear16,
        sample_rate: 16_000,
        channels: 1,
    };

    assert_eq!(decode(&[], &Limits::default()), Err(AudioError::Empty));
    assert_eq!(
        decode_raw(&[], &raw, &Limits::default()),
        Err(AudioError::Empty)
    );
}

#[test]
fn wav_without_frames_is_empty() {
    let file = wav(1, 1, 16_000, 16, &[]);

    assert_eq!(decode(&file, &Limits::default()), Err(AudioError::Empty));
}

#[test]
fn size_is_checked_first() {
    let limits = Limits {
        max_bytes: 1_000,
        ..Limits::default()
    };

    let error = decode(&fixture("aishell_S0150W0001.wav"), &limits).unwrap_err();

    assert_eq!(
        error,
        AudioError::TooLarge {
            bytes: 77_772,
            limit: 1_000
        }
    );
}

#[test]
fn header_rates_of_1hz_and_4ghz_are_rejected() {
    for rate in [1, 4_000_000_000] {
        let file = wav(1, 1, rate, 16, &[0; 64]);

        let error = decode(&file, &Limits::default()).unwrap_err();

        assert_eq!(
            error,
            AudioError::SampleRateOutOfRange {
                rate: u64::from(rate),
                min: 8_000,
                max: 192_000
            }
        );
        let message = error.to_string();
        assert!(
            message.contains(&rate.to_string()) && message.contains("8000..=192000"),
            "{message}"
        );
    }
}

#[test]
fn too_many_channels_are_rejected() {
    let file = wav(1, 9, 16_000, 16, &[0; 18 * 4]);

    let error = decode(&file, &Limits::default()).unwrap_err();

    assert_eq!(
        error,
        AudioError::TooManyChannels {
            channels: 9,
            limit: 8
        }
    );
}

#[test]
fn zero_channels_are_undecodable() {
    let file = riff(&[
        (b"fmt ", &fmt_body(1, 0, 16_000, 0, 16)),
        (b"data", &[0; 8]),
    ]);

    let error = decode(&file, &Limits::default()).unwrap_err();

    assert!(
        matches!(error, AudioError::Undecodable { ref reason, .. } if reason.contains("0 channels")),
        "{error}"
    );
}

#[test]
fn wav_header_stating_30_minutes_is_too_long() {
    // 16 kHz 16-bit mono for 30 minutes would be 57.6 MB; the header alone says so.
    let mut file = wav(1, 1, 16_000, 16, &[0; 3_200]);
    let size_at = data_size_offset(&file);
    file[size_at..size_at + 4].copy_from_slice(&(1_800u32 * 16_000 * 2).to_le_bytes());

    let error = decode(&file, &Limits::default()).unwrap_err();

    assert_eq!(
        error,
        AudioError::TooLong {
            seconds: 1_800.0,
            limit: 300.0
        }
    );
}

#[test]
fn streamed_wav_of_30_minutes_is_too_long() {
    // 8 kHz 16-bit mono: 30 minutes are 28.8 MB, under the 32 MiB size limit.
    let mut file = wav(1, 1, 8_000, 16, &vec![0; 1_800 * 8_000 * 2]);
    let size_at = data_size_offset(&file);
    file[size_at..size_at + 4].copy_from_slice(&[0xFF; 4]);
    file[4..8].copy_from_slice(&[0xFF; 4]);

    let error = decode(&file, &Limits::default()).unwrap_err();

    assert_eq!(
        error,
        AudioError::TooLong {
            seconds: 1_800.0,
            limit: 300.0
        }
    );
}

#[test]
fn flac_stating_30_minutes_is_too_long() {
    let error = decode(&fixture("silence_30min.flac"), &Limits::default()).unwrap_err();

    assert_eq!(
        error,
        AudioError::TooLong {
            seconds: 1_800.0,
            limit: 300.0
        }
    );
}

#[test]
fn flac_without_length_stops_at_the_limit() {
    let file = fixture("silence_30min_streamed.flac");
    // STREAMINFO's 36-bit total sample count (bytes 21..26, low nibble first) is 0.
    assert_eq!(file[21] & 0x0F, 0);
    assert_eq!(&file[22..26], &[0; 4]);

    let error = decode(&file, &Limits::default()).unwrap_err();

    // Decoding stops within the first block (4608 samples at 8 kHz) past 300 s.
    let AudioError::TooLong { seconds, limit } = error else {
        panic!("expected TooLong, got {error:?}")
    };
    assert_eq!(limit, 300.0);
    assert!(
        seconds > 300.0 && seconds <= 300.0 + 4_608.0 / 8_000.0,
        "stopped at {seconds} s"
    );
}

#[test]
fn mp3_length_is_checked_while_decoding() {
    let limits = Limits {
        max_seconds: 1.0,
        ..Limits::default()
    };

    let error = decode(&fixture("aishell.mp3"), &limits).unwrap_err();

    // Decoding stops within one MPEG-2 layer III frame (576 samples) past the limit.
    let AudioError::TooLong { seconds, limit } = error else {
        panic!("expected TooLong, got {error:?}")
    };
    assert_eq!(limit, 1.0);
    assert!(
        seconds > 1.0 && seconds <= 1.0 + 576.0 / 16_000.0,
        "stopped at {seconds} s"
    );
}

#[test]
fn ogg_and_m4a_lengths_are_checked_from_headers() {
    let limits = Limits {
        max_seconds: 1.0,
        ..Limits::default()
    };

    for name in ["aishell.ogg", "aishell.m4a"] {
        let error = decode(&fixture(name), &limits).unwrap_err();

        let AudioError::TooLong { seconds, .. } = error else {
            panic!("{name}: expected TooLong, got {error:?}")
        };
        assert!(seconds > 2.4, "{name}: {seconds} s is not the whole length");
    }
}

#[test]
fn adts_length_is_checked_while_decoding() {
    let limits = Limits {
        max_seconds: 1.0,
        ..Limits::default()
    };

    let error = decode(&fixture("aishell.aac"), &limits).unwrap_err();

    let AudioError::TooLong { seconds, limit } = error else {
        panic!("expected TooLong, got {error:?}")
    };
    assert_eq!(limit, 1.0);
    assert!(
        seconds > 1.0 && seconds <= 1.0 + 1_024.0 / 16_000.0,
        "stopped at {seconds} s"
    );
}

#[test]
fn float_wav_with_nan_is_rejected() {
    let samples = [0.25f32, -0.5, f32::NAN, 0.0];
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();

    let error = decode(&wav(3, 1, 16_000, 32, &data), &Limits::default()).unwrap_err();

    assert_eq!(error, AudioError::NonFinite { index: 2 });
}

#[test]
fn float64_wav_with_infinity_is_rejected() {
    let samples = [0.25f64, f64::NEG_INFINITY];
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();

    let error = decode(&wav(3, 1, 16_000, 64, &data), &Limits::default()).unwrap_err();

    assert_eq!(error, AudioError::NonFinite { index: 1 });
}

#[test]
fn raw_float32_with_nan_is_rejected() {
    let data: Vec<u8> = [0.0f32, 0.0, 0.0, f32::NAN]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let raw = RawPcm {
        encoding: RawEncoding::Float32,
        sample_rate: 16_000,
        channels: 2,
    };

    assert_eq!(
        decode_raw(&data, &raw, &Limits::default()),
        Err(AudioError::NonFinite { index: 3 })
    );
}

#[test]
fn unsupported_wave_codec_is_named() {
    let gsm = wav(0x31, 1, 8_000, 0, &[0; 65]);

    let error = decode(&gsm, &Limits::default()).unwrap_err();

    assert_eq!(
        error,
        AudioError::UnsupportedCodec {
            codec: "GSM 6.10".to_owned()
        }
    );
}

#[test]
fn block_align_mismatch_is_undecodable() {
    let file = riff(&[
        (b"fmt ", &fmt_body(1, 2, 16_000, 3, 16)),
        (b"data", &[0; 12]),
    ]);

    let error = decode(&file, &Limits::default()).unwrap_err();

    assert!(
        matches!(error, AudioError::Undecodable { ref reason, .. } if reason.contains("block align 3")),
        "{error}"
    );
}

#[test]
fn error_codes_are_stable() {
    let cases = [
        (AudioError::Empty, "AUDIO_EMPTY"),
        (
            AudioError::TooLong {
                seconds: 1_800.0,
                limit: 300.0,
            },
            "AUDIO_TOO_LONG",
        ),
        (
            AudioError::SampleRateOutOfRange {
                rate: 1,
                min: 8_000,
                max: 192_000,
            },
            "AUDIO_SAMPLE_RATE",
        ),
        (
            AudioError::UnsupportedCodec {
                codec: "AMR-NB".to_owned(),
            },
            "AUDIO_UNSUPPORTED",
        ),
    ];

    for (error, code) in cases {
        assert_eq!(error.code(), code, "{error}");
    }
}
