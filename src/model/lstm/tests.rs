//! The kernels against the float64 reference on small random networks.

use super::*;
use crate::model::precision::{CpuFeatures, Isa, Precision};

/// A deterministic stream of values in [-scale, scale).
struct Values(u64);

impl Values {
    fn next(&mut self, scale: f32) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    }

    fn vec(&mut self, len: usize, scale: f32) -> Vec<f32> {
        (0..len).map(|_| self.next(scale)).collect()
    }
}

struct Network {
    input_size: usize,
    hidden: usize,
    matrices: Vec<[Vec<f32>; 4]>,
}

impl Network {
    /// Weights of the size PyTorch initialises them with (±1/√hidden), doubled so that the
    /// gates reach their saturated ranges too.
    fn random(input_size: usize, hidden: usize, layers: usize, seed: u64) -> Self {
        let mut values = Values(seed);
        let scale = 2.0 / (hidden as f32).sqrt();
        let matrices = (0..layers)
            .map(|index| {
                let depth = if index == 0 { input_size } else { hidden };
                [
                    values.vec(4 * hidden * depth, scale),
                    values.vec(4 * hidden * hidden, scale),
                    values.vec(4 * hidden, scale),
                    values.vec(4 * hidden, scale),
                ]
            })
            .collect();
        Network { input_size, hidden, matrices }
    }

    fn layers(&self) -> Vec<LayerWeights<'_>> {
        self.matrices.iter().map(|[w_ih, w_hh, b_ih, b_hh]| LayerWeights { w_ih, w_hh, b_ih, b_hh }).collect()
    }
}

/// Lists every instruction set this CPU runs, with the precisions it has kernels for.
fn available_kernels() -> Vec<(Isa, Precision)> {
    let features = CpuFeatures::detect();
    [Isa::Avx512, Isa::Avx2Fma, Isa::Portable]
        .into_iter()
        .flat_map(|isa| Precision::ALL.map(|precision| (isa, precision)))
        .filter(|&(isa, precision)| crate::model::precision::check_isa(precision, isa, features).is_ok())
        .collect()
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Tolerance on the final states against the float64 reference.
fn tolerance(precision: Precision) -> f32 {
    match precision {
        Precision::Fp32 => 1e-5,
        Precision::Bf16 => 0.01,
        Precision::Int8 => 0.05,
    }
}

#[test]
fn kernels_match_reference() {
    // Odd sizes: an input size that fills no vector, a batch that splits into uneven row
    // groups, a hidden size of 3 blocks (not a multiple of the 2 or 4 blocks of a tile).
    let network = Network::random(5, 24, 2, 1);
    let (batch, steps) = (13, 9);
    let inputs = Values(2).vec(batch * steps * network.input_size, 1.5);
    let expected = reference::forward(&network.layers(), &inputs, batch, steps);

    for (isa, precision) in available_kernels() {
        let lstm = Lstm::with_isa(&network.layers(), precision, isa).unwrap();
        let states = lstm.forward(&inputs, batch, steps).unwrap();
        let h_error = max_difference(&states.h_n, &expected.h_n);
        let c_error = max_difference(&states.c_n, &expected.c_n);
        assert!(h_error < tolerance(precision), "{isa:?} {precision}: max |dh| {h_error}");
        assert!(c_error < 2.0 * tolerance(precision), "{isa:?} {precision}: max |dc| {c_error}");
    }
}

#[test]
fn every_batch_size_matches_reference() {
    let network = Network::random(7, 16, 1, 3);
    let steps = 4;
    for batch in 1..=26 {
        let inputs = Values(batch as u64).vec(batch * steps * network.input_size, 1.0);
        let expected = reference::forward(&network.layers(), &inputs, batch, steps);
        for (isa, precision) in available_kernels() {
            let lstm = Lstm::with_isa(&network.layers(), precision, isa).unwrap();
            let states = lstm.forward(&inputs, batch, steps).unwrap();
            let error = max_difference(&states.h_n, &expected.h_n);
            assert!(error < tolerance(precision), "{isa:?} {precision}, batch {batch}: max |dh| {error}");
        }
    }
}

#[test]
fn odd_block_count_matches_reference() {
    // 24 units make three blocks of 8, so kernels that take blocks in pairs meet a lone one.
    let network = Network::random(9, 24, 2, 11);
    let steps = 3;
    for batch in 1..=7 {
        let inputs = Values(40 + batch as u64).vec(batch * steps * network.input_size, 1.0);
        let expected = reference::forward(&network.layers(), &inputs, batch, steps);
        for (isa, precision) in available_kernels() {
            let lstm = Lstm::with_isa(&network.layers(), precision, isa).unwrap();
            let states = lstm.forward(&inputs, batch, steps).unwrap();
            let error = max_difference(&states.h_n, &expected.h_n);
            assert!(error < tolerance(precision), "{isa:?} {precision}, batch {batch}: max |dh| {error}");
        }
    }
}

#[test]
fn batching_does_not_change_rows() {
    let network = Network::random(6, 16, 2, 4);
    let (batch, steps) = (15, 6);
    let inputs = Values(5).vec(batch * steps * network.input_size, 1.0);
    let sequence_len = steps * network.input_size;

    for (isa, precision) in available_kernels() {
        let lstm = Lstm::with_isa(&network.layers(), precision, isa).unwrap();
        let batched = lstm.forward(&inputs, batch, steps).unwrap();
        for sequence in [0, 7, 14] {
            let alone =
                lstm.forward(&inputs[sequence * sequence_len..(sequence + 1) * sequence_len], 1, steps).unwrap();
            let row = &batched.top_hidden()[sequence * network.hidden..(sequence + 1) * network.hidden];
            assert_eq!(alone.top_hidden(), row, "{isa:?} {precision}, sequence {sequence}");
        }
    }
}

#[test]
fn repeated_runs_are_identical() {
    let network = Network::random(5, 16, 2, 6);
    let inputs = Values(7).vec(3 * 5 * 5, 1.0);
    for (isa, precision) in available_kernels() {
        let lstm = Lstm::with_isa(&network.layers(), precision, isa).unwrap();
        let first = lstm.forward(&inputs, 3, 5).unwrap();
        let second = lstm.forward(&inputs, 3, 5).unwrap();
        assert_eq!(first, second, "{isa:?} {precision}");
    }
}

#[test]
fn empty_batch_gives_zero_states() {
    let network = Network::random(5, 8, 2, 8);
    let lstm = Lstm::new(&network.layers(), Precision::Fp32).unwrap();
    let states = lstm.forward(&[], 0, 160).unwrap();
    assert!(states.h_n.is_empty());
    let states = lstm.forward(&[], 2, 0).unwrap();
    assert_eq!(states.h_n, vec![0.0; 2 * 2 * 8]);
}

#[test]
fn wrong_input_length_is_rejected() {
    let network = Network::random(5, 8, 1, 9);
    let lstm = Lstm::new(&network.layers(), Precision::Fp32).unwrap();
    let error = lstm.forward(&[0.0; 11], 2, 1).unwrap_err();
    assert!(matches!(error, LstmError::InputLength { expected: 10, found: 11, .. }), "{error}");
}

#[test]
fn mismatched_shapes_are_rejected() {
    let network = Network::random(5, 8, 2, 10);
    let mut layers = network.layers();
    layers[1].w_hh = &layers[1].w_hh[1..];
    let error = Lstm::new(&layers, Precision::Fp32).err().unwrap();
    assert!(matches!(error, LstmError::Shape { layer: 1, name: "weight_hh", .. }), "{error}");

    let odd = Network::random(5, 12, 1, 11);
    let error = Lstm::new(&odd.layers(), Precision::Fp32).err().unwrap();
    assert!(matches!(error, LstmError::HiddenSize { hidden: 12 }), "{error}");
}

#[test]
fn int8_first_layer_follows_features() {
    let all = CpuFeatures::all();
    assert_eq!(layer_precisions(Precision::Int8, 0, all), (Precision::Fp32, Precision::Bf16));
    assert_eq!(layer_precisions(Precision::Int8, 1, all), (Precision::Int8, Precision::Int8));

    let without_bf16 = CpuFeatures { avx512bf16: false, ..all };
    assert_eq!(layer_precisions(Precision::Int8, 0, without_bf16), (Precision::Fp32, Precision::Fp32));
    assert_eq!(layer_precisions(Precision::Int8, 2, without_bf16), (Precision::Int8, Precision::Int8));
}

#[test]
fn first_layer_projection_stays_float32() {
    for precision in Precision::ALL {
        assert_eq!(layer_precisions(precision, 0, CpuFeatures::all()).0, Precision::Fp32, "{precision}");
    }
    assert_eq!(layer_precisions(Precision::Bf16, 0, CpuFeatures::all()), (Precision::Fp32, Precision::Bf16));
    assert_eq!(layer_precisions(Precision::Bf16, 1, CpuFeatures::all()), (Precision::Bf16, Precision::Bf16));
}
