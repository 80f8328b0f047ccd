//! `voiceprint eval` and `voiceprint calibrate`: accuracy on speaker verification trials, and
//! the decision threshold for a false-accept target.
//!
//! The arguments are parsed by clap into the structs below and then validated into the
//! library's types (`TrialSource`); the measurement itself is in `voiceprint::eval`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use voiceprint::embed::{Embedder, EmbedderSettings};
use voiceprint::eval::cache::EmbeddingCache;
use voiceprint::eval::calibrate;
use voiceprint::eval::cohort::{self, CohortEntry};
use voiceprint::eval::embedding::RecordingEmbedder;
use voiceprint::eval::evaluate::{self, Evaluation, EvaluationRequest, TrialScore};
use voiceprint::eval::manifest::Manifest;
use voiceprint::eval::metrics::{DetCurve, ScoredTrial};
use voiceprint::eval::plot::{self, PlotRun};
use voiceprint::eval::prompted::PromptedProtocol;
use voiceprint::eval::protocol::{Join, TrialListSource, TrialSet};
use voiceprint::eval::report::{Report, RunDetails, RunReport};
use voiceprint::eval::scores::ScoreLine;
use voiceprint::eval::trials::{self, EnrollMap};
use voiceprint::eval::{scores, EvalError};
use voiceprint::model;

/// Default number of cohort recordings that each side is normalised by (`--top-n`).
const DEFAULT_TOP_N: usize = 100;

#[derive(Args)]
pub struct TrialSourceArgs {
    /// Trial list: `label enroll test` lines (VoxCeleb) or `enroll test label` (CN-Celeb), with
    /// label 1/target or 0/nontarget. A side may name several files joined by `+`.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "manifest",
        help_heading = "Trial list"
    )]
    pub trials: Option<PathBuf>,

    /// Folder the trial list's paths are relative to [default: the trial list's folder].
    #[arg(
        long,
        value_name = "DIR",
        requires = "trials",
        help_heading = "Trial list"
    )]
    pub audio_root: Option<PathBuf>,

    /// Enrolment map: an enrolment id followed by its files on each line. The enrolment
    /// column of the trial list then names these ids.
    #[arg(
        long,
        value_name = "FILE",
        requires = "trials",
        help_heading = "Trial list"
    )]
    pub enroll_map: Option<PathBuf>,

    /// Combination of the files of one side. `mean` embeds each file and averages the
    /// embeddings, as the service enrols from several clips. `concat` plays the files one
    /// after the other as one recording, as the prompted protocol does.
    #[arg(long, value_enum, default_value_t = JoinArg::Mean, requires = "trials", help_heading = "Trial list")]
    pub join: JoinArg,

    /// Manifest (`relative_path`, `speaker_id`) of the audio root, naming the speaker of each
    /// trial file. Needed with `--cohort`, to check that cohort and trial speakers are disjoint.
    #[arg(
        long,
        value_name = "FILE",
        requires = "trials",
        help_heading = "Trial list"
    )]
    pub speakers: Option<PathBuf>,

    /// Prompted check-in protocol: a manifest of single words or digits (`relative_path`,
    /// `speaker_id`, paths relative to the manifest's folder).
    #[arg(
        long,
        value_name = "FILE",
        requires_all = ["enroll_utts", "test_utts", "num_trials", "seed"],
        help_heading = "Prompted protocol"
    )]
    pub manifest: Option<PathBuf>,

    /// Utterances per enrolment (K), played one after the other.
    #[arg(
        long,
        value_name = "K",
        requires = "manifest",
        help_heading = "Prompted protocol"
    )]
    pub enroll_utts: Option<usize>,

    /// Utterances per test recording (M), played one after the other.
    #[arg(
        long,
        value_name = "M",
        requires = "manifest",
        help_heading = "Prompted protocol"
    )]
    pub test_utts: Option<usize>,

    /// Trials to draw, half target and half non-target.
    #[arg(
        long,
        value_name = "N",
        requires = "manifest",
        help_heading = "Prompted protocol"
    )]
    pub num_trials: Option<usize>,

    /// Seed of the draw: the same seed and manifest give the same trials.
    #[arg(
        long,
        value_name = "S",
        requires = "manifest",
        help_heading = "Prompted protocol"
    )]
    pub seed: Option<u64>,

    /// Speakers of the manifest to hold out of the trials as an AS-norm cohort (0: none).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        requires = "manifest",
        help_heading = "Prompted protocol"
    )]
    pub cohort_speakers: usize,

    /// Write the trials to FILE in the trial-list layout (`label enroll test`), so that other
    /// tools can score the very same trials. Prompted sides join their files with `+` and
    /// must be read back with `--join concat`.
    #[arg(long, value_name = "FILE")]
    pub write_trials: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum JoinArg {
    Mean,
    Concat,
}

#[derive(Args)]
pub struct EmbeddingArgs {
    #[command(flatten)]
    pub model: super::embed::ModelArgs,

    /// Embedding cache file (SQLite) [default: $XDG_CACHE_HOME/voiceprint/embeddings.sqlite3,
    /// or ~/.cache/voiceprint/embeddings.sqlite3].
    #[arg(long, value_name = "FILE", conflicts_with = "no_cache")]
    pub cache: Option<PathBuf>,

    /// Embed every recording again and store nothing.
    #[arg(long)]
    pub no_cache: bool,

    /// Worker threads for embedding [default: one per CPU core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Minimum seconds of speech after silence trimming. Shorter recordings are rejected, as
    /// the service rejects them [default: the service's setting].
    #[arg(long, value_name = "SECONDS")]
    pub min_speech_seconds: Option<f64>,

    /// Draw no progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub source: TrialSourceArgs,

    #[command(flatten)]
    pub embedding: EmbeddingArgs,

    /// AS-norm cohort: a manifest (`relative_path`, `speaker_id`) of recordings of speakers
    /// who appear in no trial. May be repeated. AS-norm scores are reported beside the raw
    /// cosine scores whenever a cohort is given.
    #[arg(long, value_name = "FILE", help_heading = "Score normalisation")]
    pub cohort: Vec<PathBuf>,

    /// Cohort recordings most similar to each side that AS-norm normalises by.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP_N, help_heading = "Score normalisation")]
    pub top_n: usize,

    /// Score file of another run to report and plot beside this one: `label score [enroll
    /// test]` lines, as `--save-scores` writes them. `NAME=FILE` names the run. May be repeated.
    #[arg(long, value_name = "[NAME=]FILE", help_heading = "Output")]
    pub scores: Vec<String>,

    /// Report every run on only the trials that all runs scored, matched by label and sides,
    /// for comparing systems that reject different recordings. Score files need the
    /// `enroll test` columns for this.
    #[arg(long, help_heading = "Output")]
    pub common_trials: bool,

    /// Also report the false-reject and false-accept rates at this cosine threshold, such as
    /// the service's setting. AS-norm scores have another scale and are not reported at it.
    #[arg(long, value_name = "SCORE", help_heading = "Output")]
    pub threshold: Option<f64>,

    /// Name of this run in reports and plots.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "voiceprint",
        help_heading = "Output"
    )]
    pub name: String,

    /// Print one JSON object instead of a table.
    #[arg(long, help_heading = "Output")]
    pub json: bool,

    /// Write the DET curve and the score histograms to PREFIX-det.{svg,png} and
    /// PREFIX-hist.{svg,png}.
    #[arg(long, value_name = "PREFIX", help_heading = "Output")]
    pub plot: Option<PathBuf>,

    /// Title of the plots [default: the trial list or manifest].
    #[arg(long, value_name = "TEXT", help_heading = "Output")]
    pub title: Option<String>,

    /// Write the cosine scores to FILE (`label score enroll test`).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub save_scores: Option<PathBuf>,

    /// Write the AS-norm scores to FILE (`label score enroll test`).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub save_as_norm_scores: Option<PathBuf>,
}

#[derive(Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub source: TrialSourceArgs,

    #[command(flatten)]
    pub embedding: EmbeddingArgs,

    /// Calibrate on the scores in FILE (`label score [enroll test]` lines, as `eval
    /// --save-scores` writes them) instead of embedding audio.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["trials", "manifest"])]
    pub scores: Option<PathBuf>,

    /// False-accept rate to calibrate for, as a fraction (0.01 is 1%).
    #[arg(long, value_name = "FRACTION")]
    pub target_far: f64,

    /// Service settings file (TOML) to write `verification.threshold` into, created if
    /// missing. Other keys and comments are kept.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Trials (and a held-out cohort) from the validated arguments, with a one-line description
/// of where they came from.
struct TrialSource {
    trial_set: TrialSet,
    held_out_cohort: Vec<CohortEntry>,
    description: String,
}

pub fn run_eval(args: &EvalArgs) -> ExitCode {
    exit_code(eval(args))
}

pub fn run_calibrate(args: &CalibrateArgs) -> ExitCode {
    exit_code(calibrate(args))
}

/// A failure of a subcommand: usage errors exit with 2, all others with 1.
enum Failure {
    Usage(String),
    Run(EvalError),
}

impl From<EvalError> for Failure {
    fn from(error: EvalError) -> Self {
        Failure::Run(error)
    }
}

fn exit_code(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Run(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}

fn eval(args: &EvalArgs) -> Result<(), Failure> {
    let compared = read_compared_scores(&args.scores)?;
    let source = if args.source.trials.is_some() || args.source.manifest.is_some() {
        Some(trial_source(&args.source)?)
    } else {
        None
    };
    if source.is_none() && compared.is_empty() {
        return Err(Failure::Usage(
            "give --trials, --manifest or at least one --scores file".to_string(),
        ));
    }
    if source.is_none() && !args.cohort.is_empty() {
        return Err(Failure::Usage(
            "--cohort needs trials to score: give --trials or --manifest".to_string(),
        ));
    }

    let mut runs: Vec<(String, Vec<ScoreLine>)> = Vec::new();
    let mut details = None;
    if let Some(source) = &source {
        let cohort = cohort_entries(&args.cohort, source)?;
        let (evaluation, run_details) =
            run_embeddings(&args.embedding, source, cohort, args.top_n)?;
        save_scores(args, &source.trial_set, &evaluation)?;

        runs.push((
            args.name.clone(),
            score_lines(&source.trial_set, &evaluation, |s| Some(s.cosine)),
        ));
        if evaluation.cohort.is_some() {
            runs.push((
                format!("{}, AS-norm", args.name),
                score_lines(&source.trial_set, &evaluation, |s| s.as_norm),
            ));
        }
        details = Some(run_details);
    }
    runs.extend(compared);
    if args.common_trials {
        scores::keep_common_trials(&mut runs)?;
    }
    let runs: Vec<(String, Vec<ScoredTrial>)> = runs
        .into_iter()
        .map(|(name, lines)| (name, lines.iter().map(ScoreLine::scored_trial).collect()))
        .collect();

    let curves: Vec<DetCurve> = runs
        .iter()
        .map(|(_, trials)| DetCurve::new(trials))
        .collect::<Result<_, _>>()?;
    let has_as_norm = details.as_ref().is_some_and(|d| d.cohort.is_some());
    let as_norm_index = has_as_norm.then_some(1);
    let reports: Vec<RunReport> = runs
        .iter()
        .zip(&curves)
        .enumerate()
        .map(|(index, ((name, _), curve))| RunReport {
            name: name.clone(),
            metrics: curve.metrics(),
            at_threshold: args
                .threshold
                .filter(|_| Some(index) != as_norm_index)
                .map(|threshold| curve.at_threshold(threshold)),
        })
        .collect();

    let report = build_report(reports.clone(), has_as_norm, details);
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }

    if let Some(prefix) = &args.plot {
        let default_title = source
            .as_ref()
            .map_or_else(|| "score files".to_string(), |s| s.description.clone());
        let title = args.title.clone().unwrap_or(default_title);
        let plot_runs: Vec<PlotRun<'_>> = runs
            .iter()
            .zip(&curves)
            .zip(&reports)
            .map(|(((name, trials), curve), report)| PlotRun {
                name,
                trials,
                curve,
                metrics: &report.metrics,
            })
            .collect();
        for path in plot::write_plots(prefix, &title, &plot_runs)? {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// Builds the report from runs in the order main, AS-norm (when present), compared.
fn build_report(
    mut reports: Vec<RunReport>,
    has_as_norm: bool,
    details: Option<RunDetails>,
) -> Report {
    let main = reports.remove(0);
    let as_norm = if has_as_norm {
        Some(reports.remove(0))
    } else {
        None
    };
    Report {
        main,
        as_norm,
        compared: reports,
        details,
    }
}

fn calibrate(args: &CalibrateArgs) -> Result<(), Failure> {
    if args.source.cohort_speakers > 0 {
        return Err(Failure::Usage(
            "--cohort-speakers has no use in calibrate: the service compares raw cosine scores"
                .to_string(),
        ));
    }
    let (trials, description, model) = calibration_scores(args)?;

    let curve = DetCurve::new(&trials)?;
    let point = calibrate::threshold_for_far(&curve, args.target_far)?;
    let mut provenance = vec![
        format!(
            "FAR {:.2}% (target {:.2}%) and FRR {:.2}% on {} target and {} non-target trials",
            100.0 * point.false_alarm_rate,
            100.0 * args.target_far,
            100.0 * point.miss_rate,
            curve.targets(),
            curve.non_targets()
        ),
        description.clone(),
    ];
    provenance.extend(model);
    calibrate::write_threshold(&args.config, point.threshold, &provenance)?;

    if args.json {
        let json = serde_json::json!({
            "threshold": point.threshold,
            "target_far": args.target_far,
            "far": point.false_alarm_rate,
            "frr": point.miss_rate,
            "targets": curve.targets(),
            "non_targets": curve.non_targets(),
            "data": description,
            "config": args.config,
        });
        println!("{json}");
    } else {
        println!(
            "threshold {} (accept when the cosine score is at least this)",
            point.threshold
        );
        for line in &provenance {
            println!("{line}");
        }
        println!("wrote {}", args.config.display());
    }
    Ok(())
}

/// Reads or computes the scores to calibrate on. Returns them with a description of their
/// data and, when this run embedded the audio, of the model.
fn calibration_scores(
    args: &CalibrateArgs,
) -> Result<(Vec<ScoredTrial>, String, Option<String>), Failure> {
    if let Some(path) = &args.scores {
        return Ok((
            scores::read_scores(path)?,
            format!("score file {}", path.display()),
            None,
        ));
    }
    if args.source.trials.is_none() && args.source.manifest.is_none() {
        return Err(Failure::Usage(
            "give --trials, --manifest or --scores".to_string(),
        ));
    }

    let source = trial_source(&args.source)?;
    let (evaluation, details) =
        run_embeddings(&args.embedding, &source, Vec::new(), DEFAULT_TOP_N)?;
    let model = format!(
        "model {} ({}), voiceprint {}",
        details.model,
        details.precision,
        env!("CARGO_PKG_VERSION")
    );
    Ok((evaluation.cosine_trials(), source.description, Some(model)))
}

/// Validates the trial arguments and reads or draws the trials.
fn trial_source(args: &TrialSourceArgs) -> Result<TrialSource, Failure> {
    let source = if let Some(list) = &args.trials {
        trial_list_source(args, list)?
    } else {
        let manifest_path = args
            .manifest
            .as_ref()
            .expect("clap requires --trials or --manifest");
        prompted_source(args, manifest_path)?
    };

    if let Some(path) = &args.write_trials {
        trials::write_trial_list(path, source.trial_set.named_trials())?;
        eprintln!(
            "wrote {} trials to {}",
            source.trial_set.trials.len(),
            path.display()
        );
    }
    Ok(source)
}

fn trial_list_source(args: &TrialSourceArgs, list: &Path) -> Result<TrialSource, Failure> {
    let entries = trials::read_trial_list(list)?;
    let audio_root = args
        .audio_root
        .clone()
        .unwrap_or_else(|| parent_folder(list));
    let enroll_map = args
        .enroll_map
        .as_deref()
        .map(EnrollMap::read)
        .transpose()?;
    let speakers = args.speakers.as_deref().map(Manifest::read).transpose()?;
    let join = match args.join {
        JoinArg::Mean => Join::Mean,
        JoinArg::Concat => Join::Concatenate,
    };

    let source = TrialListSource {
        audio_root: &audio_root,
        join,
        enroll_map: enroll_map.as_ref(),
        speakers: speakers.as_ref(),
    };
    let trial_set = source.trial_set(list, &entries)?;
    let description = format!(
        "trial list {} (audio root {}, sides joined by {})",
        list.display(),
        audio_root.display(),
        if join == Join::Mean {
            "mean"
        } else {
            "concatenation"
        }
    );
    Ok(TrialSource {
        trial_set,
        held_out_cohort: Vec::new(),
        description,
    })
}

fn prompted_source(args: &TrialSourceArgs, manifest_path: &Path) -> Result<TrialSource, Failure> {
    let protocol = PromptedProtocol {
        enroll_utterances: args
            .enroll_utts
            .expect("clap requires --enroll-utts with --manifest"),
        test_utterances: args
            .test_utts
            .expect("clap requires --test-utts with --manifest"),
        trials: args
            .num_trials
            .expect("clap requires --num-trials with --manifest"),
        seed: args.seed.expect("clap requires --seed with --manifest"),
        cohort_speakers: args.cohort_speakers,
    };
    let manifest = Manifest::read(manifest_path)?;
    let draw = protocol.draw(&manifest)?;
    if !draw.skipped_speakers.is_empty() {
        eprintln!(
            "note: {} speakers have fewer than {} utterances and take no part: {}",
            draw.skipped_speakers.len(),
            protocol.enroll_utterances + protocol.test_utterances,
            draw.skipped_speakers.join(", ")
        );
    }

    let mut description = format!(
        "prompted protocol on {}: K={}, M={}, {} trials, seed {}",
        manifest_path.display(),
        protocol.enroll_utterances,
        protocol.test_utterances,
        protocol.trials,
        protocol.seed
    );
    if protocol.cohort_speakers > 0 {
        description.push_str(&format!(", {} speakers held out", protocol.cohort_speakers));
    }
    Ok(TrialSource {
        trial_set: draw.trial_set,
        held_out_cohort: draw.cohort,
        description,
    })
}

fn parent_folder(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Collects the cohort: held-out speakers of the prompted protocol and every `--cohort`
/// manifest.
fn cohort_entries(
    manifests: &[PathBuf],
    source: &TrialSource,
) -> Result<Vec<CohortEntry>, Failure> {
    let mut entries = source.held_out_cohort.clone();
    for path in manifests {
        entries.extend(cohort::cohort_from_manifest(&Manifest::read(path)?));
    }
    Ok(entries)
}

/// Embeds and scores the trials.
fn run_embeddings(
    args: &EmbeddingArgs,
    source: &TrialSource,
    cohort: Vec<CohortEntry>,
    top_n: usize,
) -> Result<(Evaluation, RunDetails), Failure> {
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|error| {
                Failure::Usage(format!("cannot start {threads} worker threads: {error}"))
            })?;
    }

    let embedder = load_embedder(args)?;
    let cache = open_cache(args)?;
    let recording_embedder = RecordingEmbedder::new(&embedder, cache.as_ref(), !args.quiet);

    let request = EvaluationRequest {
        trial_set: source.trial_set.clone(),
        cohort,
        top_n,
    };
    let evaluation = evaluate::evaluate(&request, &recording_embedder)?;
    let details = RunDetails::new(&evaluation, embedder.model().tag(), embedder.settings().precision.name().to_string());
    Ok((evaluation, details))
}

fn load_embedder(args: &EmbeddingArgs) -> Result<Embedder, Failure> {
    let mut settings = EmbedderSettings { precision: args.model.precision, ..EmbedderSettings::default() };
    if let Some(seconds) = args.min_speech_seconds {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(Failure::Usage(format!(
                "invalid --min-speech-seconds {seconds}: must be 0 or more"
            )));
        }
        settings.min_speech_seconds = seconds;
    }
    let path = args
        .model
        .model
        .clone()
        .unwrap_or_else(model::default_model_path);
    Embedder::load(&path, settings).map_err(|error| Failure::Run(EvalError::Embed(error)))
}

fn open_cache(args: &EmbeddingArgs) -> Result<Option<EmbeddingCache>, Failure> {
    if args.no_cache {
        return Ok(None);
    }
    let path = match &args.cache {
        Some(path) => path.clone(),
        None => default_cache_path().ok_or_else(|| {
            Failure::Usage(
                "neither XDG_CACHE_HOME nor HOME is set: give --cache FILE or --no-cache"
                    .to_string(),
            )
        })?,
    };
    Ok(Some(EmbeddingCache::open(&path)?))
}

fn default_cache_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })?;
    Some(base.join("voiceprint").join("embeddings.sqlite3"))
}

/// Converts this run's scores to score-file lines, with the value `score` picks.
fn score_lines(
    set: &TrialSet,
    evaluation: &Evaluation,
    score: impl Fn(&TrialScore) -> Option<f64>,
) -> Vec<ScoreLine> {
    evaluation
        .scores
        .iter()
        .filter_map(|s| {
            let trial = &set.trials[s.trial];
            let sides = (
                set.sides[trial.enroll].name.clone(),
                set.sides[trial.test].name.clone(),
            );
            Some(ScoreLine {
                target: s.target,
                score: score(s)?,
                sides: Some(sides),
            })
        })
        .collect()
}

/// Reads the `--scores` files as named runs.
fn read_compared_scores(arguments: &[String]) -> Result<Vec<(String, Vec<ScoreLine>)>, Failure> {
    arguments
        .iter()
        .map(|argument| {
            let (name, path) = match argument.split_once('=') {
                Some((name, path)) if !name.is_empty() && !name.contains(['/', '\\']) => {
                    (name.to_string(), PathBuf::from(path))
                }
                _ => {
                    let path = PathBuf::from(argument);
                    let stem = path
                        .file_stem()
                        .map_or_else(|| argument.clone(), |s| s.to_string_lossy().into_owned());
                    (stem, path)
                }
            };
            Ok((name, scores::read_score_lines(&path)?))
        })
        .collect()
}

fn save_scores(args: &EvalArgs, set: &TrialSet, evaluation: &Evaluation) -> Result<(), Failure> {
    if args.save_as_norm_scores.is_some() && evaluation.cohort.is_none() {
        return Err(Failure::Usage(
            "--save-as-norm-scores needs a cohort (--cohort or --cohort-speakers)".to_string(),
        ));
    }

    let outputs = [
        (
            &args.save_scores,
            score_lines(set, evaluation, |s| Some(s.cosine)),
        ),
        (
            &args.save_as_norm_scores,
            score_lines(set, evaluation, |s| s.as_norm),
        ),
    ];
    for (path, lines) in outputs {
        let Some(path) = path else { continue };
        let rows = lines.iter().map(|line| {
            let (enroll, test) = line.sides.as_ref().expect("this run names every side");
            (line.target, line.score, enroll.as_str(), test.as_str())
        });
        scores::write_scores(path, rows)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
