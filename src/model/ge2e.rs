//! The GE2E speaker encoder of Resemblyzer 0.1.4, run on the CPU.
//!
//! The network, as `resemblyzer/voice_encoder.py` defines it: a 3-layer `nn.LSTM` from 40 mel
//! bands to 256 hidden units, whose top layer's last hidden state goes through
//! `nn.Linear(256, 256)` and a ReLU and is then divided by its L2 norm. The LSTM follows
//! PyTorch's definition: gates in the order input, forget, cell, output; both biases; zero
//! initial hidden and cell states. It runs on the fused kernels of [`super::lstm`] in the
//! [`Precision`] chosen at load.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use safetensors::SafeTensors;

use super::lstm::{LayerWeights, Lstm, LstmError};
use super::precision::{Precision, PrecisionError};

/// Safetensors metadata key of the model's id, such as "ge2e-resemblyzer".
pub const MODEL_ID_KEY: &str = "model_id";
/// Safetensors metadata key of the model's version, such as "0.1.4".
pub const MODEL_VERSION_KEY: &str = "model_version";
/// Safetensors metadata key of the model file layout's version.
pub const FORMAT_VERSION_KEY: &str = "format_version";
/// Safetensors metadata key of the SHA-256 of the checkpoint the file was converted from.
pub const SOURCE_SHA256_KEY: &str = "source_sha256";
/// The model file layout this code reads and writes: float32 tensors named as in the PyTorch
/// checkpoint, with the metadata keys above.
pub const FORMAT_VERSION: &str = "1";

/// Model files larger than this are rejected before they are read. The GE2E encoder's file is
/// about 5.7 MB.
pub const MAX_MODEL_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Most partials in one run of the LSTM. Each partial needs about 0.35 MB of intermediate
/// values (two layers' 160 steps × 256 hidden values × 4 bytes, plus its share of a time
/// chunk's gates), so batching bounds peak memory however many partials a call passes. 24
/// is three full 8-row tiles of the kernels.
const MAX_BATCH_PARTIALS: usize = 24;

/// Identity of a model file, stored in its safetensors metadata and attached to every
/// embedding it makes, so that voiceprints from different models are never compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// Such as "ge2e-resemblyzer".
    pub id: String,
    /// Such as "0.1.4".
    pub version: String,
}

impl ModelInfo {
    /// "id@version", the tag stored beside embeddings.
    pub fn tag(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("model file {path} is {bytes} bytes, more than the maximum of {max}")]
    FileTooLarge { path: String, bytes: u64, max: u64 },
    #[error("model file {path} is not a valid safetensors file: {reason}")]
    InvalidFile { path: String, reason: String },
    #[error(
        "model file {path} has no metadata entry {key:?}; convert the model with `voiceprint model import-resemblyzer`"
    )]
    MissingMetadata { path: String, key: &'static str },
    #[error("model file {path} has format version {found:?}; this build reads version {FORMAT_VERSION:?}")]
    UnsupportedFormatVersion { path: String, found: String },
    #[error("model file {path} has no tensor {name}")]
    MissingTensor { path: String, name: String },
    #[error("model file {path} has an unexpected tensor {name}; it is not a GE2E encoder of this shape")]
    UnexpectedTensor { path: String, name: String },
    #[error("tensor {name} in {path} has shape {found:?}, expected {expected:?}")]
    WrongShape { path: String, name: String, expected: Vec<usize>, found: Vec<usize> },
    #[error("tensor {name} in {path} has dtype {found}, expected F32")]
    WrongDtype { path: String, name: String, found: String },
    #[error("tensor {name} in {path} contains a NaN or infinite value")]
    NonFiniteWeight { path: String, name: String },
    #[error("mel input has {found} values; {n_partials} partials of {frames} frames × {bands} bands need {expected}")]
    InputLength { found: usize, expected: usize, n_partials: usize, frames: usize, bands: usize },
    #[error("mel input value {index} is NaN or infinite")]
    NonFiniteInput { index: usize },
    #[error("partial {partial} has an embedding of norm {norm} after the ReLU, which cannot be normalised")]
    DegenerateEmbedding { partial: usize, norm: f32 },
    #[error("cannot read a tensor of the model file: {0}")]
    Tensor(#[from] candle_core::Error),
    #[error(transparent)]
    Precision(#[from] PrecisionError),
    #[error("cannot build the encoder's LSTM: {0}")]
    Lstm(LstmError),
}

impl From<LstmError> for ModelError {
    fn from(error: LstmError) -> Self {
        match error {
            LstmError::Precision(error) => ModelError::Precision(error),
            other => ModelError::Lstm(other),
        }
    }
}

/// Sizes of a GE2E encoder: an LSTM stack over mel frames and a linear projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ge2eDims {
    pub mel_bands: usize,
    pub hidden: usize,
    pub layers: usize,
    pub embedding: usize,
}

impl Ge2eDims {
    /// Resemblyzer 0.1.4: `nn.LSTM(40, 256, 3)` and `nn.Linear(256, 256)`.
    pub const RESEMBLYZER: Ge2eDims = Ge2eDims { mel_bands: 40, hidden: 256, layers: 3, embedding: 256 };

    /// Lists every tensor of the encoder with its shape, named as `nn.LSTM` and `nn.Linear`
    /// name them in a PyTorch state dict.
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let gates = 4 * self.hidden;
        let mut shapes = Vec::with_capacity(4 * self.layers + 2);
        for layer in 0..self.layers {
            let input = if layer == 0 { self.mel_bands } else { self.hidden };
            shapes.push((format!("lstm.weight_ih_l{layer}"), vec![gates, input]));
            shapes.push((format!("lstm.weight_hh_l{layer}"), vec![gates, self.hidden]));
            shapes.push((format!("lstm.bias_ih_l{layer}"), vec![gates]));
            shapes.push((format!("lstm.bias_hh_l{layer}"), vec![gates]));
        }
        shapes.push(("linear.weight".into(), vec![self.embedding, self.hidden]));
        shapes.push(("linear.bias".into(), vec![self.embedding]));
        shapes
    }
}

/// The GE2E encoder. It holds only immutable packed weights, so one instance serves any
/// number of threads, and equal input gives bit-identical output whatever else is in the
/// batch.
pub struct Ge2eEncoder {
    info: ModelInfo,
    lstm: Lstm,
    /// `linear.weight`: (embedding, hidden), row-major.
    projection_weight: Vec<f32>,
    projection_bias: Vec<f32>,
}

impl Ge2eEncoder {
    pub const PARTIAL_FRAMES: usize = 160;
    pub const MEL_BANDS: usize = 40;
    pub const EMBEDDING_DIM: usize = 256;

    /// Values in one partial window: 160 frames × 40 bands.
    const WINDOW_VALUES: usize = Self::PARTIAL_FRAMES * Self::MEL_BANDS;

    /// Loads a model file written by `voiceprint model import-resemblyzer`, checking its
    /// metadata and every tensor's name, shape, dtype and values, to run in float32.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        Self::load_with_precision(path, Precision::Fp32)
    }

    /// Loads a model file as [`Ge2eEncoder::load`] does, to run in `precision`. Fails with
    /// [`ModelError::Precision`] when this CPU lacks the instructions that `precision` needs.
    pub fn load_with_precision(path: &Path, precision: Precision) -> Result<Self, ModelError> {
        let display = path.display().to_string();
        let bytes = read_bounded(path, &display)?;
        let file = SafeTensors::deserialize(&bytes)
            .map_err(|e| ModelError::InvalidFile { path: display.clone(), reason: e.to_string() })?;
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| ModelError::InvalidFile { path: display.clone(), reason: e.to_string() })?;

        let info = model_info(header.metadata().as_ref(), &display)?;
        let mut tensors = checked_tensors(&file, Ge2eDims::RESEMBLYZER, &display)?;
        let mut take = |name: &str| {
            tensors
                .remove(name)
                .ok_or_else(|| ModelError::MissingTensor { path: display.clone(), name: name.to_owned() })
        };

        let mut matrices = Vec::with_capacity(Ge2eDims::RESEMBLYZER.layers);
        for layer in 0..Ge2eDims::RESEMBLYZER.layers {
            matrices.push([
                values(take(&format!("lstm.weight_ih_l{layer}"))?)?,
                values(take(&format!("lstm.weight_hh_l{layer}"))?)?,
                values(take(&format!("lstm.bias_ih_l{layer}"))?)?,
                values(take(&format!("lstm.bias_hh_l{layer}"))?)?,
            ]);
        }
        let layers: Vec<LayerWeights<'_>> =
            matrices.iter().map(|[w_ih, w_hh, b_ih, b_hh]| LayerWeights { w_ih, w_hh, b_ih, b_hh }).collect();
        let lstm = Lstm::new(&layers, precision)?;

        let projection_weight = values(take("linear.weight")?)?;
        let projection_bias = values(take("linear.bias")?)?;
        Ok(Ge2eEncoder { info, lstm, projection_weight, projection_bias })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn precision(&self) -> Precision {
        self.lstm.precision()
    }

    /// Embeds `n_partials` windows of 160 mel frames × 40 bands, given frame-major in one
    /// slice; each returned embedding has unit L2 norm. No partials give no embeddings.
    pub fn embed_partials(&self, mels: &[f32], n_partials: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        let expected = n_partials.checked_mul(Self::WINDOW_VALUES);
        if expected != Some(mels.len()) {
            return Err(ModelError::InputLength {
                found: mels.len(),
                expected: expected.unwrap_or(usize::MAX),
                n_partials,
                frames: Self::PARTIAL_FRAMES,
                bands: Self::MEL_BANDS,
            });
        }
        if let Some(index) = mels.iter().position(|value| !value.is_finite()) {
            return Err(ModelError::NonFiniteInput { index });
        }

        let mut embeddings = Vec::with_capacity(n_partials);
        for batch in balanced_batches(n_partials, MAX_BATCH_PARTIALS) {
            let raw = self.forward(&mels[batch.start * Self::WINDOW_VALUES..batch.end * Self::WINDOW_VALUES])?;
            for row in raw {
                embeddings.push(normalize(row, embeddings.len())?);
            }
        }
        Ok(embeddings)
    }

    /// Runs the network on whole windows; returns each partial's embedding after the ReLU,
    /// before normalisation.
    fn forward(&self, mels: &[f32]) -> Result<Vec<Vec<f32>>, ModelError> {
        let batch = mels.len() / Self::WINDOW_VALUES;
        let states = self.lstm.forward(mels, batch, Self::PARTIAL_FRAMES)?;
        let hidden = self.lstm.hidden_size();
        Ok(states.top_hidden().chunks(hidden).map(|last_hidden| self.project(last_hidden)).collect())
    }

    /// Applies `linear` and the ReLU to a last hidden state.
    fn project(&self, last_hidden: &[f32]) -> Vec<f32> {
        self.projection_weight
            .chunks(last_hidden.len())
            .zip(&self.projection_bias)
            .map(|(row, bias)| {
                let sum: f32 = row.iter().zip(last_hidden).map(|(w, h)| w * h).sum();
                (sum + bias).max(0.0)
            })
            .collect()
    }
}

/// Splits `count` partials into consecutive runs of at most `max` whose sizes differ by at
/// most one: 30 partials run as 15 and 15, not 24 and a poorly batched 6.
fn balanced_batches(count: usize, max: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let batches = count.div_ceil(max);
    (0..batches).map(move |index| index * count / batches..(index + 1) * count / batches)
}

fn values(tensor: Tensor) -> Result<Vec<f32>, ModelError> {
    Ok(tensor.flatten_all()?.to_vec1::<f32>()?)
}

fn normalize(mut embedding: Vec<f32>, partial: usize) -> Result<Vec<f32>, ModelError> {
    let norm = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return Err(ModelError::DegenerateEmbedding { partial, norm });
    }
    for value in &mut embedding {
        *value /= norm;
    }
    Ok(embedding)
}

fn read_bounded(path: &Path, display: &str) -> Result<Vec<u8>, ModelError> {
    let read_error = |source| ModelError::Read { path: display.to_owned(), source };
    let bytes = std::fs::metadata(path).map_err(read_error)?.len();
    if bytes > MAX_MODEL_FILE_BYTES {
        return Err(ModelError::FileTooLarge { path: display.to_owned(), bytes, max: MAX_MODEL_FILE_BYTES });
    }
    std::fs::read(path).map_err(read_error)
}

fn model_info(metadata: Option<&HashMap<String, String>>, path: &str) -> Result<ModelInfo, ModelError> {
    let get = |key: &'static str| {
        metadata
            .and_then(|metadata| metadata.get(key))
            .filter(|value| !value.is_empty())
            .cloned()
            .ok_or(ModelError::MissingMetadata { path: path.to_owned(), key })
    };

    let format_version = get(FORMAT_VERSION_KEY)?;
    if format_version != FORMAT_VERSION {
        return Err(ModelError::UnsupportedFormatVersion { path: path.to_owned(), found: format_version });
    }
    Ok(ModelInfo { id: get(MODEL_ID_KEY)?, version: get(MODEL_VERSION_KEY)? })
}

/// Returns every tensor `dims` calls for, after checking that the file has exactly those
/// names, each float32 with the expected shape and finite values.
fn checked_tensors(file: &SafeTensors<'_>, dims: Ge2eDims, path: &str) -> Result<HashMap<String, Tensor>, ModelError> {
    let expected = dims.tensor_shapes();
    if let Some(name) = file.names().into_iter().find(|name| !expected.iter().any(|(known, _)| known == name)) {
        return Err(ModelError::UnexpectedTensor { path: path.to_owned(), name: name.to_owned() });
    }

    let mut tensors = HashMap::with_capacity(expected.len());
    for (name, shape) in expected {
        let view =
            file.tensor(&name).map_err(|_| ModelError::MissingTensor { path: path.to_owned(), name: name.clone() })?;
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(ModelError::WrongDtype { path: path.to_owned(), name, found: format!("{:?}", view.dtype()) });
        }
        if view.shape() != shape.as_slice() {
            return Err(ModelError::WrongShape {
                path: path.to_owned(),
                name,
                expected: shape,
                found: view.shape().to_vec(),
            });
        }

        let finite = view
            .data()
            .chunks_exact(4)
            .all(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]).is_finite());
        if !finite {
            return Err(ModelError::NonFiniteWeight { path: path.to_owned(), name });
        }
        let tensor = Tensor::from_raw_buffer(view.data(), DType::F32, &shape, &Device::Cpu)?;
        tensors.insert(name, tensor);
    }
    Ok(tensors)
}

// The service shares one encoder across its worker threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Ge2eEncoder>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_evenly() {
        let sizes = |count| balanced_batches(count, MAX_BATCH_PARTIALS).map(|batch| batch.len()).collect::<Vec<_>>();
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(18), [18]);
        assert_eq!(sizes(24), [24]);
        assert_eq!(sizes(30), [15, 15]);
        assert_eq!(sizes(49), [16, 16, 17]);
    }

    #[test]
    fn batches_cover_every_partial_once() {
        let batches: Vec<_> = balanced_batches(53, MAX_BATCH_PARTIALS).collect();
        assert_eq!(batches.first().map(|batch| batch.start), Some(0));
        assert_eq!(batches.last().map(|batch| batch.end), Some(53));
        assert!(batches.windows(2).all(|pair| pair[0].end == pair[1].start));
    }
}
