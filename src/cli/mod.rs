//! Subcommands of the `voiceprint` binary. Each module parses its own arguments and calls the
//! library; exit status 0 means success, 1 a failed input or call, 2 a usage error.

pub mod client;
pub mod embed;
pub mod eval;
pub mod model;
pub mod serve;
