//! Measurement of the replay fingerprint on real speech; the numbers in
//! `docs/replay-detection.md` come from here.
//!
//! The corpora are not part of the repository, so the test is ignored by default. Run it with
//!
//! ```text
//! tools/make_fingerprint_fixtures.sh --corpus DATA/dspspeech20-zh CODECS/dspspeech20-zh
//! tools/make_fingerprint_fixtures.sh --corpus DATA/aishell1-sample CODECS/aishell1-sample
//! VOICEPRINT_SPEECH_DATA=DATA VOICEPRINT_CODEC_COPIES=CODECS \
//!     cargo test --lib separation::evaluation -- --ignored --nocapture
//! ```
//!
//! where DATA contains `dspspeech20-zh/` and `aishell1-sample/`, each with its `MANIFEST.tsv`.
//! Without VOICEPRINT_CODEC_COPIES the codec rows are skipped. VOICEPRINT_FINGERPRINT_SWEEP=1
//! measures the parameter variants of [`sweep_variants`] in place of the full report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::fingerprint::matching::match_with;
use super::fingerprint::{Fingerprint, Params, ReplayThreshold};
use super::simulate::{add_white_noise, change_level, read_wav_16k, resample, reverberate};

/// One step of a simulated replay chain.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Replace the signal by its copy through a codec setting of the fixture script.
    Codec(&'static str),
    Level(f32),
    /// Resample to this rate and back to 16 kHz.
    RoundTrip(u32),
    Noise(f64),
    /// Convolve with a synthetic room: RT60 in seconds, direct-to-reverberant ratio in dB.
    Room(f64, f64),
    /// Play back slower by this fraction, pitch and tempo together, as a tape would: the
    /// signal is resampled to a higher rate and read as 16 kHz.
    Slower(f64),
}

struct Transformation {
    name: &'static str,
    steps: &'static [Step],
    /// Whether the detector is meant to survive this transformation; the others are
    /// measured to show where it stops.
    within_target: bool,
}

const fn within(name: &'static str, steps: &'static [Step]) -> Transformation {
    Transformation { name, steps, within_target: true }
}

const fn beyond(name: &'static str, steps: &'static [Step]) -> Transformation {
    Transformation { name, steps, within_target: false }
}

const TRANSFORMATIONS: &[Transformation] = &[
    within("identical copy", &[]),
    within("level -20 dB", &[Step::Level(-20.0)]),
    within("level +20 dB", &[Step::Level(20.0)]),
    within("8 kHz and back", &[Step::RoundTrip(8_000)]),
    within("44.1 kHz and back", &[Step::RoundTrip(44_100)]),
    within("white noise 20 dB SNR", &[Step::Noise(20.0)]),
    within("MP3 32 kb/s", &[Step::Codec("mp3_32k")]),
    within("MP3 64 kb/s", &[Step::Codec("mp3_64k")]),
    within("AAC 32 kb/s", &[Step::Codec("aac_32k")]),
    within("AAC 64 kb/s", &[Step::Codec("aac_64k")]),
    within("AAC 32 kb/s at 8 kHz", &[Step::Codec("aac_32k_8khz")]),
    within("MP3 32 kb/s at 44.1 kHz", &[Step::Codec("mp3_32k_44khz")]),
    within("8 kHz, -20 dB, noise 20 dB", &[Step::RoundTrip(8_000), Step::Level(-20.0), Step::Noise(20.0)]),
    within("MP3 32 kb/s, +20 dB, noise 20 dB", &[Step::Codec("mp3_32k"), Step::Level(20.0), Step::Noise(20.0)]),
    within("AAC 32 kb/s at 8 kHz, noise 20 dB", &[Step::Codec("aac_32k_8khz"), Step::Noise(20.0)]),
    beyond("white noise 10 dB SNR", &[Step::Noise(10.0)]),
    beyond("room RT60 0.3 s, DRR 5 dB", &[Step::Room(0.3, 5.0)]),
    beyond("played 1% slower", &[Step::Slower(0.01)]),
    beyond("played 3% slower", &[Step::Slower(0.03)]),
];

/// A clip of a corpus with the labels that define its negatives.
struct Clip {
    relative_path: String,
    speaker: String,
    /// What was said: the word of a DSPSpeech-20 file, the utterance of an AISHELL-1 file.
    content: String,
    samples: Vec<f32>,
}

struct Corpus {
    name: &'static str,
    root: PathBuf,
    clips: Vec<Clip>,
}

fn load_corpus(name: &'static str, root: PathBuf, content_of: fn(&str) -> String) -> Corpus {
    let manifest = std::fs::read_to_string(root.join("MANIFEST.tsv")).expect("corpus has MANIFEST.tsv");
    let rows: Vec<(String, String)> = manifest
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            (fields[0].to_string(), fields[1].to_string())
        })
        .collect();

    let clips = rows
        .into_par_iter()
        .map(|(relative_path, speaker)| {
            let samples = read_wav_16k(&root.join(&relative_path));
            let content = content_of(&relative_path);
            Clip { relative_path, speaker, content, samples }
        })
        .collect();
    Corpus { name, root, clips }
}

/// `speech_data/S/S-WW-RR.wav`: speaker S said word WW in round RR.
fn dspspeech_word(relative_path: &str) -> String {
    let stem = Path::new(relative_path).file_stem().unwrap().to_str().unwrap();
    stem.split('-').nth(1).unwrap().to_string()
}

fn aishell_utterance(relative_path: &str) -> String {
    Path::new(relative_path).file_stem().unwrap().to_str().unwrap().to_string()
}

fn apply(clip: &Clip, transformation: &Transformation, codec_dir: Option<&Path>, seed: u64) -> Option<Vec<f32>> {
    let mut samples = clip.samples.clone();
    for (index, step) in transformation.steps.iter().enumerate() {
        let step_seed = seed.wrapping_mul(31).wrapping_add(index as u64);
        samples = match *step {
            Step::Codec(setting) => read_wav_16k(&codec_dir?.join(setting).join(&clip.relative_path)),
            Step::Level(db) => change_level(&samples, db),
            Step::RoundTrip(rate) => resample(&resample(&samples, 16_000, rate), rate, 16_000),
            Step::Noise(snr_db) => add_white_noise(&samples, snr_db, step_seed),
            Step::Room(rt60, ratio_db) => reverberate(&samples, rt60, ratio_db, step_seed),
            Step::Slower(fraction) => resample(&samples, 16_000, (16_000.0 * (1.0 + fraction)).round() as u32),
        };
    }
    Some(samples)
}

/// The two numbers of a match that the decision reads.
#[derive(Clone, Copy)]
struct Outcome {
    score: f64,
    matched_hashes: usize,
}

impl Outcome {
    fn is_replay(&self, threshold: &ReplayThreshold) -> bool {
        self.score >= threshold.min_score && self.matched_hashes >= threshold.min_matched_hashes
    }
}

/// Outcomes of one kind of pair, sorted by score.
struct Scores {
    outcomes: Vec<Outcome>,
}

impl Scores {
    fn new(mut outcomes: Vec<Outcome>) -> Scores {
        outcomes.sort_by(|a, b| a.score.total_cmp(&b.score));
        Scores { outcomes }
    }

    fn len(&self) -> usize {
        self.outcomes.len()
    }

    fn percentile(&self, fraction: f64) -> f64 {
        if self.outcomes.is_empty() {
            return f64::NAN;
        }
        let rank = ((self.outcomes.len() - 1) as f64 * fraction).round() as usize;
        self.outcomes[rank].score
    }

    fn replays(&self, threshold: &ReplayThreshold) -> usize {
        self.outcomes.iter().filter(|outcome| outcome.is_replay(threshold)).count()
    }

    fn rate(&self, threshold: &ReplayThreshold) -> f64 {
        self.replays(threshold) as f64 / self.outcomes.len().max(1) as f64
    }

    fn summary(&self, threshold: &ReplayThreshold) -> String {
        format!(
            "{:>6} | {:>6.2}% ({}) | {:.3} {:.3} {:.3} {:.3} {:.3}",
            self.len(),
            100.0 * self.rate(threshold),
            self.replays(threshold),
            self.percentile(0.0),
            self.percentile(0.01),
            self.percentile(0.5),
            self.percentile(0.99),
            self.percentile(1.0),
        )
    }
}

fn outcome(a: &Fingerprint, b: &Fingerprint, params: &Params) -> Outcome {
    let found = match_with(a, b, params);
    Outcome { score: found.score, matched_hashes: found.matched_hashes }
}

/// Negative pairs: different clips, split by what they share.
struct Negatives {
    same_speaker_same_content: Scores,
    same_content_other_speaker: Scores,
    different_content: Scores,
}

impl Negatives {
    fn all(&self) -> impl Iterator<Item = &Outcome> {
        self.same_speaker_same_content
            .outcomes
            .iter()
            .chain(&self.same_content_other_speaker.outcomes)
            .chain(&self.different_content.outcomes)
    }
}

fn negative_scores(corpus: &Corpus, prints: &[Fingerprint], params: &Params) -> Negatives {
    let clips = &corpus.clips;
    let pairs: Vec<(usize, usize)> = (0..clips.len()).flat_map(|i| (i + 1..clips.len()).map(move |j| (i, j))).collect();
    let results: Vec<(u8, Outcome)> = pairs
        .par_iter()
        .map(|&(i, j)| {
            let same_speaker = clips[i].speaker == clips[j].speaker;
            let same_content = clips[i].content == clips[j].content;
            let kind = match (same_speaker, same_content) {
                (true, true) => 0,
                (false, true) => 1,
                _ => 2,
            };
            (kind, outcome(&prints[i], &prints[j], params))
        })
        .collect();

    let of_kind = |kind: u8| Scores::new(results.iter().filter(|(k, _)| *k == kind).map(|(_, o)| *o).collect());
    Negatives {
        same_speaker_same_content: of_kind(0),
        same_content_other_speaker: of_kind(1),
        different_content: of_kind(2),
    }
}

/// Outcomes of the replays of every clip through one transformation.
struct Replays {
    /// Each replay against its original.
    against_original: Scores,
    /// Each replay against the other takes of the same words by the same speaker: fresh
    /// recordings, which must not match.
    against_fresh_takes: Scores,
    /// The three lowest replay scores with their clips.
    lowest: Vec<(f64, String)>,
}

fn replay_scores(
    corpus: &Corpus,
    prints: &[Fingerprint],
    transformation: &Transformation,
    codec_dir: Option<&Path>,
    params: &Params,
) -> Option<Replays> {
    let clips = &corpus.clips;
    let per_clip: Option<Vec<(Outcome, Vec<Outcome>)>> = (0..clips.len())
        .into_par_iter()
        .map(|i| {
            let replayed = apply(&clips[i], transformation, codec_dir, i as u64)?;
            let replay_print = Fingerprint::compute_with(&replayed, params);
            let against_original = outcome(&replay_print, &prints[i], params);
            let against_fresh = (0..clips.len())
                .filter(|&j| j != i && clips[j].speaker == clips[i].speaker && clips[j].content == clips[i].content)
                .map(|j| outcome(&replay_print, &prints[j], params))
                .collect();
            Some((against_original, against_fresh))
        })
        .collect();
    let per_clip = per_clip?;

    let mut lowest: Vec<(f64, String)> =
        per_clip.iter().zip(clips).map(|((original, _), clip)| (original.score, clip.relative_path.clone())).collect();
    lowest.sort_by(|a, b| a.0.total_cmp(&b.0));
    lowest.truncate(3);

    Some(Replays {
        against_original: Scores::new(per_clip.iter().map(|(original, _)| *original).collect()),
        against_fresh_takes: Scores::new(per_clip.into_iter().flat_map(|(_, fresh)| fresh).collect()),
        lowest,
    })
}

fn fingerprints(corpus: &Corpus, params: &Params) -> Vec<Fingerprint> {
    corpus.clips.par_iter().map(|clip| Fingerprint::compute_with(&clip.samples, params)).collect()
}

fn size_summary(corpus: &Corpus, prints: &[Fingerprint]) -> String {
    let seconds: f64 = corpus.clips.iter().map(|clip| clip.samples.len() as f64 / 16_000.0).sum();
    let bytes: usize = prints.iter().map(|print| print.to_bytes().len()).sum();
    let peaks: usize = prints.iter().map(Fingerprint::peak_count).sum();
    let hashes: usize = prints.iter().map(Fingerprint::hash_count).sum();
    let empty = prints.iter().filter(|print| print.is_empty()).count();
    format!(
        "{} clips, {:.0} s: {:.1} peaks/s, {:.1} hashes/s, {:.1} bytes/s serialised, {} empty fingerprints",
        prints.len(),
        seconds,
        peaks as f64 / seconds,
        hashes as f64 / seconds,
        bytes as f64 / seconds,
        empty
    )
}

struct Setup {
    corpora: Vec<Corpus>,
    codec_root: Option<PathBuf>,
}

fn setup() -> Setup {
    let data = PathBuf::from(std::env::var("VOICEPRINT_SPEECH_DATA").expect("set VOICEPRINT_SPEECH_DATA"));
    let codec_root = std::env::var("VOICEPRINT_CODEC_COPIES").ok().map(PathBuf::from);
    let corpora = vec![
        load_corpus("dspspeech20-zh", data.join("dspspeech20-zh"), dspspeech_word),
        load_corpus("aishell1-sample", data.join("aishell1-sample"), aishell_utterance),
    ];
    Setup { corpora, codec_root }
}

fn report(setup: &Setup, params: &Params, threshold: &ReplayThreshold) {
    println!("threshold: score >= {} and >= {} matched hashes", threshold.min_score, threshold.min_matched_hashes);
    println!("columns: pairs | declared replays | score min, 1%, median, 99%, max");
    for corpus in &setup.corpora {
        let prints = fingerprints(corpus, params);
        let codec_dir = setup.codec_root.as_ref().map(|root| root.join(corpus.name));
        println!("\n## {} ({})", corpus.name, corpus.root.display());
        println!("{}", size_summary(corpus, &prints));

        let negatives = negative_scores(corpus, &prints, params);
        println!(
            "negatives: same speaker, same content, new take | {}",
            negatives.same_speaker_same_content.summary(threshold)
        );
        println!(
            "negatives: same content, other speaker          | {}",
            negatives.same_content_other_speaker.summary(threshold)
        );
        println!(
            "negatives: different content                    | {}",
            negatives.different_content.summary(threshold)
        );
        print_highest_fresh_takes(corpus, &prints, params);

        let mut replay_outcomes = ReplayOutcomes::default();
        for transformation in TRANSFORMATIONS {
            let Some(replays) = replay_scores(corpus, &prints, transformation, codec_dir.as_deref(), params) else {
                println!("replay: {:<50} | skipped, no codec copies", transformation.name);
                continue;
            };
            println!("replay: {:<50} | {}", transformation.name, replays.against_original.summary(threshold));
            println!(
                "  fresh takes against this replay                        | {}",
                replays.against_fresh_takes.summary(threshold)
            );
            let lowest: Vec<String> = replays.lowest.iter().map(|(score, path)| format!("{score:.3} {path}")).collect();
            println!("  lowest: {}", lowest.join(", "));
            replay_outcomes.add(transformation, replays);
        }
        print_threshold_table(&negatives, &replay_outcomes);
        print_matching_speed(&prints, params);
    }
}

fn print_highest_fresh_takes(corpus: &Corpus, prints: &[Fingerprint], params: &Params) {
    let clips = &corpus.clips;
    let mut pairs: Vec<(Outcome, usize, usize)> = (0..clips.len())
        .flat_map(|i| (i + 1..clips.len()).map(move |j| (i, j)))
        .filter(|&(i, j)| clips[i].speaker == clips[j].speaker && clips[i].content == clips[j].content)
        .map(|(i, j)| (outcome(&prints[i], &prints[j], params), i, j))
        .collect();
    pairs.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
    for (found, i, j) in pairs.iter().take(3) {
        println!(
            "  highest new-take pair: {:.3} ({} hashes) {} {}",
            found.score, found.matched_hashes, clips[*i].relative_path, clips[*j].relative_path
        );
    }
}

/// Replay outcomes pooled over the transformations, split by whether the detector is meant
/// to survive them.
#[derive(Default)]
struct ReplayOutcomes {
    target: Vec<Outcome>,
    fresh_against_target: Vec<Outcome>,
    fresh_against_beyond: Vec<Outcome>,
}

impl ReplayOutcomes {
    fn add(&mut self, transformation: &Transformation, replays: Replays) {
        if transformation.within_target {
            self.target.extend(replays.against_original.outcomes);
            self.fresh_against_target.extend(replays.against_fresh_takes.outcomes);
        } else {
            self.fresh_against_beyond.extend(replays.against_fresh_takes.outcomes);
        }
    }
}

/// Prints, for a grid of thresholds, the false alarms among the clean negative pairs and
/// among the fresh takes scored against replays, and the detections among the replays within
/// the target.
fn print_threshold_table(negatives: &Negatives, replays: &ReplayOutcomes) {
    println!(
        "threshold table: min score, min matched hashes | false alarms: {} clean pairs, {} fresh takes against target replays, {} against replays beyond the target | detections of {} target replays",
        negatives.all().count(),
        replays.fresh_against_target.len(),
        replays.fresh_against_beyond.len(),
        replays.target.len()
    );
    for min_score in [0.05, 0.08, 0.10, 0.15, 0.20] {
        for min_matched_hashes in [5, 8, 10, 12, 15] {
            let threshold = ReplayThreshold { min_score, min_matched_hashes };
            let count = |outcomes: &[Outcome]| outcomes.iter().filter(|o| o.is_replay(&threshold)).count();
            let clean_false_alarms = negatives.all().filter(|o| o.is_replay(&threshold)).count();
            let detections = count(&replays.target);
            println!(
                "  {min_score:.2}, {min_matched_hashes:>2} | {clean_false_alarms}, {}, {} | {detections} ({:.2}%)",
                count(&replays.fresh_against_target),
                count(&replays.fresh_against_beyond),
                100.0 * detections as f64 / replays.target.len().max(1) as f64
            );
        }
    }
}

/// Times one query against a history of fingerprints, the service's use. Printed, never
/// asserted: the number depends on the machine.
fn print_matching_speed(prints: &[Fingerprint], params: &Params) {
    let history: Vec<&Fingerprint> = prints.iter().cycle().take(300).collect();
    let started = std::time::Instant::now();
    let mut checked = 0usize;
    for query in prints.iter().take(50) {
        for reference in &history {
            checked += match_with(query, reference, params).matched_hashes;
        }
    }
    let per_history = started.elapsed().as_secs_f64() / 50.0;
    println!("matching speed: one query against 300 fingerprints in {:.2} ms (checksum {checked})", per_history * 1e3);

    let blobs: Vec<Vec<u8>> = history.iter().map(|print| print.to_bytes()).collect();
    let started = std::time::Instant::now();
    let decoded: usize =
        blobs.iter().map(|blob| Fingerprint::from_bytes(blob).expect("own output decodes").hash_count()).sum();
    println!(
        "decoding speed: 300 fingerprints from bytes in {:.2} ms (checksum {decoded})",
        started.elapsed().as_secs_f64() * 1e3
    );
}

/// Parameter variants compared by the sweep, each named by what it changes.
fn sweep_variants() -> Vec<(String, Params)> {
    let base = Params::DEFAULT;
    let mut variants = vec![("default".to_string(), base)];
    let mut add = |name: &str, params: Params| variants.push((name.to_string(), params));
    add("hop 160", Params { hop: 160, max_dt: 50, ..base });
    add("radius 2x3", Params { peak_radius_frames: 2, peak_radius_bins: 3, ..base });
    add("radius 4x6", Params { peak_radius_frames: 4, peak_radius_bins: 6, ..base });
    add("dynamic range 40 dB", Params { dynamic_range_db: 40.0, ..base });
    add("prominence 10 dB", Params { min_prominence_db: 10.0, ..base });
    add("prominence 25 dB", Params { min_prominence_db: 25.0, ..base });
    add("floor at the median", Params { floor_percentile: 0.5, ..base });
    add("20 peaks per half second", Params { max_peaks_per_half_second: 20, ..base });
    add("60 peaks per half second", Params { max_peaks_per_half_second: 60, ..base });
    add("fan-out 6", Params { fan_out: 6, ..base });
    add("max dt 40", Params { max_dt: 40, ..base });
    add("max df 15", Params { max_df: 15, ..base });
    add("offset tolerance 0", Params { offset_tolerance: 0, ..base });
    variants
}

fn sweep(setup: &Setup) {
    let corpus = &setup.corpora[0];
    let codec_dir = setup.codec_root.as_ref().map(|root| root.join(corpus.name));
    let hardest: Vec<&Transformation> = TRANSFORMATIONS
        .iter()
        .filter(|t| {
            [
                "MP3 32 kb/s, +20 dB, noise 20 dB",
                "8 kHz, -20 dB, noise 20 dB",
                "AAC 32 kb/s at 8 kHz, noise 20 dB",
                "white noise 20 dB SNR",
            ]
            .contains(&t.name)
        })
        .collect();
    let threshold = ReplayThreshold::DEFAULT;

    println!("variant | bytes/s | hashes/s | fresh-take max, 99% | other pairs max | false alarms | replay 1% and 5% score, detected at the default threshold");
    for (name, params) in sweep_variants() {
        let prints = fingerprints(corpus, &params);
        let negatives = negative_scores(corpus, &prints, &params);
        let fresh = &negatives.same_speaker_same_content;
        let other_max =
            negatives.same_content_other_speaker.percentile(1.0).max(negatives.different_content.percentile(1.0));

        let mut columns = BTreeMap::new();
        for transformation in &hardest {
            if let Some(replays) = replay_scores(corpus, &prints, transformation, codec_dir.as_deref(), &params) {
                let replays = replays.against_original;
                columns.insert(
                    transformation.name,
                    (replays.percentile(0.01), replays.percentile(0.05), replays.rate(&threshold)),
                );
            }
        }
        let seconds: f64 = corpus.clips.iter().map(|clip| clip.samples.len() as f64 / 16_000.0).sum();
        let bytes: usize = prints.iter().map(|print| print.to_bytes().len()).sum();
        let hashes: usize = prints.iter().map(Fingerprint::hash_count).sum();
        let cells: Vec<String> = columns
            .iter()
            .map(|(name, (p1, p5, rate))| format!("{name}: {p1:.3}/{p5:.3}/{:.1}%", 100.0 * rate))
            .collect();
        println!(
            "{name} | {:.0} | {:.0} | {:.3}, {:.3} | {:.3} | {}+{}+{} | {}",
            bytes as f64 / seconds,
            hashes as f64 / seconds,
            fresh.percentile(1.0),
            fresh.percentile(0.99),
            other_max,
            fresh.replays(&threshold),
            negatives.same_content_other_speaker.replays(&threshold),
            negatives.different_content.replays(&threshold),
            cells.join(" | ")
        );
    }
}

#[test]
#[ignore = "needs the speech corpora; see the module documentation"]
fn replay_detection_on_real_speech() {
    let setup = setup();
    if std::env::var("VOICEPRINT_FINGERPRINT_SWEEP").is_ok_and(|value| value == "1") {
        sweep(&setup);
        return;
    }
    report(&setup, &Params::DEFAULT, &ReplayThreshold::DEFAULT);
}
