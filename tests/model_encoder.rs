//! The GE2E encoder with the committed model file, against Resemblyzer 0.1.4's own partial
//! embeddings (fixtures/model, written by tools/make_encoder_fixtures.py).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::Tensor;
use voiceprint::model::{default_model_path, Ge2eEncoder, ModelError, ModelInfo};

const CLIP: &str = "vctk_p225_003";

fn encoder() -> &'static Ge2eEncoder {
    static ENCODER: OnceLock<Ge2eEncoder> = OnceLock::new();
    ENCODER.get_or_init(|| Ge2eEncoder::load(&default_model_path()).expect("the committed model loads"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/model").join(name)
}

/// Reads a float32 `.npy` file as its shape and row-major values.
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let tensor = Tensor::read_npy(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let values = tensor.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    (tensor.dims().to_vec(), values)
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

fn clip_mels() -> (usize, Vec<f32>) {
    let (shape, mels) = read_npy(&fixture(&format!("{CLIP}.partial_mels.npy")));
    assert_eq!(shape[1..], [Ge2eEncoder::PARTIAL_FRAMES, Ge2eEncoder::MEL_BANDS]);
    (shape[0], mels)
}

#[test]
fn model_info_from_metadata() {
    let expected = ModelInfo { id: "ge2e-resemblyzer".into(), version: "0.1.4".into() };
    assert_eq!(encoder().info(), &expected);
    assert_eq!(encoder().info().tag(), "ge2e-resemblyzer@0.1.4");
}

#[test]
fn partials_match_resemblyzer() {
    let (n_partials, mels) = clip_mels();
    let (shape, expected) = read_npy(&fixture(&format!("{CLIP}.partial_embeds.npy")));
    assert_eq!(shape, [n_partials, Ge2eEncoder::EMBEDDING_DIM]);

    let embeddings = encoder().embed_partials(&mels, n_partials).unwrap();
    assert_eq!(embeddings.len(), n_partials);
    for (partial, (actual, expected)) in embeddings.iter().zip(expected.chunks(Ge2eEncoder::EMBEDDING_DIM)).enumerate()
    {
        let similarity = cosine(actual, expected);
        assert!(similarity >= 0.9999, "partial {partial}: cosine {similarity}");
    }
}

#[test]
fn embeddings_have_unit_norm() {
    let (n_partials, mels) = clip_mels();
    for embedding in encoder().embed_partials(&mels, n_partials).unwrap() {
        assert_eq!(embedding.len(), Ge2eEncoder::EMBEDDING_DIM);
        let norm = embedding.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        assert!(embedding.iter().all(|x| *x >= 0.0), "a value is negative after the ReLU");
    }
}

#[test]
fn partial_is_independent_of_batch() {
    let (n_partials, mels) = clip_mels();
    let window = Ge2eEncoder::PARTIAL_FRAMES * Ge2eEncoder::MEL_BANDS;
    let batched = encoder().embed_partials(&mels, n_partials).unwrap();

    let last = n_partials - 1;
    let alone = encoder().embed_partials(&mels[last * window..], 1).unwrap();
    let similarity = cosine(&alone[0], &batched[last]);
    assert!(similarity >= 0.999999, "cosine {similarity}");
}

#[test]
fn batches_beyond_one_chunk() {
    // 40 partials span several internal batches; each must still match its own embedding.
    let (n_partials, mels) = clip_mels();
    let repeats = 40usize.div_ceil(n_partials);
    let many: Vec<f32> = mels.iter().copied().cycle().take(mels.len() * repeats).collect();
    let embeddings = encoder().embed_partials(&many, n_partials * repeats).unwrap();
    let single = encoder().embed_partials(&mels, n_partials).unwrap();

    assert_eq!(embeddings.len(), n_partials * repeats);
    for (index, embedding) in embeddings.iter().enumerate() {
        let similarity = cosine(embedding, &single[index % n_partials]);
        assert!(similarity >= 0.999999, "partial {index}: cosine {similarity}");
    }
}

#[test]
fn output_is_deterministic_across_threads() {
    let (n_partials, mels) = clip_mels();
    let reference = encoder().embed_partials(&mels, n_partials).unwrap();

    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| (0..3).map(|_| encoder().embed_partials(&mels, n_partials).unwrap()).collect::<Vec<_>>())
            })
            .collect();
        for worker in workers {
            for embeddings in worker.join().unwrap() {
                assert_eq!(embeddings, reference, "an embedding differs bit for bit");
            }
        }
    });
}

#[test]
fn no_partials_give_no_embeddings() {
    assert!(encoder().embed_partials(&[], 0).unwrap().is_empty());
}

#[test]
fn rejects_wrong_input_length() {
    let window = Ge2eEncoder::PARTIAL_FRAMES * Ge2eEncoder::MEL_BANDS;
    let cases = [(window - 1, 1), (window + 1, 1), (window, 2), (0, 1), (window, usize::MAX)];
    for (len, n_partials) in cases {
        let error = encoder().embed_partials(&vec![0.5; len], n_partials).unwrap_err();
        assert!(
            matches!(error, ModelError::InputLength { found, .. } if found == len),
            "{len} values for {n_partials} partials: {error}"
        );
    }
}

#[test]
fn rejects_non_finite_input() {
    let (_, mut mels) = clip_mels();
    let window = Ge2eEncoder::PARTIAL_FRAMES * Ge2eEncoder::MEL_BANDS;
    mels.truncate(window);
    for value in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut input = mels.clone();
        input[1234] = value;
        let error = encoder().embed_partials(&input, 1).unwrap_err();
        assert!(matches!(error, ModelError::NonFiniteInput { index: 1234 }), "{value}: {error}");
    }
}

/// Resemblyzer's intermediate outputs for its synthetic clips, where they are available:
/// point VOICEPRINT_REFERENCE_DIR at the reference set's `resemblyzer-0.1.4` folder.
#[test]
fn reference_partials_match_closely() {
    let Some(dir) = std::env::var_os("VOICEPRINT_REFERENCE_DIR").map(PathBuf::from) else {
        eprintln!("skipped: VOICEPRINT_REFERENCE_DIR is not set");
        return;
    };
    for name in ["en-us", "en+f3", "en+m7", "en-us_b", "en-us_quiet"] {
        let (shape, mels) = read_npy(&dir.join(format!("synthetic/{name}.partial_mels.npy")));
        let (_, expected) = read_npy(&dir.join(format!("synthetic/{name}.partial_embeds.npy")));
        let embeddings = encoder().embed_partials(&mels, shape[0]).unwrap();

        for (partial, (actual, expected)) in
            embeddings.iter().zip(expected.chunks(Ge2eEncoder::EMBEDDING_DIM)).enumerate()
        {
            let similarity = cosine(actual, expected);
            let max_error = actual.iter().zip(expected).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            eprintln!("{name} partial {partial}: cosine {similarity:.8}, max abs error {max_error:.2e}");
            assert!(similarity >= 0.99999, "{name} partial {partial}: cosine {similarity}");
            assert!(max_error <= 1e-5, "{name} partial {partial}: max abs error {max_error}");
        }
    }
}
