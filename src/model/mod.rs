//! Speaker models. The default is the GE2E encoder of Resemblyzer 0.1.4, ported to candle.
//!
//! `ge2e` runs the encoder from a safetensors model file; `import` makes that file from
//! Resemblyzer's `pretrained.pt`, which `torch_legacy` and `pickle` read.

pub mod ge2e;
pub mod import;
pub mod lstm;
mod pickle;
pub mod precision;
pub mod torch_legacy;

pub use ge2e::{Ge2eDims, Ge2eEncoder, ModelError, ModelInfo};
pub use precision::{CpuFeatures, Isa, Precision, PrecisionError};

use std::path::PathBuf;

/// File name of the default model inside `models/`.
pub const DEFAULT_MODEL_FILE: &str = "ge2e-resemblyzer-0.1.4.safetensors";

/// The default model: `models/` under the working directory when it is there (a checkout or
/// an installed tree), otherwise the `models/` of the source tree this binary was built from.
pub fn default_model_path() -> PathBuf {
    let relative = PathBuf::from("models").join(DEFAULT_MODEL_FILE);
    if relative.exists() {
        return relative;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join(DEFAULT_MODEL_FILE)
}
