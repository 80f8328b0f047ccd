//! Messages and tonic services generated from `proto/voiceprint/v1` at build time.

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod v1 {
    tonic::include_proto!("voiceprint.v1");
}

/// The encoded file descriptor set of the API and its imports, published by server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("voiceprint_descriptor");
