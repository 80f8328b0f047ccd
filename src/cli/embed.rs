//! `voiceprint embed` and `voiceprint compare`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use voiceprint::embed::{cosine_similarity, AudioSource, Embedder, EmbedderSettings, Embedding};
use voiceprint::model::{self, Precision};

#[derive(Args)]
pub struct ModelArgs {
    /// Speaker model file (safetensors) [default: models/ge2e-resemblyzer-0.1.4.safetensors]
    #[arg(long, env = "VOICEPRINT_MODEL_PATH")]
    pub model: Option<PathBuf>,
    /// Encoder arithmetic: fp32 (matches Resemblyzer, any CPU), bf16 (needs AVX-512 F, BW, VL
    /// and BF16) or int8 (needs AVX-512 F, BW, VL and VNNI). bf16 and int8 are faster, within
    /// cosine 0.999 of fp32
    #[arg(long, env = "VOICEPRINT_MODEL_PRECISION", default_value_t = Precision::Fp32)]
    pub precision: Precision,
}

impl ModelArgs {
    pub fn load(&self) -> Result<Embedder, String> {
        let path = self.model.clone().unwrap_or_else(model::default_model_path);
        let settings = EmbedderSettings { precision: self.precision, ..EmbedderSettings::default() };
        Embedder::load(&path, settings).map_err(|error| error.to_string())
    }
}

#[derive(Args)]
pub struct EmbedArgs {
    /// Audio files: WAV, FLAC, MP3, M4A (AAC) or Ogg Vorbis.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print one JSON object per file instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Args)]
pub struct CompareArgs {
    /// First audio file.
    pub first: PathBuf,
    /// Second audio file.
    pub second: PathBuf,
    /// Print {"score": ...} instead of the bare score.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// An input that failed, with the reason code that scripts match on.
struct FileError {
    message: String,
    code: &'static str,
}

fn embed_file(embedder: &Embedder, path: &Path) -> Result<Embedding, FileError> {
    let bytes = read_bounded(path, embedder.settings().limits.max_bytes)?;
    embedder
        .embed(AudioSource::Container(&bytes))
        .map_err(|error| FileError { message: error.to_string(), code: error.code() })
}

/// Reads a file, refusing one larger than the audio size limit before reading it.
fn read_bounded(path: &Path, max_bytes: usize) -> Result<Vec<u8>, FileError> {
    let io_error = |error: std::io::Error| FileError { message: format!("cannot read {}: {error}", path.display()), code: "IO_ERROR" };
    let size = std::fs::metadata(path).map_err(io_error)?.len();
    if size > max_bytes as u64 {
        return Err(FileError {
            message: format!("audio input is {size} bytes, over the limit of {max_bytes} bytes"),
            code: "AUDIO_TOO_LARGE",
        });
    }
    std::fs::read(path).map_err(io_error)
}

pub fn run_embed(args: &EmbedArgs) -> ExitCode {
    let embedder = match args.model.load() {
        Ok(embedder) => embedder,
        Err(message) => return fail(&message),
    };

    let mut all_succeeded = true;
    for path in &args.files {
        let file = path.display().to_string();
        match embed_file(&embedder, path) {
            Ok(embedding) if args.json => println!(
                "{}",
                json!({
                    "file": file,
                    "embedding": embedding.vector,
                    "model": embedding.model,
                    "speech_seconds": embedding.quality.speech_seconds,
                })
            ),
            Ok(embedding) => {
                let values: Vec<String> = embedding.vector.iter().map(|v| format!("{v:.7}")).collect();
                println!("{file}\t{}\t{:.2}\t{}", embedding.model, embedding.quality.speech_seconds, values.join(" "));
            }
            Err(error) => {
                all_succeeded = false;
                if args.json {
                    println!("{}", json!({"file": file, "error": {"message": error.message, "code": error.code}}));
                } else {
                    eprintln!("{file}: {} ({})", error.message, error.code);
                }
            }
        }
    }

    if all_succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

pub fn run_compare(args: &CompareArgs) -> ExitCode {
    let embedder = match args.model.load() {
        Ok(embedder) => embedder,
        Err(message) => return fail(&message),
    };

    let mut embeddings = Vec::with_capacity(2);
    for path in [&args.first, &args.second] {
        match embed_file(&embedder, path) {
            Ok(embedding) => embeddings.push(embedding.vector),
            Err(error) => return fail(&format!("{}: {} ({})", path.display(), error.message, error.code)),
        }
    }

    let score = cosine_similarity(&embeddings[0], &embeddings[1]);
    if args.json {
        println!("{}", json!({ "score": score }));
    } else {
        println!("{score:.6}");
    }
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(1)
}
