//! `voiceprint serve`: loads settings, installs logging, and runs the server until SIGINT or
//! SIGTERM.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use voiceprint::clock::SystemClock;
use voiceprint::config::{FlagValue, SettingSources, Settings, ENV_PREFIX};
use voiceprint::server::{init_logging, RunningServer};

/// Exit status for settings that stop start-up, as for other usage errors.
const EXIT_INVALID_SETTINGS: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML settings file
    #[arg(long, value_name = "FILE", env = "VOICEPRINT_CONFIG")]
    config: Option<PathBuf>,

    /// gRPC listen address (server.listen) [default: 127.0.0.1:50051]
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,

    /// Prometheus endpoint address, or "off" (server.metrics_listen) [default: 127.0.0.1:9464]
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,

    /// Directory of the SQLite database, created if missing (store.data_dir) [default: voiceprint-data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<String>,

    /// Speaker model file (model.path) [default: models/ge2e-resemblyzer-0.1.4.safetensors]
    #[arg(long, value_name = "FILE")]
    model: Option<String>,

    /// Encoder arithmetic: fp32, bf16 (needs AVX-512 F, BW, VL and BF16) or int8 (needs
    /// AVX-512 F, BW, VL and VNNI) (model.precision) [default: fp32]
    #[arg(long, value_name = "PRECISION")]
    precision: Option<String>,

    /// Lowest cosine similarity that is a MATCH, in [-1, 1] (verification.threshold)
    #[arg(long, value_name = "SCORE")]
    threshold: Option<String>,

    /// Log format, text or json (log.format) [default: text]
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
}

impl ServeArgs {
    fn flag_values(&self) -> Vec<FlagValue> {
        let flags = [
            ("server.listen", "--listen", &self.listen),
            ("server.metrics_listen", "--metrics-listen", &self.metrics_listen),
            ("store.data_dir", "--data-dir", &self.data_dir),
            ("model.path", "--model", &self.model),
            ("model.precision", "--precision", &self.precision),
            ("verification.threshold", "--threshold", &self.threshold),
            ("log.format", "--log-format", &self.log_format),
        ];
        flags
            .into_iter()
            .filter_map(|(name, flag, value)| Some(FlagValue { name, flag, value: value.clone()? }))
            .collect()
    }
}

pub fn run(args: ServeArgs) -> ExitCode {
    let sources = SettingSources { file: args.config.as_deref(), env: settings_env(), flags: args.flag_values() };
    let loaded = match Settings::load(&sources) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_INVALID_SETTINGS);
        }
    };

    if let Err(error) = init_logging(&loaded.settings.log) {
        eprintln!("error: {error}");
        return ExitCode::from(EXIT_INVALID_SETTINGS);
    }
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };

    let outcome = runtime.block_on(async {
        let server = RunningServer::start(&loaded.settings, Arc::new(SystemClock)).await?;
        server.run_until(shutdown_signal()).await
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the server stopped with an error");
            ExitCode::FAILURE
        }
    }
}

/// Collects the process's `VOICEPRINT_*` variables; other variables are never read.
fn settings_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .filter(|(name, _)| name.starts_with(ENV_PREFIX))
        .collect()
}

/// Completes on Ctrl-C, or on SIGTERM where there are Unix signals.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = interrupt => tracing::info!("interrupted; shutting down"),
        () = terminate => tracing::info!("terminated; shutting down"),
    }
}
