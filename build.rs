//! Compiles the gRPC API in `proto/` with protox, a protobuf compiler written in Rust, so
//! that building needs no system `protoc`. Besides the generated messages and tonic services
//! it writes the encoded file descriptor set that server reflection publishes.

use std::env;
use std::error::Error;
use std::fs;
use std::path::PathBuf;

const PROTO_ROOT: &str = "proto";
const PROTO_FILES: &[&str] = &["voiceprint/v1/messages.proto", "voiceprint/v1/service.proto"];

/// Name under `OUT_DIR` that `tonic::include_file_descriptor_set!` reads.
const DESCRIPTOR_SET_NAME: &str = "voiceprint_descriptor.bin";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");

    let mut compiler = protox::Compiler::new([PROTO_ROOT])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(PROTO_FILES)?;

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join(DESCRIPTOR_SET_NAME), compiler.encode_file_descriptor_set())?;

    // Audio arrives as `bytes`; `Bytes` lets the handlers pass it on without copying.
    tonic_prost_build::configure().bytes(".").compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
