//! Subcommands of the `voiceprint` binary.

pub mod client;
pub mod serve;
