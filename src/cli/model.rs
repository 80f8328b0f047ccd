//! `voiceprint model ...`: conversion of published checkpoints into model files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use voiceprint::model::{self, import};

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Convert Resemblyzer 0.1.4's pretrained.pt (legacy torch format) into a model file.
    ImportResemblyzer {
        /// Path of pretrained.pt from the Resemblyzer package.
        path: PathBuf,
        /// Where to write the safetensors model.
        #[arg(long, default_value_os_t = PathBuf::from("models").join(model::DEFAULT_MODEL_FILE))]
        output: PathBuf,
    },
}

pub fn run(command: ModelCommand) -> ExitCode {
    match command {
        ModelCommand::ImportResemblyzer { path, output } => match import::import_resemblyzer(&path, &output) {
            Ok(_) => {
                println!("wrote {}", output.display());
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(1)
            }
        },
    }
}
