//! The voiceprint command line. Each subcommand's logic lives in `cli/`; this file only
//! dispatches.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "voiceprint", version, about = "Speaker verification for community-correction check-ins")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gRPC service. Settings come from built-in defaults, then a TOML file, then
    /// VOICEPRINT_* environment variables, then these flags.
    Serve(cli::serve::ServeArgs),

    /// Call a running service; prints one JSON object on standard output.
    Client(cli::client::ClientArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve(args) => cli::serve::run(args),
        Command::Client(args) => cli::client::run(args),
    }
}
