//! Prints the quality measures that the service's gates use, one tab-separated line per
//! audio file: path, duration, speech after trimming (both in seconds), clipping ratio and
//! estimated SNR in dB. It is how the default gate limits in `config.rs` were checked against
//! public speech.
//!
//!     cargo run --example quality_survey -- FILE...

use std::process::ExitCode;

use voiceprint::embed::{AudioSource, Embedder, EmbedderSettings};

fn main() -> ExitCode {
    let embedder = match Embedder::load(&voiceprint::model::default_model_path(), EmbedderSettings::default()) {
        Ok(embedder) => embedder,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };

    println!("file\tduration_seconds\tspeech_seconds\tclipping_ratio\tsnr_db");
    for path in std::env::args().skip(1) {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                eprintln!("{path}: cannot read: {error}");
                continue;
            }
        };
        match embedder.preprocess(AudioSource::Container(&bytes)) {
            Ok(preprocessed) => {
                let quality = preprocessed.quality;
                println!(
                    "{path}\t{:.2}\t{:.2}\t{:.5}\t{:.1}",
                    quality.duration_seconds, quality.speech_seconds, quality.clipping_ratio, quality.snr_db
                );
            }
            Err(error) => eprintln!("{path}: {error}"),
        }
    }
    ExitCode::SUCCESS
}
