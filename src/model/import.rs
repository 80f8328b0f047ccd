//! Filled in by the model work: reading pretrained.pt (legacy torch format) and writing safetensors.
