//! The `voiceprint` command: embedding and comparison of recordings, model import, and (in
//! their own modules) the server, its client and the evaluation tool.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

#[derive(Parser)]
#[command(name = "voiceprint", version, about = "Voiceprint identity verification")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the speaker embedding of each audio file.
    Embed(cli::embed::EmbedArgs),
    /// Print the cosine similarity of the speakers of two audio files.
    Compare(cli::embed::CompareArgs),
    /// Measure accuracy on speaker verification trials: EER, minDCF, DET curves.
    Eval(Box<cli::eval::EvalArgs>),
    /// Pick the decision threshold for a false-accept target and write it into the settings.
    Calibrate(Box<cli::eval::CalibrateArgs>),
    /// Manage speaker model files.
    #[command(subcommand)]
    Model(cli::model::ModelCommand),
    /// Run the gRPC service. Settings come from built-in defaults, then a TOML file, then
    /// VOICEPRINT_* environment variables, then these flags.
    Serve(cli::serve::ServeArgs),
    /// Call a running service; prints one JSON object on standard output (one per line for
    /// `alerts`).
    Client(cli::client::ClientArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Command::Embed(args) => cli::embed::run_embed(&args),
        Command::Compare(args) => cli::embed::run_compare(&args),
        Command::Eval(args) => cli::eval::run_eval(&args),
        Command::Calibrate(args) => cli::eval::run_calibrate(&args),
        Command::Model(command) => cli::model::run(command),
        Command::Serve(args) => cli::serve::run(args),
        Command::Client(args) => cli::client::run(args),
    }
}
