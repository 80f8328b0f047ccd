//! Mean time per file from FLAC bytes to embedding on one thread, over every `.flac` file
//! under a folder: the Rust side of tools/bench_resemblyzer.py, measured the same way.
//!
//! ```text
//! cargo bench --bench per_file -- FOLDER [--rounds N]
//! ```
//!
//! The files are read into memory first. After a warm-up pass over five files, every file is
//! embedded N times (3 by default) in turn, and each file's time is its median. The report
//! gives the mean over files, split into preprocessing (decode, resample, level, silence
//! trimming) and embedding (mel, partial windows, encoder). Everything runs on the calling
//! thread. For bf16 and int8 it also gives the lowest cosine similarity of a file's embedding
//! with its fp32 embedding. Without a folder it prints how to run it and exits.

mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use voiceprint::embed::{cosine_similarity, AudioSource, Embedder, Embedding};
use voiceprint::model::Precision;

const WARM_UP_FILES: usize = 5;

struct Options {
    folder: PathBuf,
    rounds: usize,
}

/// Reads the folder and `--rounds N`, skipping the `--bench` flag that cargo adds.
fn options() -> Option<Options> {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let mut folder = None;
    let mut rounds = 3;
    while let Some(arg) = args.next() {
        if arg == "--rounds" {
            rounds =
                args.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0).expect("--rounds takes a positive integer");
        } else if !arg.starts_with("--") {
            folder = Some(PathBuf::from(arg));
        }
    }
    folder.map(|folder| Options { folder, rounds })
}

fn flac_files(folder: &Path, files: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(folder).unwrap_or_else(|error| panic!("cannot read {}: {error}", folder.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            flac_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "flac") {
            files.push(path);
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Mean over files of the median times, and each file's embedding.
struct Measurement {
    preprocess_ms: f64,
    embed_ms: f64,
    embeddings: Vec<Embedding>,
}

fn measure(embedder: &Embedder, files: &[Vec<u8>], rounds: usize) -> Measurement {
    for bytes in files.iter().take(WARM_UP_FILES) {
        embedder.embed(AudioSource::Container(bytes)).unwrap();
    }

    let mut preprocess = vec![Vec::with_capacity(rounds); files.len()];
    let mut embed = vec![Vec::with_capacity(rounds); files.len()];
    let mut embeddings = Vec::with_capacity(files.len());
    for round in 0..rounds {
        for (index, bytes) in files.iter().enumerate() {
            let start = Instant::now();
            let preprocessed = embedder.preprocess(AudioSource::Container(bytes)).unwrap();
            let preprocessed_at = Instant::now();
            let embedding = std::hint::black_box(embedder.embed_preprocessed(preprocessed).unwrap());
            let end = Instant::now();

            if round == 0 {
                embeddings.push(embedding);
            }
            preprocess[index].push((preprocessed_at - start).as_secs_f64() * 1e3);
            embed[index].push((end - preprocessed_at).as_secs_f64() * 1e3);
        }
    }

    let mean = |times: &mut [Vec<f64>]| times.iter_mut().map(|t| median(t)).sum::<f64>() / files.len() as f64;
    Measurement { preprocess_ms: mean(&mut preprocess), embed_ms: mean(&mut embed), embeddings }
}

/// Returns the lowest cosine similarity between matching embeddings of two runs.
fn lowest_similarity(embeddings: &[Embedding], reference: &[Embedding]) -> f32 {
    embeddings
        .iter()
        .zip(reference)
        .map(|(embedding, reference)| cosine_similarity(&embedding.vector, &reference.vector))
        .fold(f32::INFINITY, f32::min)
}

fn main() {
    let Some(options) = options() else {
        println!("per_file: no folder given; run `cargo bench --bench per_file -- FOLDER [--rounds N]`");
        return;
    };

    let mut paths = Vec::new();
    flac_files(&options.folder, &mut paths);
    paths.sort();
    assert!(!paths.is_empty(), "no .flac files under {}", options.folder.display());
    let files: Vec<Vec<u8>> = paths.iter().map(|path| std::fs::read(path).unwrap()).collect();

    println!("{} files under {}, {} rounds, one thread", files.len(), options.folder.display(), options.rounds);
    println!(
        "{:<10} {:>14} {:>12} {:>12} {:>22}",
        "precision", "preprocess_ms", "embed_ms", "total_ms", "lowest_cosine_to_fp32"
    );
    let mut fp32_embeddings = Vec::new();
    for precision in support::precisions() {
        let embedder = support::embedder(precision);
        let measurement = measure(&embedder, &files, options.rounds);
        let (preprocess, embed) = (measurement.preprocess_ms, measurement.embed_ms);

        let lowest = if precision == Precision::Fp32 {
            fp32_embeddings = measurement.embeddings;
            "-".to_owned()
        } else {
            format!("{:.6}", lowest_similarity(&measurement.embeddings, &fp32_embeddings))
        };
        println!("{:<10} {preprocess:>14.2} {embed:>12.2} {:>12.2} {lowest:>22}", precision.name(), preprocess + embed);
    }
    if !support::precisions().contains(&Precision::Bf16) {
        println!("(bf16 and int8 need AVX-512 extensions this CPU lacks)");
    }
}
