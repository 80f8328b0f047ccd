//! The encoder on 3 s and 10 s of speech in each precision, and the core's float32 peak for
//! comparison: a large matrix product and a loop of independent FMA instructions. Run with
//! `cargo bench --bench encoder`.
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

/// Independent accumulator chains of the 512-bit FMA loop. Two FMA pipes with a latency of 4
/// cycles need 8 chains in flight, and 24 still fit in the 32 vector registers.
const AVX512_CHAINS: usize = 24;

/// Chains of the 256-bit loop: AVX2 has 16 registers, and Zen 2's two FMA pipes with a
/// latency of 5 cycles need 10 chains in flight.
const AVX2_CHAINS: usize = 12;

/// Iterations of an FMA loop per benchmark call.
const FMA_ITERATIONS: u64 = 100_000;

/// Times a loop of nothing but fused multiply-adds, 512-bit where the CPU has AVX-512F and
/// 256-bit where it has AVX2 and FMA: the instruction peak that no real kernel, sgemm
/// included, can pass. Reported in FLOP/s, two per lane and FMA.
fn fma_loop(c: &mut Criterion) {
    let mut group = c.benchmark_group("fp32_peak");

    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            group.throughput(Throughput::Elements(2 * 16 * AVX512_CHAINS as u64 * FMA_ITERATIONS));
            group.bench_function("fma_loop_avx512", |b| {
                // SAFETY: the CPU has AVX-512F, checked above.
                b.iter(|| unsafe { fma_chains_avx512(black_box(0.999_999), black_box(FMA_ITERATIONS)) })
            });
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            group.throughput(Throughput::Elements(2 * 8 * AVX2_CHAINS as u64 * FMA_ITERATIONS));
            group.bench_function("fma_loop_avx2", |b| {
                // SAFETY: the CPU has AVX2 and FMA, checked above.
                b.iter(|| unsafe { fma_chains_avx2(black_box(0.999_999), black_box(FMA_ITERATIONS)) })
            });
        }
    }

    group.finish();
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma_chains_avx512(factor: f32, iterations: u64) -> f32 {
    use std::arch::x86_64::{_mm512_add_ps, _mm512_fmadd_ps, _mm512_reduce_add_ps, _mm512_set1_ps};

    let multiplier = _mm512_set1_ps(factor);
    let addend = _mm512_set1_ps(1e-7);
    let mut chains = [_mm512_set1_ps(1.0); AVX512_CHAINS];
    for _ in 0..iterations {
        for chain in &mut chains {
            *chain = _mm512_fmadd_ps(*chain, multiplier, addend);
        }
    }

    // The sum keeps every chain live, so that none of the work can be removed.
    let total = chains.iter().fold(_mm512_set1_ps(0.0), |sum, chain| _mm512_add_ps(sum, *chain));
    _mm512_reduce_add_ps(total)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_chains_avx2(factor: f32, iterations: u64) -> f32 {
    use std::arch::x86_64::{_mm256_add_ps, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_storeu_ps};

    let multiplier = _mm256_set1_ps(factor);
    let addend = _mm256_set1_ps(1e-7);
    let mut chains = [_mm256_set1_ps(1.0); AVX2_CHAINS];
    for _ in 0..iterations {
        for chain in &mut chains {
            *chain = _mm256_fmadd_ps(*chain, multiplier, addend);
        }
    }

    let total = chains.iter().fold(_mm256_set1_ps(0.0), |sum, chain| _mm256_add_ps(sum, *chain));
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` has room for the 8 floats that the unaligned store writes.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
    lanes.iter().sum()
}

criterion_group!(benches, encoder, network, fp32_peak, fma_loop);
criterion_main!(benches);
