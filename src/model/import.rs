//! Conversion of Resemblyzer's `pretrained.pt` into the safetensors model file that
//! [`Ge2eEncoder::load`](super::Ge2eEncoder::load) reads.
//!
//! The checkpoint is a dict with the encoder's state dict under "model_state", plus "step"
//! and "optimizer_state". Only the encoder's 14 tensors are kept, under their checkpoint
//! names; the GE2E loss parameters and the optimizer state are training-only.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::ge2e::{
    Ge2eDims, ModelInfo, FORMAT_VERSION, FORMAT_VERSION_KEY, MODEL_ID_KEY, MODEL_VERSION_KEY, SOURCE_SHA256_KEY,
};
use super::torch_legacy::{CheckpointError, LegacyCheckpoint};

/// SHA-256 of `resemblyzer/pretrained.pt` in the Resemblyzer 0.1.4 wheel on PyPI.
pub const RESEMBLYZER_CHECKPOINT_SHA256: &str = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e";
pub const RESEMBLYZER_MODEL_ID: &str = "ge2e-resemblyzer";
pub const RESEMBLYZER_MODEL_VERSION: &str = "0.1.4";

/// Checkpoints larger than this are rejected before they are read; Resemblyzer's is 17 MB.
pub const MAX_CHECKPOINT_BYTES: u64 = 256 * 1024 * 1024;

/// The checkpoint entry that contains the encoder's state dict.
const STATE_DICT_KEY: &str = "model_state";

/// State-dict entries used only by the GE2E loss during training.
const TRAINING_ONLY_TENSORS: [&str; 2] = ["similarity_weight", "similarity_bias"];

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read checkpoint {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("checkpoint {path} is {bytes} bytes, more than the maximum of {max}")]
    FileTooLarge { path: String, bytes: u64, max: u64 },
    #[error(
        "checkpoint {path} has SHA-256 {found}, not {expected} of resemblyzer/pretrained.pt in \
         Resemblyzer 0.1.4; only that file can be imported under the id ge2e-resemblyzer@0.1.4"
    )]
    UnknownCheckpoint { path: String, found: String, expected: &'static str },
    #[error("cannot parse checkpoint {path}: {source}")]
    Checkpoint { path: String, source: CheckpointError },
    #[error("cannot read the encoder's tensors: {0}")]
    StateDict(#[source] CheckpointError),
    #[error("the checkpoint's state dict has no tensor {name}")]
    MissingTensor { name: String },
    #[error("the checkpoint's state dict has an unexpected tensor {name}; it is not a GE2E encoder")]
    UnexpectedTensor { name: String },
    #[error("tensor {name} has shape {found:?}, expected {expected:?}")]
    WrongShape { name: String, expected: Vec<usize>, found: Vec<usize> },
    #[error("tensor {name} contains a NaN or infinite value")]
    NonFiniteValue { name: String },
    #[error("cannot write model file {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

/// A float32 tensor copied out of a checkpoint, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Summary of a finished import, for the command line to report.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    pub output: PathBuf,
    pub info: ModelInfo,
    pub source_sha256: String,
    /// The training step stored in the checkpoint.
    pub checkpoint_step: Option<i64>,
    /// Name and shape of each tensor written, in file order.
    pub tensors: Vec<(String, Vec<usize>)>,
    pub parameters: usize,
}

/// Converts Resemblyzer 0.1.4's `pretrained.pt` at `src` into a model file at `dst`.
///
/// The file's SHA-256 must be [`RESEMBLYZER_CHECKPOINT_SHA256`], so that the id and version
/// written into the model file are true. `dst` is replaced atomically: it is either the old
/// file or the complete new one.
pub fn import_resemblyzer(src: &Path, dst: &Path) -> Result<ImportSummary, ImportError> {
    let display = src.display().to_string();
    let bytes = read_bounded(src, &display)?;
    let source_sha256 = sha256_hex(&bytes);
    if source_sha256 != RESEMBLYZER_CHECKPOINT_SHA256 {
        return Err(ImportError::UnknownCheckpoint {
            path: display,
            found: source_sha256,
            expected: RESEMBLYZER_CHECKPOINT_SHA256,
        });
    }

    let checkpoint =
        LegacyCheckpoint::parse(&bytes).map_err(|source| ImportError::Checkpoint { path: display.clone(), source })?;
    let tensors = extract_encoder(&checkpoint, Ge2eDims::RESEMBLYZER)?;
    let info = ModelInfo { id: RESEMBLYZER_MODEL_ID.into(), version: RESEMBLYZER_MODEL_VERSION.into() };
    write_model_file(dst, &tensors, &info, &source_sha256)?;

    Ok(ImportSummary {
        output: dst.to_path_buf(),
        info,
        source_sha256,
        checkpoint_step: checkpoint.int_entry("step"),
        parameters: tensors.iter().map(|t| t.values.len()).sum(),
        tensors: sorted_by_name(&tensors).iter().map(|t| (t.name.clone(), t.shape.clone())).collect(),
    })
}

/// Copies the encoder's tensors out of the checkpoint's "model_state", in the order
/// [`Ge2eDims::tensor_shapes`] lists them. Each shape is checked before its data is read.
pub fn extract_encoder(checkpoint: &LegacyCheckpoint<'_>, dims: Ge2eDims) -> Result<Vec<EncoderTensor>, ImportError> {
    let stored = checkpoint.state_dict(STATE_DICT_KEY).map_err(ImportError::StateDict)?;
    let expected = dims.tensor_shapes();

    let unexpected = stored.iter().find(|tensor| {
        !TRAINING_ONLY_TENSORS.contains(&tensor.name.as_str()) && !expected.iter().any(|(name, _)| *name == tensor.name)
    });
    if let Some(tensor) = unexpected {
        return Err(ImportError::UnexpectedTensor { name: tensor.name.clone() });
    }

    let mut tensors = Vec::with_capacity(expected.len());
    for (name, shape) in expected {
        let tensor = stored
            .iter()
            .find(|tensor| tensor.name == name)
            .ok_or_else(|| ImportError::MissingTensor { name: name.clone() })?;
        if tensor.shape != shape {
            return Err(ImportError::WrongShape { name, expected: shape, found: tensor.shape.clone() });
        }

        let values = checkpoint.read_f32(tensor).map_err(ImportError::StateDict)?;
        if !values.iter().all(|v| v.is_finite()) {
            return Err(ImportError::NonFiniteValue { name });
        }
        tensors.push(EncoderTensor { name, shape, values });
    }
    Ok(tensors)
}

/// Writes `tensors` as a safetensors file with the model's metadata, replacing `dst`
/// atomically (a temporary file in the same folder, then a rename).
///
/// The header's keys are sorted and the data follows in name order, so the same tensors and
/// metadata always give the same bytes.
pub fn write_model_file(
    dst: &Path,
    tensors: &[EncoderTensor],
    info: &ModelInfo,
    source_sha256: &str,
) -> Result<(), ImportError> {
    let metadata = BTreeMap::from([
        (MODEL_ID_KEY, info.id.as_str()),
        (MODEL_VERSION_KEY, info.version.as_str()),
        (FORMAT_VERSION_KEY, FORMAT_VERSION),
        (SOURCE_SHA256_KEY, source_sha256),
    ]);
    let bytes = safetensors_bytes(tensors, &metadata);

    let write_error = |source| ImportError::Write { path: dst.display().to_string(), source };
    let temporary = temporary_path(dst);
    let written = write_synced(&temporary, &bytes).and_then(|()| fs::rename(&temporary, dst));
    if let Err(error) = written {
        // The temporary file may not exist; the write error is the one worth reporting.
        let _ = fs::remove_file(&temporary);
        return Err(write_error(error));
    }
    Ok(())
}

/// Lays out a safetensors file: the header's length as 8 bytes little endian, the JSON
/// header padded with spaces to a multiple of 8 bytes, then the tensors' data.
fn safetensors_bytes(tensors: &[EncoderTensor], metadata: &BTreeMap<&str, &str>) -> Vec<u8> {
    let tensors = sorted_by_name(tensors);

    // serde_json's map keeps keys sorted, which fixes the header's byte order.
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!(metadata));
    let mut offset = 0usize;
    for tensor in &tensors {
        let len = tensor.values.len() * 4;
        header.insert(
            tensor.name.clone(),
            serde_json::json!({ "dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + len] }),
        );
        offset += len;
    }

    let mut header = serde_json::Value::Object(header).to_string().into_bytes();
    header.resize(header.len().next_multiple_of(8), b' ');

    let mut bytes = Vec::with_capacity(8 + header.len() + offset);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&header);
    for tensor in &tensors {
        bytes.extend(tensor.values.iter().flat_map(|v| v.to_le_bytes()));
    }
    bytes
}

fn sorted_by_name(tensors: &[EncoderTensor]) -> Vec<&EncoderTensor> {
    let mut sorted: Vec<&EncoderTensor> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    sorted
}

fn temporary_path(dst: &Path) -> PathBuf {
    let name = dst.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dst.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn read_bounded(path: &Path, display: &str) -> Result<Vec<u8>, ImportError> {
    let read_error = |source| ImportError::Read { path: display.to_owned(), source };
    let bytes = fs::metadata(path).map_err(read_error)?.len();
    if bytes > MAX_CHECKPOINT_BYTES {
        return Err(ImportError::FileTooLarge { path: display.to_owned(), bytes, max: MAX_CHECKPOINT_BYTES });
    }
    fs::read(path).map_err(read_error)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}
