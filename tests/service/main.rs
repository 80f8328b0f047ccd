//! The gRPC service end to end: a real server on a loopback port with a temporary SQLite
//! file and the real model, called with the generated tonic clients and with the
//! `voiceprint client` binary.

mod cli;
mod decisions;
mod errors;
mod operations;
mod support;
