//! Settings of `voiceprint serve`: built-in defaults, overridden by a TOML file, then by
//! `VOICEPRINT_*` environment variables, then by command-line flags.
//!
//! Every setting has a dotted name, `section.key`, which is its place in the TOML file. Its
//! environment variable is `VOICEPRINT_` followed by the name in upper case, with the dot
//! replaced by an underscore: `verification.threshold` is `VOICEPRINT_VERIFICATION_THRESHOLD`.
//! All sources are parsed and then validated together, so start-up fails with every invalid
//! setting named at once. Unknown keys and variables are reported as warnings.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use crate::audio::Limits;
use crate::model::precision::{select_isa, CpuFeatures, ParsePrecisionError, Precision};
use crate::scoring::{CheckInPolicy, EnrollmentPolicy};
use crate::separation::{ReplayThreshold, SeparationPolicy, StreakPolicy};

/// Default decision threshold on the cosine similarity between a check-in and a voiceprint.
///
/// Calibrated by `voiceprint calibrate --target-far 0.01` on the prompted check-in protocol of
/// DSPSpeech-20 (Mandarin words, 6 enrolment words and 3 test words per trial, 2,000 trials,
/// seed 59): the score at which 1.0% of impostor trials are accepted and 6.2% of genuine
/// ones rejected. docs/accuracy.md has the command and the rates on the other public sets.
pub const DEFAULT_THRESHOLD: f32 = 0.793_293_06;

/// NO_MATCH check-ins in a row, within [`DEFAULT_STREAK_WINDOW`], that raise a mismatch-streak
/// alert. With a genuine speaker's false-reject rate p per attempt, three independent failed
/// attempts in a row happen with probability p³; docs/separation.md works through the rate.
pub const DEFAULT_STREAK_LENGTH: usize = 3;

/// Span within which the NO_MATCH check-ins of a streak must fall.
pub const DEFAULT_STREAK_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// How much more than the claimed subject another subject must score for a proxy alert.
///
/// Measured with `examples/separation_rates.rs` on 436 genuine check-ins of 40 enrolled
/// speakers (VCTK, LibriSpeech, AISHELL-1 and DSPSpeech-20 samples) at the default
/// threshold. A margin of 0 raised 2 false proxy alerts, and 0.02 and 0.05 raised none. The
/// share of impostor check-ins caught fell only from 69.9% at 0 to 69.8% at 0.05.
pub const DEFAULT_PROXY_MARGIN: f32 = 0.05;

/// Alert events the broadcast keeps for WatchAlerts subscribers.
pub const DEFAULT_WATCH_BUFFER: usize = 1024;

/// Maximum streak window accepted.
const MAX_STREAK_WINDOW: Duration = Duration::from_secs(365 * 24 * 3600);

/// gRPC listens on loopback until TLS and authentication exist.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// Relative to the working directory of the server.
pub const DEFAULT_DATA_DIR: &str = "voiceprint-data";

/// Prefix of the environment variables that set settings.
pub const ENV_PREFIX: &str = "VOICEPRINT_";

/// `VOICEPRINT_*` variables that the command line reads itself rather than as settings.
pub const COMMAND_LINE_ENV_VARS: &[&str] = &["VOICEPRINT_CONFIG", "VOICEPRINT_SERVER"];

/// All settings of `voiceprint serve`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub model: ModelSettings,
    pub limits: InputLimits,
    pub verification: CheckInPolicy,
    pub enrollment: EnrollmentPolicy,
    pub separation: SeparationPolicy,
    pub log: LogSettings,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    /// Address of the gRPC server; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Address of the Prometheus endpoint (`GET /metrics`); `None` turns it off.
    pub metrics_listen: Option<SocketAddr>,
    /// Maximum duration of one call, upload included.
    pub request_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreSettings {
    /// Directory of the SQLite database, created when missing.
    pub data_dir: PathBuf,
    /// Keep the audio of enrolment clips and check-ins in the database. Off by default: only
    /// embeddings and measurements are kept.
    pub keep_audio: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelSettings {
    /// The speaker encoder's safetensors file.
    pub path: PathBuf,
    /// Arithmetic of the encoder's matrix products. bf16 and int8 need AVX-512 extensions
    /// and give embeddings within cosine 0.999 of fp32's, so voiceprints enrolled in one
    /// precision stay comparable with check-ins embedded in another.
    pub precision: Precision,
    /// Recordings embedded at the same time.
    pub workers: usize,
    /// Requests that may wait for a worker; beyond `workers + queue_depth` requests in
    /// progress, new ones are rejected as OVERLOADED.
    pub queue_depth: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InputLimits {
    pub audio: Limits,
    /// Maximum number of clips in one enrolment.
    pub max_enrollment_clips: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing_subscriber::EnvFilter` directive, such as "info" or "voiceprint=debug".
    pub filter: String,
}

impl Default for Settings {
    fn default() -> Self {
        let workers = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Settings {
            server: ServerSettings {
                listen: DEFAULT_LISTEN.parse().expect("the default listen address is valid"),
                metrics_listen: Some(DEFAULT_METRICS_LISTEN.parse().expect("the default metrics address is valid")),
                request_timeout: Duration::from_secs(120),
            },
            store: StoreSettings { data_dir: PathBuf::from(DEFAULT_DATA_DIR), keep_audio: false },
            model: ModelSettings {
                path: crate::model::default_model_path(),
                precision: Precision::Fp32,
                workers,
                queue_depth: 16,
            },
            limits: InputLimits { audio: Limits::default(), max_enrollment_clips: 10 },
            // The SNR minimums were checked with examples/quality_survey.rs. Of 200 clean
            // clips of LibriSpeech test-other and AISHELL-1, 0.8% estimate below 5 dB and 3%
            // below 8 dB, while all of 30 clips with white noise added at 0 dB SNR estimate
            // below 5 dB. NOTE: like the threshold, they await calibration on check-in audio.
            verification: CheckInPolicy {
                threshold: DEFAULT_THRESHOLD,
                min_speech_seconds: 1.0,
                max_clipping_ratio: 0.01,
                min_snr_db: 5.0,
            },
            enrollment: EnrollmentPolicy {
                min_clip_speech_seconds: 2.0,
                min_total_speech_seconds: 8.0,
                max_clipping_ratio: 0.01,
                min_snr_db: 8.0,
                min_clip_agreement: 0.70,
            },
            separation: SeparationPolicy {
                streak: StreakPolicy { length: DEFAULT_STREAK_LENGTH, window: DEFAULT_STREAK_WINDOW },
                proxy_margin: DEFAULT_PROXY_MARGIN,
                replay_min_score: ReplayThreshold::DEFAULT.min_score,
                replay_min_matched_hashes: ReplayThreshold::DEFAULT.min_matched_hashes,
                watch_buffer: DEFAULT_WATCH_BUFFER,
            },
            log: LogSettings { format: LogFormat::Text, filter: "info".to_owned() },
        }
    }
}

/// Source of a setting's value, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(String),
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => write!(f, "the default"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A value given on the command line for the setting `name`, by `flag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagValue {
    pub name: &'static str,
    pub flag: &'static str,
    pub value: String,
}

/// The sources settings are read from, lowest precedence first. The environment is passed as
/// a map so that tests never touch the process environment.
#[derive(Debug, Default)]
pub struct SettingSources<'a> {
    pub file: Option<&'a Path>,
    pub env: BTreeMap<String, String>,
    pub flags: Vec<FlagValue>,
}

/// One invalid setting: its name, where the value came from, and why it is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub name: String,
    pub origin: Origin,
    pub reason: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (from {}): {}", self.name, self.origin, self.reason)
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read the settings file {path}: {reason}")]
    File { path: PathBuf, reason: String },

    #[error("invalid settings:\n{}", list_errors(.0))]
    Invalid(Vec<SettingError>),
}

fn list_errors(errors: &[SettingError]) -> String {
    errors.iter().map(|error| format!("  {error}")).collect::<Vec<_>>().join("\n")
}

/// Valid settings, with warnings about keys and variables that were ignored.
#[derive(Debug)]
pub struct LoadedSettings {
    pub settings: Settings,
    pub warnings: Vec<String>,
}

/// One named setting and how to parse it from text.
struct Spec {
    name: &'static str,
    apply: fn(&mut Settings, &str) -> Result<(), String>,
}

/// Builds the [`Spec`] that parses text with `$parse` into the field `$field` of `$settings`.
macro_rules! setting {
    ($name:literal, |$settings:ident| $field:expr, $parse:expr) => {
        Spec {
            name: $name,
            apply: |$settings, text| {
                $field = $parse(text)?;
                Ok(())
            },
        }
    };
}

/// Every setting. Each value arrives as text, whatever its source: a TOML number or boolean is
/// rendered first, so that all sources share one parser per setting.
const SPECS: &[Spec] = &[
    setting!("server.listen", |s| s.server.listen, parse_addr),
    setting!("server.metrics_listen", |s| s.server.metrics_listen, parse_optional_addr),
    setting!("server.request_timeout_seconds", |s| s.server.request_timeout, parse_duration_seconds),
    setting!("store.data_dir", |s| s.store.data_dir, parse_path),
    setting!("store.keep_audio", |s| s.store.keep_audio, parse_bool),
    setting!("model.path", |s| s.model.path, parse_path),
    setting!("model.precision", |s| s.model.precision, parse_precision),
    setting!("model.workers", |s| s.model.workers, parse_number),
    setting!("model.queue_depth", |s| s.model.queue_depth, parse_number),
    setting!("limits.max_audio_bytes", |s| s.limits.audio.max_bytes, parse_number),
    setting!("limits.max_audio_seconds", |s| s.limits.audio.max_seconds, parse_number),
    setting!("limits.max_channels", |s| s.limits.audio.max_channels, parse_number),
    setting!("limits.min_sample_rate_hertz", |s| s.limits.audio.min_sample_rate, parse_number),
    setting!("limits.max_sample_rate_hertz", |s| s.limits.audio.max_sample_rate, parse_number),
    setting!("limits.max_enrollment_clips", |s| s.limits.max_enrollment_clips, parse_number),
    setting!("verification.threshold", |s| s.verification.threshold, parse_number),
    setting!("verification.min_speech_seconds", |s| s.verification.min_speech_seconds, parse_number),
    setting!("verification.max_clipping_ratio", |s| s.verification.max_clipping_ratio, parse_number),
    setting!("verification.min_snr_db", |s| s.verification.min_snr_db, parse_number),
    setting!("enrollment.min_clip_speech_seconds", |s| s.enrollment.min_clip_speech_seconds, parse_number),
    setting!("enrollment.min_total_speech_seconds", |s| s.enrollment.min_total_speech_seconds, parse_number),
    setting!("enrollment.max_clipping_ratio", |s| s.enrollment.max_clipping_ratio, parse_number),
    setting!("enrollment.min_snr_db", |s| s.enrollment.min_snr_db, parse_number),
    setting!("enrollment.min_clip_agreement", |s| s.enrollment.min_clip_agreement, parse_number),
    setting!("separation.streak_length", |s| s.separation.streak.length, parse_number),
    setting!("separation.streak_window_hours", |s| s.separation.streak.window, parse_duration_hours),
    setting!("separation.proxy_margin", |s| s.separation.proxy_margin, parse_number),
    setting!("separation.replay_min_score", |s| s.separation.replay_min_score, parse_number),
    setting!("separation.replay_min_matched_hashes", |s| s.separation.replay_min_matched_hashes, parse_number),
    setting!("separation.watch_buffer", |s| s.separation.watch_buffer, parse_number),
    setting!("log.format", |s| s.log.format, parse_log_format),
    setting!("log.filter", |s| s.log.filter, parse_string),
];

/// Returns the dotted names of every setting, in documentation order.
pub fn setting_names() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|spec| spec.name)
}

/// Returns the environment variable that sets the setting `name`.
pub fn env_var_name(name: &str) -> String {
    format!("{ENV_PREFIX}{}", name.replace('.', "_").to_uppercase())
}

impl Settings {
    /// Reads settings from `sources` over the defaults and validates the result.
    pub fn load(sources: &SettingSources<'_>) -> Result<LoadedSettings, ConfigError> {
        let mut builder = Builder::default();

        if let Some(path) = sources.file {
            builder.apply_file(path)?;
        }
        builder.apply_env(&sources.env);
        for flag in &sources.flags {
            builder.apply(flag.name, &flag.value, Origin::Flag(flag.flag.to_owned()));
        }

        builder.finish()
    }

    /// Checks every value and cross-value constraint, naming each invalid setting.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        let mut check = |name: &'static str, ok: bool, reason: String| {
            if !ok {
                errors.push((name, reason));
            }
        };

        let timeout = self.server.request_timeout;
        check("server.request_timeout_seconds", !timeout.is_zero(), "must be more than 0".into());

        check("store.data_dir", !self.store.data_dir.as_os_str().is_empty(), "must not be empty".into());
        check(
            "model.path",
            self.model.path.is_file(),
            format!(
                "no model file at {}; set model.path to the shipped model, models/{} in the voiceprint \
                 repository, or create one with `voiceprint model import-resemblyzer`",
                self.model.path.display(),
                crate::model::DEFAULT_MODEL_FILE
            ),
        );
        let precision_error = select_isa(self.model.precision, CpuFeatures::detect()).err();
        check("model.precision", precision_error.is_none(), precision_error.map(|error| error.to_string()).unwrap_or_default());
        check("model.workers", (1..=1024).contains(&self.model.workers), "must be between 1 and 1024".into());
        check("model.queue_depth", self.model.queue_depth <= 100_000, "must be at most 100000".into());

        self.validate_limits(&mut check);
        self.validate_policies(&mut check);
        self.validate_separation(&mut check);

        check(
            "log.filter",
            tracing_subscriber::EnvFilter::try_new(&self.log.filter).is_ok(),
            format!("{:?} is not a valid tracing filter directive", self.log.filter),
        );
        errors
    }

    fn validate_limits(&self, check: &mut impl FnMut(&'static str, bool, String)) {
        let audio = &self.limits.audio;

        // The gRPC message limit is the audio limit plus a margin, so both must fit in memory
        // and in the i32 length that gRPC frames carry.
        check(
            "limits.max_audio_bytes",
            (1..=1 << 30).contains(&audio.max_bytes),
            "must be between 1 and 1073741824 (1 GiB)".into(),
        );
        check(
            "limits.max_audio_seconds",
            audio.max_seconds.is_finite() && audio.max_seconds > 0.0 && audio.max_seconds <= 3600.0,
            "must be more than 0 and at most 3600".into(),
        );
        check("limits.max_channels", audio.max_channels >= 1, "must be at least 1".into());
        check("limits.min_sample_rate_hertz", audio.min_sample_rate >= 1, "must be at least 1".into());
        check(
            "limits.max_sample_rate_hertz",
            audio.max_sample_rate >= audio.min_sample_rate,
            format!("must be at least limits.min_sample_rate_hertz ({})", audio.min_sample_rate),
        );
        check(
            "limits.max_enrollment_clips",
            (1..=100).contains(&self.limits.max_enrollment_clips),
            "must be between 1 and 100".into(),
        );
    }

    fn validate_policies(&self, check: &mut impl FnMut(&'static str, bool, String)) {
        let verification = &self.verification;
        check("verification.threshold", is_similarity(verification.threshold), "must be between -1 and 1".into());
        check(
            "verification.min_speech_seconds",
            is_non_negative(verification.min_speech_seconds),
            "must be 0 or more".into(),
        );
        check(
            "verification.max_clipping_ratio",
            is_ratio(verification.max_clipping_ratio),
            "must be between 0 and 1".into(),
        );
        check("verification.min_snr_db", verification.min_snr_db.is_finite(), "must be a finite number".into());

        let enrollment = &self.enrollment;
        check(
            "enrollment.min_clip_speech_seconds",
            is_non_negative(enrollment.min_clip_speech_seconds),
            "must be 0 or more".into(),
        );
        check(
            "enrollment.min_total_speech_seconds",
            is_non_negative(enrollment.min_total_speech_seconds),
            "must be 0 or more".into(),
        );
        check("enrollment.max_clipping_ratio", is_ratio(enrollment.max_clipping_ratio), "must be between 0 and 1".into());
        check("enrollment.min_snr_db", enrollment.min_snr_db.is_finite(), "must be a finite number".into());
        check(
            "enrollment.min_clip_agreement",
            is_similarity(enrollment.min_clip_agreement),
            "must be between -1 and 1".into(),
        );
    }

    fn validate_separation(&self, check: &mut impl FnMut(&'static str, bool, String)) {
        let separation = &self.separation;
        check("separation.streak_length", (1..=100).contains(&separation.streak.length), "must be between 1 and 100".into());
        check(
            "separation.streak_window_hours",
            !separation.streak.window.is_zero() && separation.streak.window <= MAX_STREAK_WINDOW,
            "must be more than 0 and at most 8760 (a year)".into(),
        );
        check(
            "separation.proxy_margin",
            separation.proxy_margin.is_finite() && (0.0..=2.0).contains(&separation.proxy_margin),
            "must be between 0 and 2".into(),
        );
        check(
            "separation.replay_min_score",
            separation.replay_min_score.is_finite() && separation.replay_min_score > 0.0 && separation.replay_min_score <= 1.0,
            "must be more than 0 and at most 1".into(),
        );
        check(
            "separation.replay_min_matched_hashes",
            separation.replay_min_matched_hashes >= 1,
            "must be at least 1".into(),
        );
        check(
            "separation.watch_buffer",
            (1..=1_000_000).contains(&separation.watch_buffer),
            "must be between 1 and 1000000".into(),
        );
    }

    /// Largest gRPC message accepted: the audio limit plus 1 MiB for the other fields, so
    /// that an oversized clip reaches the service's own check and gets AUDIO_TOO_LARGE.
    pub fn max_grpc_message_bytes(&self) -> usize {
        self.limits.audio.max_bytes + (1 << 20)
    }
}

fn is_similarity(value: f32) -> bool {
    value.is_finite() && (-1.0..=1.0).contains(&value)
}

fn is_ratio(value: f64) -> bool {
    value.is_finite() && (0.0..=1.0).contains(&value)
}

fn is_non_negative(value: f64) -> bool {
    value.is_finite() && value >= 0.0
}

/// Settings under construction, with the origin of each value and the problems so far.
#[derive(Default)]
struct Builder {
    settings: Settings,
    origins: BTreeMap<&'static str, Origin>,
    errors: Vec<SettingError>,
    warnings: Vec<String>,
}

impl Builder {
    fn apply(&mut self, name: &str, value: &str, origin: Origin) {
        let Some(spec) = SPECS.iter().find(|spec| spec.name == name) else {
            let hint = similar_setting(name).map(|known| format!("; did you mean {known}?")).unwrap_or_default();
            self.warnings.push(format!("ignoring unknown setting {name} from {origin}{hint}"));
            return;
        };

        match (spec.apply)(&mut self.settings, value.trim()) {
            Ok(()) => {
                self.origins.insert(spec.name, origin);
            }
            Err(reason) => self.errors.push(SettingError { name: spec.name.to_owned(), origin, reason }),
        }
    }

    fn apply_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let file_error = |reason: String| ConfigError::File { path: path.to_owned(), reason };
        let text = std::fs::read_to_string(path).map_err(|error| file_error(error.to_string()))?;
        let table: toml::Table = text.parse().map_err(|error: toml::de::Error| file_error(error.to_string()))?;

        let origin = Origin::File(path.to_owned());
        for (section_name, section) in &table {
            let Some(section) = section.as_table() else {
                self.warnings.push(format!("ignoring unknown setting {section_name} in {}", path.display()));
                continue;
            };
            for (key, value) in section {
                let name = format!("{section_name}.{key}");
                match toml_value_text(value) {
                    Some(text) => self.apply(&name, &text, origin.clone()),
                    None => self.errors.push(SettingError {
                        name,
                        origin: origin.clone(),
                        reason: format!("expected a string, number or boolean, found {}", value.type_str()),
                    }),
                }
            }
        }
        Ok(())
    }

    fn apply_env(&mut self, env: &BTreeMap<String, String>) {
        let known: Vec<(String, &'static str)> = SPECS.iter().map(|spec| (env_var_name(spec.name), spec.name)).collect();

        for (var, value) in env {
            if !var.starts_with(ENV_PREFIX) || COMMAND_LINE_ENV_VARS.contains(&var.as_str()) {
                continue;
            }
            match known.iter().find(|(known_var, _)| known_var == var) {
                Some((_, name)) => self.apply(name, value, Origin::Env(var.clone())),
                None => {
                    let hint = similar_env_var(var, &known).map(|known_var| format!("; did you mean {known_var}?")).unwrap_or_default();
                    self.warnings.push(format!("ignoring unknown environment variable {var}{hint}"));
                }
            }
        }
    }

    fn finish(mut self) -> Result<LoadedSettings, ConfigError> {
        for (name, reason) in self.settings.validate() {
            let origin = self.origins.get(name).cloned().unwrap_or(Origin::Default);
            self.errors.push(SettingError { name: name.to_owned(), origin, reason });
        }

        if self.errors.is_empty() {
            Ok(LoadedSettings { settings: self.settings, warnings: self.warnings })
        } else {
            Err(ConfigError::Invalid(self.errors))
        }
    }
}

/// Returns the setting whose name is closest to a misspelt `name`, within two edits.
fn similar_setting(name: &str) -> Option<&'static str> {
    SPECS
        .iter()
        .map(|spec| (strsim::damerau_levenshtein(name, spec.name), spec.name))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, known)| known)
}

/// Returns the one setting variable that ends with the unknown variable's name after the
/// prefix, such as VOICEPRINT_VERIFICATION_THRESHOLD for VOICEPRINT_THRESHOLD. None when no
/// variable or several match.
fn similar_env_var<'a>(var: &str, known: &'a [(String, &'static str)]) -> Option<&'a str> {
    let suffix = format!("_{}", var.strip_prefix(ENV_PREFIX)?);
    let mut matches = known.iter().filter(|(known_var, _)| known_var.ends_with(&suffix));
    match (matches.next(), matches.next()) {
        (Some((known_var, _)), None) => Some(known_var),
        _ => None,
    }
}

fn toml_value_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(text) => Some(text.clone()),
        toml::Value::Integer(number) => Some(number.to_string()),
        toml::Value::Float(number) => Some(number.to_string()),
        toml::Value::Boolean(flag) => Some(flag.to_string()),
        toml::Value::Datetime(_) | toml::Value::Array(_) | toml::Value::Table(_) => None,
    }
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| format!("{text:?} is not a socket address such as 127.0.0.1:50051"))
}

/// Parses an address, or "" or "off" for none.
fn parse_optional_addr(text: &str) -> Result<Option<SocketAddr>, String> {
    if text.is_empty() || text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    parse_addr(text).map(Some)
}

fn parse_duration_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = parse_number(text)?;
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is not a duration in seconds"))
}

fn parse_duration_hours(text: &str) -> Result<Duration, String> {
    let hours: f64 = parse_number(text)?;
    Duration::try_from_secs_f64(hours * 3600.0).map_err(|_| format!("{text:?} is not a duration in hours"))
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("{text:?} is not a boolean (true or false)")),
    }
}

fn parse_number<T>(text: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    text.parse().map_err(|error| format!("{text:?} is not a valid number: {error}"))
}

fn parse_path(text: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(text))
}

fn parse_string(text: &str) -> Result<String, String> {
    Ok(text.to_owned())
}

fn parse_precision(text: &str) -> Result<Precision, String> {
    text.parse().map_err(|error: ParsePrecisionError| error.to_string())
}

fn parse_log_format(text: &str) -> Result<LogFormat, String> {
    match text.to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!("{text:?} is not a log format (text or json)")),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// Sources whose model path points at an existing file, so that only the values under test
    /// can be invalid.
    fn sources_with_model(model: &Path) -> SettingSources<'static> {
        let flags = vec![FlagValue { name: "model.path", flag: "--model", value: model.display().to_string() }];
        SettingSources { file: None, env: BTreeMap::new(), flags }
    }

    fn model_file() -> tempfile::NamedTempFile {
        tempfile::NamedTempFile::new().expect("temporary file")
    }

    fn invalid_names(error: ConfigError) -> Vec<String> {
        match error {
            ConfigError::Invalid(errors) => errors.into_iter().map(|error| error.name).collect(),
            ConfigError::File { .. } => panic!("expected invalid settings, got {error}"),
        }
    }

    #[test]
    fn defaults_listen_on_loopback() {
        let settings = Settings::default();
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(settings.server.metrics_listen.map(|a| a.to_string()).as_deref(), Some("127.0.0.1:9464"));
        assert_eq!(settings.verification.threshold, DEFAULT_THRESHOLD);
    }

    #[test]
    fn defaults_are_valid_apart_from_model_file() {
        let model = model_file();
        let loaded = Settings::load(&sources_with_model(model.path())).expect("defaults load");
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn missing_model_file_is_named() {
        let mut sources = SettingSources::default();
        sources.flags.push(FlagValue { name: "model.path", flag: "--model", value: "/nonexistent/model".into() });
        let error = Settings::load(&sources).unwrap_err();
        assert_eq!(invalid_names(error), vec!["model.path"]);
    }

    #[test]
    fn flags_override_env_over_file_over_defaults() {
        let model = model_file();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[verification]\nthreshold = 0.6\nmin_snr_db = 7\n[model]\nqueue_depth = 3").unwrap();

        let mut sources = sources_with_model(model.path());
        sources.file = Some(file.path());
        sources.env.insert("VOICEPRINT_VERIFICATION_THRESHOLD".into(), "0.65".into());
        sources.env.insert("VOICEPRINT_MODEL_QUEUE_DEPTH".into(), "4".into());
        sources.flags.push(FlagValue { name: "model.queue_depth", flag: "--queue-depth", value: "5".into() });

        let settings = Settings::load(&sources).unwrap().settings;
        assert_eq!(settings.verification.threshold, 0.65);
        assert_eq!(settings.verification.min_snr_db, 7.0);
        assert_eq!(settings.model.queue_depth, 5);
    }

    #[test]
    fn every_invalid_setting_is_reported() {
        let model = model_file();
        let mut sources = sources_with_model(model.path());
        sources.env.insert("VOICEPRINT_VERIFICATION_THRESHOLD".into(), "1.5".into());
        sources.env.insert("VOICEPRINT_SERVER_LISTEN".into(), "localhost".into());
        sources.env.insert("VOICEPRINT_LIMITS_MIN_SAMPLE_RATE_HERTZ".into(), "48000".into());
        sources.env.insert("VOICEPRINT_LIMITS_MAX_SAMPLE_RATE_HERTZ".into(), "16000".into());
        sources.env.insert("VOICEPRINT_STORE_KEEP_AUDIO".into(), "maybe".into());

        let mut names = invalid_names(Settings::load(&sources).unwrap_err());
        names.sort();
        assert_eq!(
            names,
            vec!["limits.max_sample_rate_hertz", "server.listen", "store.keep_audio", "verification.threshold"]
        );
    }

    #[test]
    fn error_names_origin_of_value() {
        let model = model_file();
        let mut sources = sources_with_model(model.path());
        sources.env.insert("VOICEPRINT_MODEL_WORKERS".into(), "0".into());
        let message = Settings::load(&sources).unwrap_err().to_string();
        assert!(message.contains("model.workers (from environment variable VOICEPRINT_MODEL_WORKERS)"), "{message}");
    }

    #[test]
    fn unknown_keys_and_variables_warn() {
        let model = model_file();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[verification]\nthreshhold = 0.6\n[colour]\nred = 1").unwrap();

        let mut sources = sources_with_model(model.path());
        sources.file = Some(file.path());
        sources.env.insert("VOICEPRINT_THRESHOLD".into(), "0.5".into());
        sources.env.insert("VOICEPRINT_CONFIG".into(), "ignored.toml".into());
        sources.env.insert("HOME".into(), "/root".into());

        let loaded = Settings::load(&sources).unwrap();
        assert_eq!(loaded.settings.verification.threshold, DEFAULT_THRESHOLD);
        assert_eq!(loaded.warnings.len(), 3, "{:?}", loaded.warnings);
        let misspelt = loaded.warnings.iter().find(|w| w.contains("verification.threshhold")).expect("a warning names the key");
        assert!(misspelt.ends_with("; did you mean verification.threshold?"), "{misspelt}");
        assert!(loaded.warnings.iter().any(|w| w.contains("colour.red")));
        assert!(loaded.warnings.iter().any(|w| w.contains("VOICEPRINT_THRESHOLD")));
    }

    #[test]
    fn unknown_variable_names_similar_setting() {
        let model = model_file();
        let mut sources = sources_with_model(model.path());
        sources.env.insert("VOICEPRINT_PRECISION".into(), "int8".into());
        sources.env.insert("VOICEPRINT_LISTEN".into(), "127.0.0.1:1".into());
        sources.env.insert("VOICEPRINT_SECONDS".into(), "3".into());

        let warnings = Settings::load(&sources).unwrap().warnings;

        let warning = |var: &str| warnings.iter().find(|w| w.ends_with(var) || w.contains(&format!("{var};"))).cloned();
        assert_eq!(
            warning("VOICEPRINT_PRECISION").as_deref(),
            Some("ignoring unknown environment variable VOICEPRINT_PRECISION; did you mean VOICEPRINT_MODEL_PRECISION?")
        );
        // VOICEPRINT_SERVER_LISTEN and VOICEPRINT_SERVER_METRICS_LISTEN both end in _LISTEN.
        assert_eq!(warning("VOICEPRINT_LISTEN").as_deref(), Some("ignoring unknown environment variable VOICEPRINT_LISTEN"));
        assert_eq!(warning("VOICEPRINT_SECONDS").as_deref(), Some("ignoring unknown environment variable VOICEPRINT_SECONDS"));
    }

    #[test]
    fn separation_settings_parse_and_validate() {
        let model = model_file();
        let mut sources = sources_with_model(model.path());
        sources.env.insert("VOICEPRINT_SEPARATION_STREAK_WINDOW_HOURS".into(), "12.5".into());
        sources.env.insert("VOICEPRINT_SEPARATION_PROXY_MARGIN".into(), "0.05".into());
        let separation = Settings::load(&sources).unwrap().settings.separation;
        assert_eq!(separation.streak.window, Duration::from_secs(45_000));
        assert_eq!(separation.proxy_margin, 0.05);
        assert_eq!(separation.streak.length, DEFAULT_STREAK_LENGTH);

        sources.env.insert("VOICEPRINT_SEPARATION_STREAK_LENGTH".into(), "0".into());
        sources.env.insert("VOICEPRINT_SEPARATION_REPLAY_MIN_SCORE".into(), "1.5".into());
        sources.env.insert("VOICEPRINT_SEPARATION_STREAK_WINDOW_HOURS".into(), "0".into());
        let mut names = invalid_names(Settings::load(&sources).unwrap_err());
        names.sort();
        assert_eq!(
            names,
            vec!["separation.replay_min_score", "separation.streak_length", "separation.streak_window_hours"]
        );
    }

    #[test]
    fn precision_is_parsed_and_checked_against_the_cpu() {
        let model = model_file();
        let mut sources = sources_with_model(model.path());
        sources.env.insert("VOICEPRINT_MODEL_PRECISION".into(), "fp16".into());
        let message = Settings::load(&sources).unwrap_err().to_string();
        assert!(message.contains("model.precision (from environment variable VOICEPRINT_MODEL_PRECISION)"), "{message}");
        assert!(message.contains("unknown precision \"fp16\": expected fp32, bf16 or int8"), "{message}");

        for precision in Precision::ALL {
            sources.env.insert("VOICEPRINT_MODEL_PRECISION".into(), precision.name().to_uppercase());
            let runnable = select_isa(precision, CpuFeatures::detect()).is_ok();
            match Settings::load(&sources) {
                Ok(loaded) => {
                    assert!(runnable, "{precision} loaded on a CPU that cannot run it");
                    assert_eq!(loaded.settings.model.precision, precision);
                }
                Err(error) => {
                    assert!(!runnable, "{precision} was refused on a CPU that runs it: {error}");
                    assert!(error.to_string().contains("choose precision fp32"), "{error}");
                }
            }
        }
    }

    #[test]
    fn metrics_endpoint_can_be_turned_off() {
        let model = model_file();
        let mut sources = sources_with_model(model.path());
        sources.env.insert("VOICEPRINT_SERVER_METRICS_LISTEN".into(), "off".into());
        assert_eq!(Settings::load(&sources).unwrap().settings.server.metrics_listen, None);
    }

    #[test]
    fn unreadable_file_is_an_error() {
        let sources = SettingSources { file: Some(Path::new("/nonexistent/voiceprint.toml")), ..Default::default() };
        assert!(matches!(Settings::load(&sources), Err(ConfigError::File { .. })));
    }

    #[test]
    fn env_var_names_follow_setting_names() {
        assert_eq!(env_var_name("store.data_dir"), "VOICEPRINT_STORE_DATA_DIR");
        assert!(setting_names().all(|name| name.contains('.')));
    }

    #[test]
    fn grpc_limit_sits_above_audio_limit() {
        let settings = Settings::default();
        assert!(settings.max_grpc_message_bytes() > settings.limits.audio.max_bytes);
    }
}
