//! The legacy torch checkpoint reader, the conversion into a model file, and the model file
//! checks, against checkpoints that torch itself wrote and read back
//! (fixtures/model/tiny_legacy*.pt and .json, from tools/make_legacy_torch_fixture.py).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use safetensors::SafeTensors;
use serde::Deserialize;
use voiceprint::model::ge2e::{FORMAT_VERSION_KEY, MODEL_ID_KEY, MODEL_VERSION_KEY, SOURCE_SHA256_KEY};
use voiceprint::model::import::{extract_encoder, import_resemblyzer, write_model_file, EncoderTensor, ImportError};
use voiceprint::model::torch_legacy::{CheckpointError, LegacyCheckpoint, StorageType, StoredTensor};
use voiceprint::model::{default_model_path, Ge2eDims, Ge2eEncoder, ModelError, ModelInfo};

/// The miniature GE2E encoder in tiny_legacy.pt.
const TINY_DIMS: Ge2eDims = Ge2eDims { mel_bands: 4, hidden: 2, layers: 2, embedding: 3 };

#[derive(Debug, Deserialize)]
struct Golden {
    step: i64,
    tensors: Vec<GoldenTensor>,
    #[serde(default)]
    buffers: Vec<GoldenTensor>,
}

#[derive(Debug, Deserialize)]
struct GoldenTensor {
    name: String,
    storage_type: String,
    shape: Vec<usize>,
    storage_offset: usize,
    stride: Vec<usize>,
    values: Vec<f64>,
}

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/model").join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|error| panic!("cannot read {name}: {error}"))
}

fn golden(name: &str) -> Golden {
    serde_json::from_slice(&fixture(name)).unwrap()
}

fn as_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

fn find<'a>(tensors: &'a [StoredTensor], name: &str) -> &'a StoredTensor {
    tensors.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no tensor {name}"))
}

#[test]
fn plain_checkpoint_matches_torch() {
    let bytes = fixture("tiny_legacy.pt");
    let checkpoint = LegacyCheckpoint::parse(&bytes).unwrap();
    let expected = golden("tiny_legacy.json");

    let stored = checkpoint.state_dict("model_state").unwrap();
    let names: Vec<&str> = stored.iter().map(|t| t.name.as_str()).collect();
    let expected_names: Vec<&str> = expected.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, expected_names, "entries in checkpoint order");

    for golden in &expected.tensors {
        let tensor = find(&stored, &golden.name);
        assert_eq!(tensor.storage_type.class_name(), golden.storage_type, "{}", golden.name);
        assert_eq!(tensor.shape, golden.shape, "{}", golden.name);
        assert_eq!(tensor.strides, golden.stride, "{}", golden.name);
        assert_eq!(tensor.storage_offset, golden.storage_offset, "{}", golden.name);
        assert_eq!(checkpoint.read_f32(tensor).unwrap(), as_f32(&golden.values), "{}", golden.name);
    }
}

#[test]
fn lstm_tensors_share_one_storage() {
    let bytes = fixture("tiny_legacy.pt");
    let checkpoint = LegacyCheckpoint::parse(&bytes).unwrap();
    let stored = checkpoint.state_dict("model_state").unwrap();
    let first = &find(&stored, "lstm.weight_ih_l0").storage_key;
    assert!(stored.iter().filter(|t| t.name.starts_with("lstm.")).all(|t| &t.storage_key == first));
}

#[test]
fn step_is_read() {
    let bytes = fixture("tiny_legacy.pt");
    let checkpoint = LegacyCheckpoint::parse(&bytes).unwrap();
    assert_eq!(checkpoint.int_entry("step"), Some(golden("tiny_legacy.json").step));
    assert_eq!(checkpoint.int_entry("model_state"), None);
}

#[test]
fn other_dtypes_are_reported() {
    let bytes = fixture("tiny_legacy.pt");
    let checkpoint = LegacyCheckpoint::parse(&bytes).unwrap();
    let buffers = checkpoint.state_dict("buffers").unwrap();
    let expected = golden("tiny_legacy.json").buffers;

    let types: Vec<StorageType> = buffers.iter().map(|t| t.storage_type).collect();
    assert_eq!(
        types,
        [StorageType::Long, StorageType::Double, StorageType::Float, StorageType::Float, StorageType::Float]
    );
    for name in ["num_batches_tracked", "running_mean"] {
        let error = checkpoint.read_f32(find(&buffers, name)).unwrap_err();
        assert!(matches!(error, CheckpointError::UnsupportedDtype { expected: "FloatStorage", .. }), "{name}: {error}");
    }

    let scale = find(&buffers, "scale");
    assert!(scale.shape.is_empty());
    assert_eq!(checkpoint.read_f32(scale).unwrap(), as_f32(&expected[2].values));
    let empty = find(&buffers, "empty");
    assert_eq!(empty.shape, [0, 3]);
    assert!(checkpoint.read_f32(empty).unwrap().is_empty());

    let parameter = find(&buffers, "parameter");
    assert_eq!(parameter.shape, [2, 2]);
    assert_eq!(checkpoint.read_f32(parameter).unwrap(), as_f32(&expected[4].values));
}

#[test]
fn storage_views_match_torch() {
    let bytes = fixture("tiny_legacy_views.pt");
    let checkpoint = LegacyCheckpoint::parse(&bytes).unwrap();
    let stored = checkpoint.state_dict("model_state").unwrap();
    let expected = golden("tiny_legacy_views.json");

    assert_eq!(stored.len(), expected.tensors.len());
    for golden in &expected.tensors {
        let tensor = find(&stored, &golden.name);
        assert_eq!(tensor.shape, golden.shape, "{}", golden.name);
        assert_eq!(checkpoint.read_f32(tensor).unwrap(), as_f32(&golden.values), "{}", golden.name);
    }
}

#[test]
fn missing_entry_is_named() {
    let bytes = fixture("tiny_legacy.pt");
    let checkpoint = LegacyCheckpoint::parse(&bytes).unwrap();
    let error = checkpoint.state_dict("state_dict").unwrap_err();
    assert!(matches!(&error, CheckpointError::MissingEntry { key } if key == "state_dict"), "{error}");
}

#[test]
fn rejects_zip_checkpoint() {
    let error = LegacyCheckpoint::parse(b"PK\x03\x04\x14\x00\x00\x00").err().unwrap();
    assert!(matches!(error, CheckpointError::ZipFormat), "{error}");
}

#[test]
fn rejects_other_magic_number() {
    // pickle.dumps(5, protocol=2)
    let error = LegacyCheckpoint::parse(b"\x80\x02K\x05.").err().unwrap();
    assert!(matches!(&error, CheckpointError::BadMagic { found } if found == "5"), "{error}");
}

#[test]
fn rejects_trailing_bytes() {
    let mut bytes = fixture("tiny_legacy.pt");
    bytes.extend_from_slice(b"extra");
    let error = LegacyCheckpoint::parse(&bytes).err().unwrap();
    assert!(matches!(error, CheckpointError::TrailingBytes { count: 5 }), "{error}");
}

#[test]
fn rejects_unknown_storage_type() {
    let bytes = fixture("tiny_legacy_views.pt");
    let patched = replace(&bytes, b"torch\nFloatStorage\n", b"torch\nQFloatStorage\n");
    let error = LegacyCheckpoint::parse(&patched).err().unwrap();
    assert!(matches!(&error, CheckpointError::UnsupportedStorageType { name } if name == "QFloatStorage"), "{error}");
}

#[test]
fn rejects_every_truncation() {
    for name in ["tiny_legacy.pt", "tiny_legacy_views.pt"] {
        let bytes = fixture(name);
        for len in 0..bytes.len() {
            assert!(LegacyCheckpoint::parse(&bytes[..len]).is_err(), "{name} cut to {len} bytes was accepted");
        }
    }
}

#[test]
fn extracts_tiny_encoder() {
    let bytes = fixture("tiny_legacy.pt");
    let checkpoint = LegacyCheckpoint::parse(&bytes).unwrap();
    let tensors = extract_encoder(&checkpoint, TINY_DIMS).unwrap();
    let expected = golden("tiny_legacy.json");

    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    let expected_names: Vec<String> = TINY_DIMS.tensor_shapes().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, expected_names, "training-only tensors are dropped");
    for tensor in &tensors {
        let golden = expected.tensors.iter().find(|g| g.name == tensor.name).unwrap();
        assert_eq!(tensor.shape, golden.shape, "{}", tensor.name);
        assert_eq!(tensor.values, as_f32(&golden.values), "{}", tensor.name);
    }
}

#[test]
fn extract_checks_shapes() {
    let bytes = fixture("tiny_legacy.pt");
    let checkpoint = LegacyCheckpoint::parse(&bytes).unwrap();

    let wider = Ge2eDims { hidden: 3, ..TINY_DIMS };
    let error = extract_encoder(&checkpoint, wider).unwrap_err();
    assert!(matches!(&error, ImportError::WrongShape { name, .. } if name == "lstm.weight_ih_l0"), "{error}");

    let deeper = Ge2eDims { layers: 3, ..TINY_DIMS };
    let error = extract_encoder(&checkpoint, deeper).unwrap_err();
    assert!(matches!(&error, ImportError::MissingTensor { name } if name == "lstm.weight_ih_l2"), "{error}");

    let shallower = Ge2eDims { layers: 1, ..TINY_DIMS };
    let error = extract_encoder(&checkpoint, shallower).unwrap_err();
    assert!(matches!(&error, ImportError::UnexpectedTensor { name } if name == "lstm.weight_ih_l1"), "{error}");
}

fn tiny_model_file(dir: &Path) -> (PathBuf, Vec<EncoderTensor>) {
    let bytes = fixture("tiny_legacy.pt");
    let checkpoint = LegacyCheckpoint::parse(&bytes).unwrap();
    let tensors = extract_encoder(&checkpoint, TINY_DIMS).unwrap();
    let info = ModelInfo { id: "ge2e-tiny".into(), version: "0.0.1".into() };
    let path = dir.join("tiny.safetensors");
    write_model_file(&path, &tensors, &info, "00ff").unwrap();
    (path, tensors)
}

#[test]
fn model_file_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (path, tensors) = tiny_model_file(dir.path());
    let bytes = std::fs::read(&path).unwrap();

    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().clone().unwrap();
    let expected_metadata = HashMap::from([
        (MODEL_ID_KEY.to_owned(), "ge2e-tiny".to_owned()),
        (MODEL_VERSION_KEY.to_owned(), "0.0.1".to_owned()),
        (FORMAT_VERSION_KEY.to_owned(), "1".to_owned()),
        (SOURCE_SHA256_KEY.to_owned(), "00ff".to_owned()),
    ]);
    assert_eq!(metadata, expected_metadata);

    let file = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.len(), tensors.len());
    for tensor in &tensors {
        let view = file.tensor(&tensor.name).unwrap();
        assert_eq!(view.dtype(), safetensors::Dtype::F32);
        assert_eq!(view.shape(), tensor.shape.as_slice());
        let values: Vec<f32> =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        assert_eq!(values, tensor.values, "{}", tensor.name);
    }
}

#[test]
fn model_file_bytes_are_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let (path, tensors) = tiny_model_file(dir.path());
    let first = std::fs::read(&path).unwrap();

    let reversed: Vec<EncoderTensor> = tensors.into_iter().rev().collect();
    let info = ModelInfo { id: "ge2e-tiny".into(), version: "0.0.1".into() };
    write_model_file(&path, &reversed, &info, "00ff").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), first);

    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["tiny.safetensors"], "no temporary file remains");
}

#[test]
fn import_accepts_only_resemblyzer_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.safetensors");
    let error = import_resemblyzer(&fixture_path("tiny_legacy.pt"), &output).unwrap_err();
    assert!(matches!(error, ImportError::UnknownCheckpoint { .. }), "{error}");
    assert!(!output.exists());

    let error = import_resemblyzer(&dir.path().join("missing.pt"), &output).unwrap_err();
    assert!(matches!(error, ImportError::Read { .. }), "{error}");
}

#[test]
fn encoder_rejects_tiny_model() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = tiny_model_file(dir.path());
    let error = Ge2eEncoder::load(&path).err().unwrap();
    assert!(matches!(&error, ModelError::WrongShape { name, .. } if name == "lstm.weight_ih_l0"), "{error}");
}

/// Rewrites the committed model file with other metadata and tensors.
fn variant_of_model(dir: &Path, metadata: Option<HashMap<String, String>>, extra_tensor: bool) -> PathBuf {
    let bytes = std::fs::read(default_model_path()).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors = file.tensors();
    if extra_tensor {
        let bias = file.tensor("linear.bias").unwrap();
        tensors.push(("similarity_bias".into(), bias));
    }
    let path = dir.join("variant.safetensors");
    std::fs::write(&path, safetensors::serialize(tensors, metadata).unwrap()).unwrap();
    path
}

fn committed_metadata() -> HashMap<String, String> {
    let bytes = std::fs::read(default_model_path()).unwrap();
    SafeTensors::read_metadata(&bytes).unwrap().1.metadata().clone().unwrap()
}

#[test]
fn encoder_checks_metadata() {
    let dir = tempfile::tempdir().unwrap();

    let path = variant_of_model(dir.path(), None, false);
    let error = Ge2eEncoder::load(&path).err().unwrap();
    assert!(matches!(error, ModelError::MissingMetadata { key: "format_version", .. }), "{error}");

    let mut metadata = committed_metadata();
    metadata.insert(FORMAT_VERSION_KEY.into(), "2".into());
    let path = variant_of_model(dir.path(), Some(metadata), false);
    let error = Ge2eEncoder::load(&path).err().unwrap();
    assert!(matches!(&error, ModelError::UnsupportedFormatVersion { found, .. } if found == "2"), "{error}");

    let mut metadata = committed_metadata();
    metadata.remove(MODEL_VERSION_KEY);
    let path = variant_of_model(dir.path(), Some(metadata), false);
    let error = Ge2eEncoder::load(&path).err().unwrap();
    assert!(matches!(error, ModelError::MissingMetadata { key: "model_version", .. }), "{error}");
}

#[test]
fn encoder_rejects_extra_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = variant_of_model(dir.path(), Some(committed_metadata()), true);
    let error = Ge2eEncoder::load(&path).err().unwrap();
    assert!(matches!(&error, ModelError::UnexpectedTensor { name, .. } if name == "similarity_bias"), "{error}");
}

#[test]
fn encoder_rejects_invalid_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.safetensors");
    std::fs::write(&path, b"\xff\xff\xff\xff\xff\xff\xff\xffnot a header").unwrap();
    let error = Ge2eEncoder::load(&path).err().unwrap();
    assert!(matches!(error, ModelError::InvalidFile { .. }), "{error}");

    let error = Ge2eEncoder::load(&dir.path().join("missing.safetensors")).err().unwrap();
    assert!(matches!(error, ModelError::Read { .. }), "{error}");
}

fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes.windows(from.len()).position(|w| w == from).expect("pattern present");
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

/// Parses `bytes` and reads every tensor it can, as an import would; any outcome but a panic is fine.
fn read_everything(bytes: &[u8]) {
    let Ok(checkpoint) = LegacyCheckpoint::parse(bytes) else {
        return;
    };
    let _ = checkpoint.int_entry("step");
    for key in ["model_state", "buffers"] {
        if let Ok(tensors) = checkpoint.state_dict(key) {
            for tensor in &tensors {
                let _ = checkpoint.read_f32(tensor);
            }
        }
    }
    let _ = extract_encoder(&checkpoint, TINY_DIMS);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn corrupt_bytes_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        views in any::<bool>(),
    ) {
        let mut bytes = fixture(if views { "tiny_legacy_views.pt" } else { "tiny_legacy.pt" });
        for (index, mask) in flips {
            let at = index.index(bytes.len());
            bytes[at] ^= mask;
        }
        read_everything(&bytes);
    }

    #[test]
    fn truncated_and_corrupt_bytes_never_panic(
        cut in any::<prop::sample::Index>(),
        index in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let mut bytes = fixture("tiny_legacy.pt");
        let at = index.index(bytes.len());
        bytes[at] = value;
        bytes.truncate(cut.index(bytes.len()));
        prop_assert!(LegacyCheckpoint::parse(&bytes).is_err());
        read_everything(&bytes);
    }
}
