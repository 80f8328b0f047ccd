//! Server throughput: embeddings per second on two threads for 5 s clips, from WAV bytes to
//! embeddings, with each thread embedding its requests in batches of 1, 4 or 16 through
//! `Embedder::embed_batch`. Run with `cargo bench --bench throughput`.

mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use voiceprint::embed::{AudioSource, Embedder};

const THREADS: usize = 2;
const CLIP_SECONDS: f64 = 5.0;
const BATCH_SIZES: [usize; 3] = [1, 4, 16];

/// Three different 5 s stretches of the LibriSpeech clip, as 16-bit WAV files.
fn clips() -> Vec<Vec<u8>> {
    let samples = support::clip_samples(15.0);
    samples.chunks((CLIP_SECONDS * 16_000.0) as usize).map(support::wav_bytes).collect()
}

/// Embeds `batch` requests, cycling through `clips`: preprocessing one by one, then one
/// encoder batch.
fn embed_requests(embedder: &Embedder, clips: &[Vec<u8>], batch: usize) {
    let preprocessed: Vec<_> = clips
        .iter()
        .cycle()
        .take(batch)
        .map(|bytes| embedder.preprocess(AudioSource::Container(bytes)).unwrap())
        .collect();
    for result in embedder.embed_batch(&preprocessed) {
        result.unwrap();
    }
}

fn throughput(c: &mut Criterion) {
    let clips = clips();
    let mut group = c.benchmark_group("throughput_2_threads");
    group.sample_size(10);
    for precision in support::precisions() {
        let embedder = support::embedder(precision);
        for batch in BATCH_SIZES {
            group.throughput(Throughput::Elements((THREADS * batch) as u64));
            group.bench_function(BenchmarkId::new(precision.name(), format!("batch_{batch}")), |b| {
                b.iter(|| {
                    std::thread::scope(|scope| {
                        for _ in 0..THREADS {
                            scope.spawn(|| embed_requests(&embedder, &clips, batch));
                        }
                    })
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
