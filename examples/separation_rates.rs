//! Measures the error rates behind the person-device separation defaults on public speech:
//! how often a genuine check-in is a NO_MATCH (the input of the streak arithmetic), how often
//! a genuine check-in scores higher against another enrolled subject than against its own
//! voiceprint (a false proxy alert), and how often an impostor check-in is caught as a proxy.
//! docs/separation.md reports its output.
//!
//!     cargo run --example separation_rates -- CORPUS_DIR...
//!
//! Each CORPUS_DIR has a MANIFEST.tsv (relative_path, speaker_id, ...). Every speaker of every
//! corpus is enrolled in one registry, as one office's subjects would be. A speaker's first
//! three files, in name order, make the voiceprint (the normalised mean of their embeddings,
//! as the service makes it) and each later file is one check-in. DSPSpeech-20 is recognised
//! by its file names (SPEAKER-WORD-TAKE.wav) and used as prompted check-ins: words 06 to 19
//! of both takes, joined in three clips, enrol; words 00 to 05 of each take, and words 00 to
//! 02 and 03 to 05 of each take, joined in order, are four check-ins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use voiceprint::audio::DecodedAudio;
use voiceprint::config::DEFAULT_THRESHOLD;
use voiceprint::embed::{cosine_similarity, mean_embedding, AudioSource, Embedder, EmbedderSettings};

const THRESHOLDS: [f32; 3] = [0.75, DEFAULT_THRESHOLD, 0.85];
const MARGINS: [f32; 4] = [0.0, 0.02, 0.05, 0.10];

/// One speaker's recordings: clips that enrol, and check-ins, each a list of files joined
/// in order.
struct Speaker {
    corpus: String,
    id: String,
    enroll: Vec<Vec<PathBuf>>,
    check_ins: Vec<Vec<PathBuf>>,
}

/// A speaker's voiceprint and the embeddings of its check-ins, in order.
struct Scored {
    corpus: String,
    id: String,
    voiceprint: Vec<f32>,
    check_ins: Vec<Vec<f32>>,
}

fn main() -> ExitCode {
    let corpora: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if corpora.is_empty() {
        eprintln!("usage: cargo run --example separation_rates -- CORPUS_DIR...");
        return ExitCode::from(2);
    }
    let embedder = match Embedder::load(&voiceprint::model::default_model_path(), EmbedderSettings::default()) {
        Ok(embedder) => embedder,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };

    let mut speakers = Vec::new();
    for corpus in &corpora {
        match read_speakers(corpus) {
            Ok(found) => speakers.extend(found),
            Err(error) => {
                eprintln!("error: {}: {error}", corpus.display());
                return ExitCode::FAILURE;
            }
        }
    }

    let mut scored = Vec::new();
    for (index, speaker) in speakers.iter().enumerate() {
        eprintln!("[{}/{}] {} {}", index + 1, speakers.len(), speaker.corpus, speaker.id);
        match score_speaker(&embedder, speaker) {
            Ok(one) => scored.push(one),
            Err(error) => eprintln!("skipping {} {}: {error}", speaker.corpus, speaker.id),
        }
    }

    report(&scored);
    ExitCode::SUCCESS
}

fn read_speakers(corpus: &Path) -> Result<Vec<Speaker>, String> {
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).map_err(|error| error.to_string())?;
    let mut files: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for line in manifest.lines().skip(1) {
        let mut fields = line.split('\t');
        let (Some(path), Some(speaker)) = (fields.next(), fields.next()) else {
            continue;
        };
        files.entry(speaker.to_owned()).or_default().push(corpus.join(path));
    }

    let name = corpus.file_name().map_or_else(|| corpus.display().to_string(), |name| name.to_string_lossy().into_owned());
    let speakers = files
        .into_iter()
        .filter_map(|(id, mut paths)| {
            paths.sort();
            let prompted = paths.iter().all(|path| word_and_take(path).is_some());
            let (enroll, check_ins) = if prompted { prompted_sessions(&paths) } else { read_sessions(paths) };
            (!enroll.is_empty() && !check_ins.is_empty()).then(|| Speaker { corpus: name.clone(), id, enroll, check_ins })
        })
        .collect();
    Ok(speakers)
}

/// Splits a speaker's files: the first three enrol, the rest are check-ins.
fn read_sessions(paths: Vec<PathBuf>) -> (Vec<Vec<PathBuf>>, Vec<Vec<PathBuf>>) {
    let mut clips: Vec<Vec<PathBuf>> = paths.into_iter().map(|path| vec![path]).collect();
    if clips.len() < 4 {
        return (Vec::new(), Vec::new());
    }
    let check_ins = clips.split_off(3);
    (clips, check_ins)
}

/// Reads DSPSpeech-20's "SPEAKER-WORD-TAKE.wav", with two-digit word and take numbers,
/// into (word, take).
fn word_and_take(path: &Path) -> Option<(u32, u32)> {
    let stem = path.file_stem()?.to_str()?;
    let mut parts = stem.rsplitn(3, '-');
    let (take, word) = (parts.next()?, parts.next()?);
    if take.len() != 2 || word.len() != 2 {
        return None;
    }
    Some((word.parse().ok()?, take.parse().ok()?))
}

fn prompted_sessions(paths: &[PathBuf]) -> (Vec<Vec<PathBuf>>, Vec<Vec<PathBuf>>) {
    let select = |words: std::ops::RangeInclusive<u32>, takes: &[u32]| -> Vec<PathBuf> {
        let mut chosen = Vec::new();
        for &take in takes {
            for path in paths {
                if word_and_take(path).is_some_and(|(word, t)| t == take && words.contains(&word)) {
                    chosen.push(path.clone());
                }
            }
        }
        chosen
    };

    let enroll = vec![select(6..=10, &[1, 2]), select(11..=15, &[1, 2]), select(16..=19, &[1, 2])];
    let mut check_ins = Vec::new();
    for take in [1, 2] {
        check_ins.push(select(0..=5, &[take]));
        check_ins.push(select(0..=2, &[take]));
        check_ins.push(select(3..=5, &[take]));
    }
    (enroll, check_ins)
}

fn score_speaker(embedder: &Embedder, speaker: &Speaker) -> Result<Scored, String> {
    let enrolment: Vec<Vec<f32>> = speaker.enroll.iter().map(|files| embed_joined(embedder, files)).collect::<Result<_, _>>()?;
    let check_ins = speaker.check_ins.iter().filter_map(|files| embed_joined(embedder, files).ok()).collect();
    Ok(Scored {
        corpus: speaker.corpus.clone(),
        id: speaker.id.clone(),
        voiceprint: mean_embedding(&enrolment),
        check_ins,
    })
}

/// Decodes the files, joins their samples (all files of one speaker share a rate), and embeds
/// the result.
fn embed_joined(embedder: &Embedder, files: &[PathBuf]) -> Result<Vec<f32>, String> {
    let mut joined: Option<DecodedAudio> = None;
    for file in files {
        let bytes = std::fs::read(file).map_err(|error| format!("{}: {error}", file.display()))?;
        let decoded = embedder.decode(AudioSource::Container(&bytes)).map_err(|error| format!("{}: {error}", file.display()))?;
        match &mut joined {
            None => joined = Some(decoded),
            Some(all) if all.sample_rate == decoded.sample_rate => all.samples.extend(decoded.samples),
            Some(_) => return Err(format!("{}: another sample rate than the files before it", file.display())),
        }
    }
    let joined = joined.ok_or("no files")?;
    embedder.embed_decoded(&joined).map(|embedding| embedding.vector).map_err(|error| error.to_string())
}

/// Counts of one rate.
#[derive(Default, Clone, Copy)]
struct Rate {
    hits: usize,
    total: usize,
}

impl Rate {
    fn add(&mut self, hit: bool) {
        self.hits += usize::from(hit);
        self.total += 1;
    }

    fn percent(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * self.hits as f64 / self.total as f64
        }
    }
}

fn report(scored: &[Scored]) {
    let corpora: Vec<String> = {
        let mut names: Vec<String> = scored.iter().map(|s| s.corpus.clone()).collect();
        names.dedup();
        names
    };
    println!("registry: {} enrolled speakers; thresholds {THRESHOLDS:?}, proxy margins {MARGINS:?}", scored.len());

    for corpus in corpora.iter().map(Some).chain([None]) {
        let members: Vec<&Scored> = scored.iter().filter(|s| corpus.is_none_or(|c| *c == s.corpus)).collect();
        let label = corpus.map_or("all", |c| c.as_str());
        let check_ins: usize = members.iter().map(|s| s.check_ins.len()).sum();
        println!("\n== {label}: {} speakers, {check_ins} genuine check-ins", members.len());
        for threshold in THRESHOLDS {
            report_threshold(scored, &members, threshold);
        }
    }
}

fn report_threshold(registry: &[Scored], members: &[&Scored], threshold: f32) {
    let mut false_reject = Rate::default();
    let mut streak_of_three = Rate::default();
    let mut false_proxy = [Rate::default(); MARGINS.len()];
    let mut caught_proxy = [Rate::default(); MARGINS.len()];

    for speaker in members {
        let mut rejected = Vec::new();
        for check_in in &speaker.check_ins {
            let own = cosine_similarity(check_in, &speaker.voiceprint);
            rejected.push(own < threshold);
            false_reject.add(own < threshold);

            let others: Vec<(&str, f32)> = registry
                .iter()
                .filter(|other| other.id != speaker.id || other.corpus != speaker.corpus)
                .map(|other| (other.id.as_str(), cosine_similarity(check_in, &other.voiceprint)))
                .collect();
            let best_other = others.iter().map(|(_, score)| *score).fold(f32::NEG_INFINITY, f32::max);
            for (index, margin) in MARGINS.iter().enumerate() {
                false_proxy[index].add(best_other >= threshold && best_other > own + margin);
            }

            // The same recording claimed as every other subject: the speaker is enrolled, so a
            // proxy alert is right whenever it fires.
            for (claimed, claimed_score) in &others {
                let best_rival = others
                    .iter()
                    .filter(|(id, _)| id != claimed)
                    .map(|(_, score)| *score)
                    .fold(own, f32::max);
                for (index, margin) in MARGINS.iter().enumerate() {
                    caught_proxy[index].add(best_rival >= threshold && best_rival > claimed_score + margin);
                }
            }
        }
        for window in rejected.windows(3) {
            streak_of_three.add(window.iter().all(|&no_match| no_match));
        }
    }

    let p = false_reject.percent() / 100.0;
    println!(
        "threshold {threshold:.2}: genuine NO_MATCH {:.2}% ({}/{}); three in a row observed {:.3}% ({}/{}), p^3 = {:.5}%",
        false_reject.percent(),
        false_reject.hits,
        false_reject.total,
        streak_of_three.percent(),
        streak_of_three.hits,
        streak_of_three.total,
        100.0 * p.powi(3),
    );
    for (index, margin) in MARGINS.iter().enumerate() {
        println!(
            "  margin {margin:.2}: false proxy on genuine check-ins {:.2}% ({}/{}); impostor claims caught as proxy {:.2}% ({}/{})",
            false_proxy[index].percent(),
            false_proxy[index].hits,
            false_proxy[index].total,
            caught_proxy[index].percent(),
            caught_proxy[index].hits,
            caught_proxy[index].total,
        );
    }
}
