//! The replay detector on committed clips: replays through each transformation match their
//! original, and new recordings of the same words, unrelated speech, silence and corrupt
//! bytes do not.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::fingerprint::{best_match, match_score, Fingerprint, FingerprintError, ReplayThreshold, FORMAT_VERSION};
use super::simulate::{add_white_noise, change_level, read_wav_16k, resample};

/// A sentence of AISHELL-1 (2.4 s) and a single word of DSPSpeech-20 (2 s, about 0.5 s of it
/// speech). The word is the harder case: it has half the sentence's hashes, and noise at
/// 20 dB SNR leaves less than a tenth of them, against two thirds for the sentence.
const SENTENCE: &str = "golden/aishell_S0150W0001.wav";
const WORD: &str = "fingerprint/dspspeech_16307130307-18-01.wav";
/// A second recording of the same word by the same speaker. In the evaluation this was the
/// one new take that a replay at 10 dB SNR was taken for.
const WORD_NEW_TAKE: &str = "fingerprint/dspspeech_16307130307-18-02.wav";
/// The new-take pair with the highest score among the clean recordings of DSPSpeech-20.
const HARDEST_PAIR: [&str; 2] =
    ["fingerprint/dspspeech_16307110258-05-01.wav", "fingerprint/dspspeech_16307110258-05-02.wav"];
const UNRELATED: &[&str] = &["golden/vctk_p225_003.wav", "golden/dspspeech_15307110189-00-01.wav"];

fn fixture_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(relative)
}

fn clip(relative: &str) -> Vec<f32> {
    read_wav_16k(&fixture_path(relative))
}

fn fingerprint(relative: &str) -> Fingerprint {
    Fingerprint::compute(&clip(relative))
}

fn assert_replay(original: &Fingerprint, replayed: &[f32], case: &str) {
    let found = match_score(&Fingerprint::compute(replayed), original);
    assert!(found.is_replay(&ReplayThreshold::DEFAULT), "{case}: not recognised as a replay: {found:?}");
}

fn assert_not_replay(a: &Fingerprint, b: &Fingerprint, case: &str) {
    let found = match_score(a, b);
    assert!(!found.is_replay(&ReplayThreshold::DEFAULT), "{case}: taken for a replay: {found:?}");
}

/// Simulated transformations of `samples`, each with its name.
fn simulated_replays(samples: &[f32]) -> Vec<(&'static str, Vec<f32>)> {
    let via_8k = resample(&resample(samples, 16_000, 8_000), 8_000, 16_000);
    vec![
        ("level -20 dB", change_level(samples, -20.0)),
        ("level +20 dB", change_level(samples, 20.0)),
        ("8 kHz and back", via_8k.clone()),
        ("44.1 kHz and back", resample(&resample(samples, 16_000, 44_100), 44_100, 16_000)),
        ("white noise 20 dB SNR", add_white_noise(samples, 20.0, 1)),
        ("8 kHz, -20 dB, noise 20 dB", add_white_noise(&change_level(&via_8k, -20.0), 20.0, 2)),
    ]
}

#[test]
fn simulated_replays_of_sentence_match() {
    let samples = clip(SENTENCE);
    let original = Fingerprint::compute(&samples);
    for (case, replayed) in simulated_replays(&samples) {
        assert_replay(&original, &replayed, case);
    }
}

#[test]
fn simulated_replays_of_word_match() {
    let samples = clip(WORD);
    let original = Fingerprint::compute(&samples);
    for (case, replayed) in simulated_replays(&samples) {
        assert_replay(&original, &replayed, case);
    }
}

/// The codec copies were made by `tools/make_fingerprint_fixtures.sh` and decoded by ffmpeg.
#[test]
fn codec_replays_match() {
    for source in [SENTENCE, WORD] {
        let name = Path::new(source).file_stem().unwrap().to_str().unwrap();
        let original = fingerprint(source);
        for setting in ["mp3_32k.mp3", "aac_32k.m4a", "aac_32k_8khz.m4a"] {
            let decoded = clip(&format!("fingerprint/{name}.{setting}.wav"));
            assert_replay(&original, &decoded, setting);
            assert_replay(
                &original,
                &add_white_noise(&change_level(&decoded, 20.0), 20.0, 3),
                &format!("{setting}, +20 dB, noise 20 dB"),
            );
        }
    }
}

#[test]
fn new_take_of_same_word_does_not_match() {
    let take_one = fingerprint(WORD);
    let take_two = fingerprint(WORD_NEW_TAKE);
    assert_not_replay(&take_one, &take_two, "new take");

    let hardest = HARDEST_PAIR.map(fingerprint);
    assert_not_replay(&hardest[0], &hardest[1], "hardest new-take pair");
}

#[test]
fn replayed_take_does_not_match_new_take() {
    let take_two = fingerprint(WORD_NEW_TAKE);
    for (case, replayed) in simulated_replays(&clip(WORD)) {
        assert_not_replay(&Fingerprint::compute(&replayed), &take_two, case);
    }
}

#[test]
fn unrelated_speech_does_not_match() {
    let mut clips: Vec<&str> = vec![SENTENCE, WORD, WORD_NEW_TAKE];
    clips.extend_from_slice(UNRELATED);
    let prints: Vec<Fingerprint> = clips.iter().map(|relative| fingerprint(relative)).collect();

    for (i, a) in prints.iter().enumerate() {
        for (j, b) in prints.iter().enumerate().skip(i + 1) {
            if [clips[i], clips[j]] == [WORD, WORD_NEW_TAKE] {
                continue;
            }
            assert_not_replay(a, b, &format!("{} against {}", clips[i], clips[j]));
        }
    }
}

#[test]
fn part_of_recording_matches_at_its_offset() {
    let samples = clip(SENTENCE);
    let original = Fingerprint::compute(&samples);
    let cut = 8_000;
    let part = add_white_noise(&samples[cut..], 20.0, 4);

    let found = match_score(&Fingerprint::compute(&part), &original);
    assert!(found.is_replay(&ReplayThreshold::DEFAULT), "{found:?}");
    assert!((found.offset_seconds - 0.5).abs() <= 0.008, "offset {} s, expected 0.5 s", found.offset_seconds);
}

#[test]
fn score_is_symmetric() {
    let samples = clip(SENTENCE);
    let original = Fingerprint::compute(&samples);
    let replay = Fingerprint::compute(&add_white_noise(&samples[4_000..], 20.0, 5));

    let forward = match_score(&replay, &original);
    let backward = match_score(&original, &replay);
    assert_eq!(forward.score, backward.score);
    assert_eq!(forward.matched_hashes, backward.matched_hashes);
    assert_eq!(forward.offset_seconds, -backward.offset_seconds);
}

#[test]
fn best_match_finds_replayed_clip_in_history() {
    let mut history: Vec<Fingerprint> = UNRELATED.iter().map(|relative| fingerprint(relative)).collect();
    history.push(fingerprint(WORD_NEW_TAKE));
    history.push(fingerprint(SENTENCE));
    history.push(fingerprint(WORD));
    let replay = Fingerprint::compute(&add_white_noise(&clip(SENTENCE), 20.0, 6));

    let found = best_match(&replay, &history).expect("history is not empty");
    assert_eq!(found.index, 3);
    assert!(found.best.is_replay(&ReplayThreshold::DEFAULT), "{found:?}");
    assert!(best_match(&replay, &[]).is_none());
}

#[test]
fn level_change_by_power_of_two_keeps_fingerprint() {
    // Multiplying by a power of two is exact in floating point, so every peak must survive.
    let samples = clip(SENTENCE);
    let original = Fingerprint::compute(&samples);
    for gain in [0.125f32, 8.0] {
        let scaled: Vec<f32> = samples.iter().map(|&x| x * gain).collect();
        assert_eq!(Fingerprint::compute(&scaled), original, "gain {gain}");
    }
}

#[test]
fn short_and_silent_audio_give_empty_fingerprint() {
    let real = fingerprint(SENTENCE);
    let cases: Vec<(&str, Vec<f32>)> = vec![
        ("no samples", Vec::new()),
        ("one sample", vec![0.5]),
        ("one window less one sample", clip(SENTENCE)[..511].to_vec()),
        ("two seconds of digital silence", vec![0.0; 32_000]),
        ("not-a-number samples", vec![f32::NAN; 16_000]),
    ];

    for (case, samples) in cases {
        let empty = Fingerprint::compute(&samples);
        assert!(empty.is_empty(), "{case}: {} hashes", empty.hash_count());
        assert_eq!(match_score(&empty, &empty).score, 0.0, "{case}");
        assert_eq!(match_score(&empty, &real).score, 0.0, "{case}");
        assert_eq!(match_score(&real, &empty).matched_hashes, 0, "{case}");
        assert_eq!(Fingerprint::from_bytes(&empty.to_bytes()).as_ref(), Ok(&empty), "{case}");
    }
}

#[test]
fn serialisation_round_trips() {
    for relative in [SENTENCE, WORD, WORD_NEW_TAKE] {
        let print = fingerprint(relative);
        let bytes = print.to_bytes();
        let decoded = Fingerprint::from_bytes(&bytes).expect("own output decodes");
        assert_eq!(decoded, print, "{relative}");
        assert_eq!(decoded.to_bytes(), bytes, "{relative}");
    }
}

#[test]
fn serialised_size_is_small() {
    let samples = clip(SENTENCE);
    let bytes = Fingerprint::compute(&samples).to_bytes();
    let seconds = samples.len() as f64 / 16_000.0;
    assert!(bytes.len() as f64 / seconds < 200.0, "{} bytes for {seconds} s", bytes.len());
}

/// Builds an encoding from a header and peaks given as (frame step, bin) byte pairs.
fn encoded(frames: u32, peaks: &[(u8, u8)]) -> Vec<u8> {
    let mut bytes = b"VPFP".to_vec();
    bytes.push(FORMAT_VERSION);
    bytes.extend_from_slice(&frames.to_le_bytes());
    bytes.extend_from_slice(&(peaks.len() as u32).to_le_bytes());
    for &(step, bin) in peaks {
        bytes.extend_from_slice(&[step, bin]);
    }
    bytes
}

#[test]
fn corrupt_bytes_give_typed_errors() {
    let valid = encoded(100, &[(3, 10), (0, 20), (5, 7)]);
    assert!(Fingerprint::from_bytes(&valid).is_ok());

    let mut bad_magic = valid.clone();
    bad_magic[0] = b'X';
    let mut newer = valid.clone();
    newer[4] = FORMAT_VERSION + 1;
    let mut extra = valid.clone();
    extra.push(0);
    let mut many_peaks = valid.clone();
    many_peaks[9..13].copy_from_slice(&u32::MAX.to_le_bytes());

    let cases: Vec<(&str, Vec<u8>, FingerprintError)> = vec![
        ("empty", Vec::new(), FingerprintError::TruncatedHeader { found: 0, expected: 13 }),
        ("bad magic", bad_magic, FingerprintError::BadMagic { found: *b"XPFP", expected: *b"VPFP" }),
        (
            "newer version",
            newer,
            FingerprintError::UnsupportedVersion { found: FORMAT_VERSION + 1, supported: FORMAT_VERSION },
        ),
        ("trailing byte", extra, FingerprintError::TrailingBytes { found: 1 }),
        (
            "peak count over the limit",
            many_peaks,
            FingerprintError::TooManyPeaks { found: u32::MAX, limit: super::fingerprint::MAX_PEAKS },
        ),
        (
            "peak count over the bytes",
            encoded(100, &[(1, 1)])[..14].to_vec(),
            FingerprintError::TooFewBytesForPeaks { declared: 1, available: 1, min_per_peak: 2 },
        ),
        (
            "frame count over the limit",
            encoded(u32::MAX, &[]),
            FingerprintError::TooManyFrames { found: u32::MAX, limit: super::fingerprint::MAX_FRAMES },
        ),
        ("frame step without its bin", encoded(200, &[(0x81, 0x01)]), FingerprintError::MissingBin { index: 0 }),
        (
            "frame step not in shortest form",
            encoded(100, &[(0x81, 0x00), (2, 3)]),
            FingerprintError::InvalidFrameStep { index: 0 },
        ),
        (
            "frame past the end",
            encoded(5, &[(5, 1)]),
            FingerprintError::FrameOutOfRange { index: 0, frame: 5, frames: 5 },
        ),
        (
            "bin outside the band",
            encoded(100, &[(1, 200)]),
            FingerprintError::BinOutOfRange { index: 0, bin: 200, limit: 102 },
        ),
        ("same peak twice", encoded(100, &[(1, 4), (0, 4)]), FingerprintError::PeaksOutOfOrder { index: 1 }),
        (
            "bins falling within a frame",
            encoded(100, &[(1, 4), (0, 3)]),
            FingerprintError::PeaksOutOfOrder { index: 1 },
        ),
        ("unterminated frame step", encoded(100, &[(0x80, 0x80)]), FingerprintError::InvalidFrameStep { index: 0 }),
    ];

    for (case, bytes, expected) in cases {
        assert_eq!(Fingerprint::from_bytes(&bytes), Err(expected), "{case}");
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Fingerprint::from_bytes(&bytes);
    }

    #[test]
    fn arbitrary_peaks_never_panic(frames in 0u32..2_000, peaks in proptest::collection::vec(any::<(u8, u8)>(), 0..256)) {
        let bytes = encoded(frames, &peaks);
        if let Ok(print) = Fingerprint::from_bytes(&bytes) {
            prop_assert_eq!(print.to_bytes(), bytes);
        }
    }

    #[test]
    fn corrupted_fingerprint_never_panics(position in any::<prop::sample::Index>(), value in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let bytes = fingerprint_bytes_of_word();
        let mut corrupted = bytes.clone();
        corrupted[position.index(bytes.len())] = value;
        if let Ok(print) = Fingerprint::from_bytes(&corrupted) {
            prop_assert_eq!(print.to_bytes(), corrupted.clone());
        }
        let _ = Fingerprint::from_bytes(&corrupted[..cut.index(corrupted.len())]);
    }
}

fn fingerprint_bytes_of_word() -> Vec<u8> {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| fingerprint(WORD).to_bytes()).clone()
}
