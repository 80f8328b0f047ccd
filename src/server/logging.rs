use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

/// Installs the process-wide tracing subscriber, writing to standard error in the configured
/// format. Fails if the filter is invalid or a subscriber is already installed.
pub fn init_logging(settings: &LogSettings) -> Result<(), String> {
    let filter = EnvFilter::try_new(&settings.filter).map_err(|error| format!("invalid log.filter: {error}"))?;
    // Colour codes only help on a terminal; in a file or a log collector they are noise.
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);

    let installed = match settings.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|error| format!("cannot install the log subscriber: {error}"))
}
