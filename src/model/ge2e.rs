//! Filled in by the model work; the signatures below are the contract.

use std::path::Path;

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
    #[error("cannot read model file {path}: {reason}")]
    Load { path: String, reason: String },
}

pub struct Ge2eEncoder {}

impl Ge2eEncoder {
    pub const PARTIAL_FRAMES: usize = 160;
    pub const EMBEDDING_DIM: usize = 256;

    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let _ = path;
        unimplemented!()
    }

    pub fn info(&self) -> &ModelInfo {
        unimplemented!()
    }

    /// Embeds `n_partials` windows of 160 mel frames × 40 bands, given frame-major in one
    /// slice; each returned embedding has unit L2 norm.
    pub fn embed_partials(&self, mels: &[f32], n_partials: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        let _ = (mels, n_partials);
        unimplemented!()
    }
}
