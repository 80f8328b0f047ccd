//! Filled in by the model work: reading pretrained.pt (legacy torch format) and writing safetensors.

use std::path::Path;

use super::ModelError;

pub fn import_resemblyzer(src: &Path, dst: &Path) -> Result<(), ModelError> {
    let _ = (src, dst);
    unimplemented!()
}
