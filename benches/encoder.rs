//! The encoder on 3 s and 10 s of speech in each precision, and the core's float32 peak for
//! comparison. Run with `cargo bench --bench encoder`.
//!
//! `embed_utterance/*` does what Resemblyzer's `VoiceEncoder.embed_utterance` does: mel,
//! partial windows, network and mean. `lstm_network/*` is the network alone, with its
//! throughput in floating-point operations per second (a multiply-add counts as two).

mod support;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gemm::{gemm, Parallelism};
use voiceprint::embed::partial_windows;
use voiceprint::model::Ge2eEncoder;

const CLIP_SECONDS: [f64; 2] = [3.0, 10.0];

/// Multiply-adds of the LSTM per frame of a partial: 3 layers of 4·256 gates over their
/// input (40 values, then 256) and their 256 recurrent values. The final 256 × 256 projection
/// (once per partial, 0.03% of the work) is left out.
const MULTIPLY_ADDS_PER_FRAME: u64 = 4 * 256 * (40 + 256) + 2 * 4 * 256 * (256 + 256);

fn encoder(c: &mut Criterion) {
    for precision in support::precisions() {
        let embedder = support::embedder(precision);
        for seconds in CLIP_SECONDS {
            let speech = support::speech(&embedder, seconds);
            let id = BenchmarkId::new(precision.name(), format!("{seconds}s"));
            c.benchmark_group("embed_utterance").bench_with_input(id, &speech.samples, |b, samples| {
                b.iter(|| embedder.embed_signal(black_box(samples)).unwrap())
            });
        }
    }
}

fn network(c: &mut Criterion) {
    let mut group = c.benchmark_group("lstm_network");
    for precision in support::precisions() {
        let embedder = support::embedder(precision);
        let encoder = Ge2eEncoder::load_with_precision(&voiceprint::model::default_model_path(), precision).unwrap();
        for seconds in CLIP_SECONDS {
            let speech = support::speech(&embedder, seconds);
            let windows = partial_windows(speech.samples.len()).len();
            let mels = vec![0.01f32; windows * Ge2eEncoder::PARTIAL_FRAMES * Ge2eEncoder::MEL_BANDS];
            let flops = 2 * windows as u64 * Ge2eEncoder::PARTIAL_FRAMES as u64 * MULTIPLY_ADDS_PER_FRAME;

            group.throughput(Throughput::Elements(flops));
            let id = BenchmarkId::new(precision.name(), format!("{seconds}s_{windows}_windows"));
            group.bench_with_input(id, &mels, |b, mels| {
                b.iter(|| encoder.embed_partials(black_box(mels), windows).unwrap())
            });
        }
    }
    group.finish();
}

/// Times a 1024³ float32 matrix product on one thread with the `gemm` crate (0.19, which
/// candle uses): the core's practical float32 peak, reported in elements per second, which
/// here are FLOP/s.
fn fp32_peak(c: &mut Criterion) {
    const N: usize = 1024;
    let lhs: Vec<f32> = (0..N * N).map(|i| (i % 7) as f32 * 0.1).collect();
    let rhs: Vec<f32> = (0..N * N).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut product = vec![0f32; N * N];

    let mut group = c.benchmark_group("fp32_peak");
    group.throughput(Throughput::Elements(2 * (N * N * N) as u64));
    group.bench_function("sgemm_1024", |b| {
        b.iter(|| {
            // SAFETY: all three matrices are N × N, row-major, and do not overlap.
            unsafe {
                gemm(
                    N,
                    N,
                    N,
                    product.as_mut_ptr(),
                    1,
                    N as isize,
                    false,
                    lhs.as_ptr(),
                    1,
                    N as isize,
                    rhs.as_ptr(),
                    1,
                    N as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
            black_box(&product);
        })
    });
    group.finish();
}

criterion_group!(benches, encoder, network, fp32_peak);
criterion_main!(benches);
