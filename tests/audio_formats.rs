//! `audio::decode` on real speech in the formats phones, browsers and recorders produce.
//! Every fixture is the same AISHELL-1 clip (see fixtures/README.md), so each decode is
//! compared with the 16-bit WAV as hound alone reads it.

mod audio_support;

use audio_support::*;
use voiceprint::audio::decode::decode;
use voiceprint::audio::{AudioError, DecodedAudio, Limits};

/// One step of 16-bit quantisation.
const LSB_16: f32 = 1.0 / 32_768.0;

fn decode_fixture(name: &str) -> DecodedAudio {
    decode(&fixture(name), &Limits::default()).unwrap_or_else(|error| panic!("{name}: {error}"))
}

#[test]
fn wav_16bit_matches_hound() {
    let decoded = decode_fixture("aishell_S0150W0001.wav");

    assert_eq!(decoded.samples, reference_speech());
    assert_eq!(decoded.sample_rate, 16_000);
    assert_eq!(decoded.source_channels, 1);
    assert_eq!(decoded.format, "wav");
}

#[test]
fn extensible_24bit_and_float_match_16bit() {
    let reference = reference_speech();

    for name in [
        "aishell_extensible_s24.wav",
        "aishell_extensible_f32.wav",
        "aishell_extensible_f64_2s.wav",
    ] {
        let file = fixture(name);
        assert_eq!(
            &file[20..22],
            &0xFFFEu16.to_le_bytes(),
            "{name} is not WAVE_FORMAT_EXTENSIBLE"
        );

        let decoded = decode(&file, &Limits::default()).unwrap();

        let expected = &reference[..decoded.samples.len()];
        assert!(
            decoded.samples.len() >= 32_000,
            "{name}: {} samples",
            decoded.samples.len()
        );
        assert!(
            max_abs_difference(&decoded.samples, expected) <= LSB_16 / 2.0,
            "{name}"
        );
        assert_eq!(decoded.format, "wav");
    }
}

#[test]
fn streamed_wav_reads_to_end() {
    let file = fixture("aishell_streamed.wav");
    let size_at = data_size_offset(&file);
    assert_eq!(
        &file[size_at..size_at + 4],
        &[0xFF; 4],
        "the fixture's data size is not open"
    );

    let decoded = decode(&file, &Limits::default()).unwrap();

    assert_eq!(decoded.samples, reference_speech());
}

#[test]
fn data_size_zero_is_read_to_end() {
    let mut file = fixture("aishell_streamed.wav");
    let size_at = data_size_offset(&file);
    file[size_at..size_at + 4].copy_from_slice(&[0; 4]);
    file[4..8].copy_from_slice(&[0; 4]);

    let decoded = decode(&file, &Limits::default()).unwrap();

    assert_eq!(decoded.samples, reference_speech());
}

#[test]
fn fmt_chunk_with_cb_size_2_is_accepted() {
    let mut fmt = fmt_body(1, 1, 16_000, 2, 16);
    fmt.extend_from_slice(&2u16.to_le_bytes());
    fmt.extend_from_slice(&[0xAB, 0xCD]);
    let data = le_bytes_i16(&reference_pcm());
    let file = riff(&[(b"fmt ", &fmt), (b"data", &data)]);

    let decoded = decode(&file, &Limits::default()).unwrap();

    assert_eq!(decoded.samples, reference_speech());
}

#[test]
fn odd_chunks_before_data_are_skipped() {
    let data = le_bytes_i16(&reference_pcm()[..1_000]);
    let file = riff(&[
        (b"LIST", b"INFOISFT\x03\0\0\0ab\0".as_slice()),
        (b"fmt ", &fmt_body(1, 1, 16_000, 2, 16)),
        (b"junk", &[1, 2, 3]),
        (b"data", &data),
    ]);

    let decoded = decode(&file, &Limits::default()).unwrap();

    assert_eq!(decoded.samples, reference_speech()[..1_000]);
}

#[test]
fn truncated_mid_sample_keeps_whole_samples() {
    let mut file = fixture("aishell_S0150W0001.wav");
    let data_start = data_size_offset(&file) + 4;
    file.truncate(data_start + 2 * 1_000 + 1);

    let decoded = decode(&file, &Limits::default()).unwrap();

    assert_eq!(decoded.samples, reference_speech()[..1_000]);
}

#[test]
fn stereo_channels_are_averaged() {
    let left = reference_pcm();
    let right: Vec<i16> = left.iter().rev().map(|s| s / 2).collect();
    let interleaved: Vec<i16> = left
        .iter()
        .zip(&right)
        .flat_map(|(l, r)| [*l, *r])
        .collect();
    let file = wav(1, 2, 16_000, 16, &le_bytes_i16(&interleaved));

    let decoded = decode(&file, &Limits::default()).unwrap();

    let expected: Vec<f32> = left
        .iter()
        .zip(&right)
        .map(|(l, r)| (f32::from(*l) + f32::from(*r)) / 2.0 / 32_768.0)
        .collect();
    assert_eq!(decoded.samples, expected);
    assert_eq!(decoded.source_channels, 2);
}

#[test]
fn six_channels_are_averaged() {
    let frame: [i16; 6] = [6_000, -6_000, 3_000, 0, 12_000, -3_000];
    let data = le_bytes_i16(&frame.repeat(100));

    let decoded = decode(&wav(1, 6, 48_000, 16, &data), &Limits::default()).unwrap();

    assert_eq!(decoded.samples, vec![2_000.0 / 32_768.0; 100]);
    assert_eq!(decoded.source_channels, 6);
}

#[test]
fn integer_widths_scale_alike() {
    let pcm = reference_pcm();
    let unsigned_8: Vec<u8> = pcm.iter().map(|s| ((s >> 8) + 128) as u8).collect();
    let signed_32: Vec<u8> = pcm
        .iter()
        .flat_map(|s| (i32::from(*s) << 16).to_le_bytes())
        .collect();

    let from_8 = decode(&wav(1, 1, 16_000, 8, &unsigned_8), &Limits::default()).unwrap();
    let from_32 = decode(&wav(1, 1, 16_000, 32, &signed_32), &Limits::default()).unwrap();

    assert_eq!(from_32.samples, reference_speech());
    assert!(max_abs_difference(&from_8.samples, &reference_speech()) <= 256.0 * LSB_16);
}

#[test]
fn g711_wav_uses_g711_tables() {
    // 0xFF is µ-law zero and 0x80 its largest positive code; 0xD5 is A-law's +8.
    let mulaw = decode(
        &wav(7, 1, 8_000, 8, &[0xFF, 0x80, 0x00]),
        &Limits::default(),
    )
    .unwrap();
    let alaw = decode(&wav(6, 1, 8_000, 8, &[0xD5, 0x55]), &Limits::default()).unwrap();

    assert_eq!(
        mulaw.samples,
        vec![0.0, 32_124.0 * LSB_16, -32_124.0 * LSB_16]
    );
    assert_eq!(alaw.samples, vec![8.0 * LSB_16, -8.0 * LSB_16]);
}

#[test]
fn rf64_with_ds64_size_is_read() {
    let data = le_bytes_i16(&reference_pcm()[..500]);
    let mut ds64 = Vec::new();
    ds64.extend_from_slice(&0u64.to_le_bytes());
    ds64.extend_from_slice(&(data.len() as u64).to_le_bytes());
    ds64.extend_from_slice(&500u64.to_le_bytes());
    ds64.extend_from_slice(&0u32.to_le_bytes());
    let mut file = riff(&[
        (b"ds64", &ds64),
        (b"fmt ", &fmt_body(1, 1, 16_000, 2, 16)),
        (b"data", &data),
        (b"LIST", b"trailing chunk"),
    ]);
    file[0..8].copy_from_slice(b"RF64\xFF\xFF\xFF\xFF");
    let size_at = data_size_offset(&file);
    file[size_at..size_at + 4].copy_from_slice(&[0xFF; 4]);

    let decoded = decode(&file, &Limits::default()).unwrap();

    assert_eq!(decoded.samples, reference_speech()[..500]);
}

#[test]
fn flac_is_lossless() {
    let decoded = decode_fixture("aishell.flac");

    assert_eq!(decoded.samples, reference_speech());
    assert_eq!(decoded.sample_rate, 16_000);
    assert_eq!(decoded.format, "flac");
}

#[test]
fn lossy_codecs_match_the_wav() {
    let reference = reference_speech();

    for (name, format) in [
        ("aishell.mp3", "mp3"),
        ("aishell.m4a", "aac"),
        ("aishell.aac", "aac"),
        ("aishell.ogg", "vorbis"),
    ] {
        let decoded = decode_fixture(name);

        let (correlation, lag) = best_correlation(&decoded.samples, &reference, 1_100);
        assert!(
            correlation > 0.9,
            "{name}: correlation {correlation:.3} at lag {lag}"
        );
        let length_ratio = decoded.samples.len() as f64 / reference.len() as f64;
        assert!(
            (0.95..1.1).contains(&length_ratio),
            "{name}: {} samples",
            decoded.samples.len()
        );
        let rms_ratio = rms(&decoded.samples) / rms(&reference);
        assert!(
            (0.8..1.25).contains(&rms_ratio),
            "{name}: RMS ratio {rms_ratio:.3}"
        );
        assert_eq!(decoded.sample_rate, 16_000, "{name}");
        assert_eq!(decoded.format, format, "{name}");
    }
}

#[test]
fn amr_is_an_unsupported_codec() {
    for name in ["aishell.amr", "aishell_amr.3gp"] {
        let error = decode(&fixture(name), &Limits::default()).unwrap_err();

        assert_eq!(
            error,
            AudioError::UnsupportedCodec {
                codec: "AMR-NB".to_owned()
            },
            "{name}"
        );
    }
}

#[test]
fn ogg_opus_is_an_unsupported_codec() {
    let error = decode(&fixture("aishell.opus"), &Limits::default()).unwrap_err();

    assert_eq!(
        error,
        AudioError::UnsupportedCodec {
            codec: "opus".to_owned()
        }
    );
}

#[test]
fn text_and_images_are_unsupported_formats() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    let text = "签到录音 check-in recording\n".as_bytes();

    let png_error = decode(png, &Limits::default()).unwrap_err();
    let text_error = decode(text, &Limits::default()).unwrap_err();

    assert_eq!(
        png_error,
        AudioError::UnsupportedFormat {
            found: "PNG image".to_owned()
        }
    );
    assert_eq!(
        text_error,
        AudioError::UnsupportedFormat {
            found: "text".to_owned()
        }
    );
}

#[test]
fn m4a_edit_list_removes_priming() {
    let reference = reference_speech();

    let decoded = decode_fixture("aishell.m4a");

    let (correlation, lag) = best_correlation(&decoded.samples, &reference, 256);
    assert_eq!(lag, 0, "correlation {correlation:.3}");
    assert_eq!(decoded.samples.len(), reference.len());
}

#[test]
fn truncated_flac_keeps_prefix() {
    let file = fixture("aishell.flac");
    let reference = reference_speech();

    let decoded = decode(&file[..file.len() * 7 / 10], &Limits::default()).unwrap();

    let len = decoded.samples.len();
    assert!(
        len > reference.len() / 3 && len < reference.len(),
        "{len} samples"
    );
    assert_eq!(decoded.samples, reference[..len]);
}

#[test]
fn truncated_lossy_files_keep_prefix() {
    let reference = reference_speech();

    for name in ["aishell.mp3", "aishell.m4a", "aishell.aac"] {
        let file = fixture(name);

        let decoded = decode(&file[..file.len() * 7 / 10], &Limits::default())
            .unwrap_or_else(|error| panic!("{name}: {error}"));

        let len = decoded.samples.len();
        assert!(
            len > reference.len() / 3 && len < reference.len(),
            "{name}: {len} samples"
        );
        let (correlation, _) = best_correlation(&decoded.samples, &reference[..len], 1_100);
        assert!(correlation > 0.9, "{name}: correlation {correlation:.3}");
    }
}

#[test]
fn g711_wav_from_ffmpeg_matches_8khz_pcm() {
    let reader = hound::WavReader::open(fixture_path("resample/aishell_8000.wav")).unwrap();
    let pcm_8k: Vec<f32> = reader
        .into_samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32_768.0)
        .collect();

    for name in ["aishell_8k_mulaw.wav", "aishell_8k_alaw.wav"] {
        let decoded = decode_fixture(name);

        assert_eq!(decoded.samples.len(), pcm_8k.len(), "{name}");
        let (correlation, lag) = best_correlation(&decoded.samples, &pcm_8k, 0);
        assert!(
            correlation > 0.999,
            "{name}: correlation {correlation:.4} at lag {lag}"
        );
        assert_eq!(decoded.sample_rate, 8_000);
        assert_eq!(decoded.format, "wav");
    }
}

#[test]
fn adpcm_wav_is_decoded_by_symphonia() {
    let reference = reference_speech();

    for name in ["aishell_adpcm_ms.wav", "aishell_adpcm_ima.wav"] {
        let decoded = decode_fixture(name);

        let (correlation, lag) = best_correlation(&decoded.samples, &reference, 64);
        assert!(
            correlation > 0.95,
            "{name}: correlation {correlation:.3} at lag {lag}"
        );
        // ffmpeg pads the last ADPCM block (about 2040 frames) and counts the padding in
        // its fact chunk, so the decoded length may exceed the clip by up to one block.
        let extra = decoded.samples.len().checked_sub(reference.len());
        assert!(
            extra.is_some_and(|extra| extra < 2_048),
            "{name}: {} samples",
            decoded.samples.len()
        );
        assert_eq!(decoded.format, "wav");
    }
}
