//! The LSTM kernels of every precision and instruction set with the committed model: against
//! torch.nn.LSTM's own states (fixtures/lstm, written by tools/make_lstm_fixtures.py), and the
//! reduced precisions against float32 on every golden clip.

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;

use common::{cosine, fixture, read_fixture, read_npy};
use voiceprint::embed::{AudioSource, Embedder, EmbedderSettings, Preprocessed};
use voiceprint::model::lstm::{LayerWeights, Lstm, LstmStates};
use voiceprint::model::{default_model_path, CpuFeatures, Ge2eEncoder, Isa, ModelError, Precision};

const LSTM_CLIP: &str = "librispeech_1688-142285-0000";
const LAYERS: usize = 3;

/// Every clip with a Resemblyzer embedding in fixtures/golden.
const GOLDEN_CLIPS: [&str; 8] = [
    "aishell_S0150W0001.wav",
    "aishell_S0150W0001_24bit.wav",
    "dspspeech_15307110189-00-01.wav",
    "librispeech_1688-142285-0000.flac",
    "vctk_p225_003.wav",
    "vctk_p225_003_44k_float.wav",
    "vctk_p225_003_48k_stereo.wav",
    "vctk_p225_003_8k.wav",
];

/// Reads the LSTM tensors of the committed model file, by name.
fn model_tensors() -> &'static HashMap<String, Vec<f32>> {
    static TENSORS: OnceLock<HashMap<String, Vec<f32>>> = OnceLock::new();
    TENSORS.get_or_init(|| {
        let tensors = candle_core::safetensors::load(default_model_path(), &candle_core::Device::Cpu).unwrap();
        tensors
            .into_iter()
            .map(|(name, tensor)| (name, tensor.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
            .collect()
    })
}

fn layer_weights() -> Vec<LayerWeights<'static>> {
    let tensors = model_tensors();
    (0..LAYERS)
        .map(|layer| LayerWeights {
            w_ih: &tensors[&format!("lstm.weight_ih_l{layer}")],
            w_hh: &tensors[&format!("lstm.weight_hh_l{layer}")],
            b_ih: &tensors[&format!("lstm.bias_ih_l{layer}")],
            b_hh: &tensors[&format!("lstm.bias_hh_l{layer}")],
        })
        .collect()
}

/// Lists the float32 instruction sets this CPU runs.
fn fp32_isas() -> Vec<Isa> {
    let features = CpuFeatures::detect();
    let mut isas = vec![Isa::Portable];
    if features.avx2 && features.fma {
        isas.push(Isa::Avx2Fma);
    }
    if features.avx512f {
        isas.push(Isa::Avx512);
    }
    isas
}

/// Lists the reduced precisions this CPU runs.
fn reduced_precisions() -> Vec<Precision> {
    [Precision::Bf16, Precision::Int8]
        .into_iter()
        .filter(|&precision| voiceprint::model::precision::select_isa(precision, CpuFeatures::detect()).is_ok())
        .collect()
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn run_fixture_windows(lstm: &Lstm) -> LstmStates {
    let mels = read_npy(&fixture(&format!("lstm/{LSTM_CLIP}.partial_mels.npy")));
    let windows = mels.len() / (Ge2eEncoder::PARTIAL_FRAMES * Ge2eEncoder::MEL_BANDS);
    lstm.forward(&mels, windows, Ge2eEncoder::PARTIAL_FRAMES).unwrap()
}

fn embedder(precision: Precision) -> Embedder {
    let settings = EmbedderSettings { precision, ..EmbedderSettings::default() };
    Embedder::load(&default_model_path(), settings).unwrap()
}

fn fp32_embedder() -> &'static Embedder {
    static EMBEDDER: OnceLock<Embedder> = OnceLock::new();
    EMBEDDER.get_or_init(|| embedder(Precision::Fp32))
}

fn preprocess_golden_clips() -> Vec<Preprocessed> {
    GOLDEN_CLIPS
        .iter()
        .map(|file| {
            let bytes = read_fixture(&format!("golden/{file}"));
            fp32_embedder().preprocess(AudioSource::Container(&bytes)).unwrap()
        })
        .collect()
}

#[test]
fn fp32_states_match_torch() {
    let expected_h = read_npy(&fixture(&format!("lstm/{LSTM_CLIP}.h_n.npy")));
    let expected_c = read_npy(&fixture(&format!("lstm/{LSTM_CLIP}.c_n.npy")));

    for isa in fp32_isas() {
        let lstm = Lstm::with_isa(&layer_weights(), Precision::Fp32, isa).unwrap();
        let states = run_fixture_windows(&lstm);
        // torch's own float32 states are 7e-7 (h) and 5e-6 (c) from a float64 run.
        let h_error = max_difference(&states.h_n, &expected_h);
        let c_error = max_difference(&states.c_n, &expected_c);
        assert!(h_error <= 1e-5, "{isa:?}: max |h - torch| {h_error}");
        assert!(c_error <= 1e-4, "{isa:?}: max |c - torch| {c_error}");
    }
}

#[test]
fn reduced_precision_states_near_torch() {
    let expected_h = read_npy(&fixture(&format!("lstm/{LSTM_CLIP}.h_n.npy")));
    for precision in reduced_precisions() {
        let lstm = Lstm::new(&layer_weights(), precision).unwrap();
        let states = run_fixture_windows(&lstm);
        let top = LAYERS - 1;
        let cosines: Vec<f64> = states
            .top_hidden()
            .chunks(256)
            .zip(expected_h[top * states.batch * 256..].chunks(256))
            .map(|(actual, expected)| cosine(actual, expected))
            .collect();
        assert!(cosines.iter().all(|&c| c >= 0.999), "{precision}: top-layer cosines {cosines:?}");
    }
}

#[test]
fn reduced_precision_embeddings_near_fp32() {
    let clips = preprocess_golden_clips();
    for precision in reduced_precisions() {
        let reduced = embedder(precision);
        for (file, clip) in GOLDEN_CLIPS.iter().zip(&clips) {
            let exact = fp32_embedder().embed_preprocessed(clip.clone()).unwrap().vector;
            let approximate = reduced.embed_preprocessed(clip.clone()).unwrap().vector;
            let similarity = cosine(&exact, &approximate);
            assert!(similarity >= 0.999, "{precision}, {file}: cosine {similarity} with fp32");
        }
    }
}

#[test]
fn repeated_embeddings_are_identical() {
    let clips = preprocess_golden_clips();
    let mut precisions = reduced_precisions();
    precisions.push(Precision::Fp32);
    for precision in precisions {
        let embedder = embedder(precision);
        for (file, clip) in GOLDEN_CLIPS.iter().zip(&clips) {
            let first = embedder.embed_preprocessed(clip.clone()).unwrap().vector;
            let second = embedder.embed_preprocessed(clip.clone()).unwrap().vector;
            assert_eq!(first, second, "{precision}, {file}");
        }
    }
}

#[test]
fn batch_matches_single_embeddings() {
    let clips = preprocess_golden_clips();
    let mut precisions = reduced_precisions();
    precisions.push(Precision::Fp32);
    for precision in precisions {
        let embedder = embedder(precision);
        let batched = embedder.embed_batch(&clips);
        assert_eq!(batched.len(), clips.len());
        for ((file, clip), batched) in GOLDEN_CLIPS.iter().zip(&clips).zip(batched) {
            let single = embedder.embed_preprocessed(clip.clone()).unwrap();
            assert_eq!(batched.unwrap(), single, "{precision}, {file}");
        }
    }
}

#[test]
fn batch_isolates_a_bad_item() {
    let mut clips = preprocess_golden_clips();
    clips[1].samples[100] = f32::NAN;

    let results = fp32_embedder().embed_batch(&clips);
    assert!(results[1].is_err(), "the item with a NaN sample embeds");
    for (index, result) in results.iter().enumerate().filter(|(index, _)| *index != 1) {
        let single = fp32_embedder().embed_preprocessed(clips[index].clone()).unwrap();
        assert_eq!(result.as_ref().unwrap(), &single, "{}", GOLDEN_CLIPS[index]);
    }
}

#[test]
fn empty_batch_gives_no_results() {
    assert!(fp32_embedder().embed_batch(&[]).is_empty());
}

#[test]
fn unsupported_precision_is_rejected_at_load() {
    for precision in [Precision::Bf16, Precision::Int8] {
        if reduced_precisions().contains(&precision) {
            continue;
        }
        let error = Ge2eEncoder::load_with_precision(&default_model_path(), precision).err().unwrap();
        assert!(matches!(error, ModelError::Precision(_)), "{precision}: {error}");
    }
}

#[test]
fn encoder_reports_its_precision() {
    let encoder = Ge2eEncoder::load(&default_model_path()).unwrap();
    assert_eq!(encoder.precision(), Precision::Fp32);
    for precision in reduced_precisions() {
        let encoder = Ge2eEncoder::load_with_precision(&default_model_path(), precision).unwrap();
        assert_eq!(encoder.precision(), precision);
    }
}
