//! `voiceprint client`: calls a running service for staff and scripts.
//!
//! Every command prints one JSON object on standard output and exits with 0 when the call
//! succeeded, whatever the decision, except `alerts`, which prints one JSON object per line
//! (see [`alerts`]). A call that fails with an error status exits with 1 and prints the
//! status, the reason code and any field violations on standard error. An unreadable input
//! file also exits with 1, and an invalid `--server` URL, a usage error, with 2.

mod alerts;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use prost::bytes::Bytes;
use serde_json::{json, Value};
use tonic::transport::{Channel, Endpoint};
use tonic::Status;
use tonic_types::StatusExt;

use voiceprint::proto::v1 as pb;
use voiceprint::proto::v1::check_in_service_client::CheckInServiceClient;
use voiceprint::proto::v1::subject_service_client::SubjectServiceClient;
use voiceprint::proto::v1::verification_service_client::VerificationServiceClient;
use voiceprint::service::status::{code_name, reason_of};

/// Size of each message when a recording is streamed.
const STREAM_CHUNK_BYTES: usize = 64 * 1024;

/// Exit status for a usage error.
const EXIT_USAGE: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// Address of the service
    #[arg(long, global = true, value_name = "URL", env = "VOICEPRINT_SERVER", default_value = "http://127.0.0.1:50051")]
    server: String,

    /// Indent the JSON output over several lines for reading
    #[arg(long, global = true)]
    pretty: bool,

    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Enrol a subject from one or more recordings, replacing any earlier voiceprint
    Enroll {
        #[arg(long, value_name = "ID")]
        subject: String,

        /// Recordings of the subject: WAV, FLAC, MP3, M4A or Ogg, or headerless PCM with --raw-encoding
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,

        #[command(flatten)]
        audio: AudioArgs,
    },

    /// Decide whether the subject spoke a recording; records a check-in
    Verify {
        #[arg(long, value_name = "ID")]
        subject: String,

        /// The phone or terminal that recorded the check-in
        #[arg(long, value_name = "ID")]
        device: String,

        /// The check-in recording: WAV, FLAC, MP3, M4A or Ogg, or headerless PCM with --raw-encoding
        #[arg(value_name = "FILE")]
        file: PathBuf,

        #[command(flatten)]
        audio: AudioArgs,
    },

    /// List the enrolled subjects whose voiceprints score highest against a recording
    Identify {
        /// The recording to search for: WAV, FLAC, MP3, M4A or Ogg, or headerless PCM with --raw-encoding
        #[arg(value_name = "FILE")]
        file: PathBuf,

        /// Maximum number of candidates, 1 to 100 [default: 5]
        #[arg(long, value_name = "N")]
        max_results: Option<i32>,

        /// Lowest score a candidate needs [default: the server's threshold]
        #[arg(long, value_name = "SCORE")]
        min_score: Option<f32>,

        #[command(flatten)]
        audio: AudioArgs,
    },

    /// Show a subject with its current voiceprint and history
    Get {
        #[arg(long, value_name = "ID")]
        subject: String,
    },

    /// Delete a subject, erasing its voiceprints and everything derived from its audio
    Delete {
        #[arg(long, value_name = "ID")]
        subject: String,
    },

    /// List check-ins, oldest first
    CheckIns {
        /// Only this subject's check-ins
        #[arg(long, value_name = "ID")]
        subject: Option<String>,

        /// Earliest time included, RFC 3339 (such as 2025-01-31T08:00:00Z)
        #[arg(long, value_name = "TIME")]
        since: Option<prost_types::Timestamp>,

        /// First time excluded, RFC 3339
        #[arg(long, value_name = "TIME")]
        until: Option<prost_types::Timestamp>,

        /// Check-ins per page, 1 to 1000 [default: 100]
        #[arg(long, value_name = "N")]
        page_size: Option<i32>,

        /// next_page_token printed by the previous page
        #[arg(long, value_name = "TOKEN")]
        page_token: Option<String>,
    },

    /// Print person-device separation alerts as JSON lines, oldest first, and exit; with
    /// --follow, print the open alerts and then every alert change until interrupted
    Alerts(alerts::AlertsArgs),

    /// Record that an officer has seen an open alert
    Ack(alerts::AlertStateArgs),

    /// Close an open or acknowledged alert with a note on how it was resolved
    Close(alerts::AlertStateArgs),
}

#[derive(Debug, clap::Args)]
struct AudioArgs {
    /// Read the files as headerless PCM in this encoding instead of container files
    #[arg(long, value_enum, value_name = "ENCODING")]
    raw_encoding: Option<RawEncodingArg>,

    /// Sample rate of headerless PCM, in hertz
    #[arg(long, value_name = "HZ", requires = "raw_encoding")]
    sample_rate: Option<i32>,

    /// Interleaved channels of headerless PCM
    #[arg(long, value_name = "N", requires = "raw_encoding", default_value_t = 1)]
    channels: i32,

    /// Upload with the client-streaming RPC, in chunks of 64 KiB (enroll and verify only)
    #[arg(long)]
    stream: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RawEncodingArg {
    Linear16,
    Float32,
    Mulaw,
    Alaw,
}

impl AudioArgs {
    fn format(&self) -> Option<pb::AudioFormat> {
        let encoding = match self.raw_encoding? {
            RawEncodingArg::Linear16 => pb::audio_format::Encoding::Linear16,
            RawEncodingArg::Float32 => pb::audio_format::Encoding::Float32,
            RawEncodingArg::Mulaw => pb::audio_format::Encoding::Mulaw,
            RawEncodingArg::Alaw => pb::audio_format::Encoding::Alaw,
        };
        Some(pb::AudioFormat {
            encoding: encoding as i32,
            sample_rate_hertz: self.sample_rate.unwrap_or(0),
            audio_channel_count: self.channels,
        })
    }
}

/// Cause of a command's failure.
enum Failure {
    /// The service returned an error status.
    Call(Status),
    /// An input could not be read, or the async runtime could not start.
    Input(String),
    /// The arguments cannot make a call.
    Usage(String),
}

impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        Failure::Call(status)
    }
}

pub fn run(args: ClientArgs) -> ExitCode {
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::Input(format!("cannot start the async runtime: {error}")))
        .and_then(|runtime| runtime.block_on(execute(&args)));

    match outcome {
        Ok(Output::Object(output)) => {
            print_json(&output, args.pretty);
            ExitCode::SUCCESS
        }
        Ok(Output::Printed) => ExitCode::SUCCESS,
        Err(Failure::Call(status)) => {
            eprint!("{}", describe_status(&status, &args.server));
            ExitCode::FAILURE
        }
        Err(Failure::Input(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// What a command leaves to print when it succeeds.
enum Output {
    /// One object, printed by [`run`].
    Object(Value),
    /// Everything was printed while the command ran.
    Printed,
}

/// Prints one JSON value on one line, or indented over several with `pretty`.
fn print_json(value: &Value, pretty: bool) {
    if pretty {
        println!("{value:#}");
    } else {
        println!("{value}");
    }
}

async fn execute(args: &ClientArgs) -> Result<Output, Failure> {
    let endpoint = Endpoint::from_shared(args.server.clone())
        .map_err(|error| Failure::Usage(format!("invalid --server {:?}: {error}", args.server)))?;
    // A lazy channel turns an unreachable server into an UNAVAILABLE status of the call.
    let channel = endpoint.connect_lazy();

    let object = match &args.command {
        ClientCommand::Alerts(alerts_args) => {
            alerts::print_alerts(channel, alerts_args, args.pretty).await?;
            return Ok(Output::Printed);
        }
        ClientCommand::Ack(state_args) => alerts::acknowledge(channel, state_args).await,
        ClientCommand::Close(state_args) => alerts::close(channel, state_args).await,
        ClientCommand::Enroll { subject, files, audio } => enroll(channel, subject, files, audio).await,
        ClientCommand::Verify { subject, device, file, audio } => verify(channel, subject, device, file, audio).await,
        ClientCommand::Identify { file, max_results, min_score, audio } => {
            let request = pb::IdentifyRequest {
                audio: Some(read_audio(file, audio)?),
                max_results: max_results.unwrap_or(0),
                min_score: *min_score,
            };
            let response = VerificationServiceClient::new(channel).identify(request).await?.into_inner();
            Ok(identify_json(&response))
        }
        ClientCommand::Get { subject } => {
            let request = pb::GetSubjectRequest { subject_id: subject.clone() };
            let response = subject_client(channel).get_subject(request).await?.into_inner();
            Ok(subject_json(&response))
        }
        ClientCommand::Delete { subject } => {
            let request = pb::DeleteSubjectRequest { subject_id: subject.clone() };
            let response = subject_client(channel).delete_subject(request).await?.into_inner();
            Ok(subject_json(&response))
        }
        ClientCommand::CheckIns { subject, since, until, page_size, page_token } => {
            let request = pb::ListCheckInsRequest {
                subject_id: subject.clone().unwrap_or_default(),
                start_time: *since,
                end_time: *until,
                page_size: page_size.unwrap_or(0),
                page_token: page_token.clone().unwrap_or_default(),
            };
            let response = CheckInServiceClient::new(channel).list_check_ins(request).await?.into_inner();
            Ok(json!({
                "check_ins": response.check_ins.iter().map(check_in_json).collect::<Vec<_>>(),
                "next_page_token": response.next_page_token,
            }))
        }
    };
    object.map(Output::Object)
}

fn subject_client(channel: Channel) -> SubjectServiceClient<Channel> {
    // Enrolment clips may together exceed tonic's default limit of 4 MiB per message.
    SubjectServiceClient::new(channel).max_encoding_message_size(usize::MAX)
}

async fn enroll(channel: Channel, subject: &str, files: &[PathBuf], audio: &AudioArgs) -> Result<Value, Failure> {
    let clips = files.iter().map(|file| read_audio(file, audio)).collect::<Result<Vec<_>, _>>()?;
    let mut client = subject_client(channel);

    let response = if audio.stream {
        let mut messages = vec![stream_enroll_message(pb::stream_enroll_request::Message::SubjectId(subject.to_owned()))];
        for clip in clips {
            messages.extend(clip_chunks(clip));
            messages.push(stream_enroll_message(pb::stream_enroll_request::Message::EndOfClip(pb::EndOfClip {})));
        }
        client.stream_enroll(tokio_stream::iter(messages)).await?
    } else {
        client.enroll(pb::EnrollRequest { subject_id: subject.to_owned(), clips }).await?
    };

    let response = response.into_inner();
    let mut output = response.subject.as_ref().map(subject_json).unwrap_or_else(|| json!({}));
    if let Some(report) = &response.report {
        output["report"] = enrollment_report_json(report, files);
    }
    Ok(output)
}

async fn verify(channel: Channel, subject: &str, device: &str, file: &Path, audio: &AudioArgs) -> Result<Value, Failure> {
    let recording = read_audio(file, audio)?;
    let mut client = VerificationServiceClient::new(channel).max_encoding_message_size(usize::MAX);

    let response = if audio.stream {
        let start = pb::VerifyStart { subject_id: subject.to_owned(), device_id: device.to_owned(), format: recording.format };
        let mut messages = vec![pb::StreamVerifyRequest { message: Some(pb::stream_verify_request::Message::Start(start)) }];
        messages.extend(recording.content.chunks(STREAM_CHUNK_BYTES).map(|chunk| pb::StreamVerifyRequest {
            message: Some(pb::stream_verify_request::Message::AudioContent(Bytes::copy_from_slice(chunk))),
        }));
        client.stream_verify(tokio_stream::iter(messages)).await?
    } else {
        let request = pb::VerifyRequest { subject_id: subject.to_owned(), device_id: device.to_owned(), audio: Some(recording) };
        client.verify(request).await?
    };
    Ok(verify_json(&response.into_inner()))
}

fn stream_enroll_message(message: pb::stream_enroll_request::Message) -> pb::StreamEnrollRequest {
    pb::StreamEnrollRequest { message: Some(message) }
}

/// Splits one clip into chunk messages; the first carries the format.
fn clip_chunks(clip: pb::Audio) -> Vec<pb::StreamEnrollRequest> {
    let mut format = clip.format;
    clip.content
        .chunks(STREAM_CHUNK_BYTES)
        .map(|chunk| {
            let chunk = pb::AudioChunk { content: Bytes::copy_from_slice(chunk), format: format.take() };
            stream_enroll_message(pb::stream_enroll_request::Message::Chunk(chunk))
        })
        .collect()
}

fn read_audio(file: &Path, args: &AudioArgs) -> Result<pb::Audio, Failure> {
    let content = std::fs::read(file).map_err(|error| Failure::Input(format!("cannot read {}: {error}", file.display())))?;
    Ok(pb::Audio { content: content.into(), format: args.format() })
}

/// Describes the status, reason and field violations, one per line, for standard error.
///
/// A status without a reason code did not come from voiceprint's handlers. UNAVAILABLE then
/// means that the server at `server` could not be reached, so the transport's causes follow.
fn describe_status(status: &Status, server: &str) -> String {
    let code = code_name(status.code());
    let reason = reason_of(status);
    if reason.is_empty() {
        if status.code() == tonic::Code::Unavailable {
            return format!("error: {code}: cannot reach the server at {server}: {}\n", error_chain(status));
        }
        return format!("error: {code}: {}\n", error_chain(status));
    }

    let details = status.get_error_details();
    let violations = details.bad_request().map_or(&[][..], |bad_request| &bad_request.field_violations);
    let lines: Vec<String> =
        violations.iter().map(|violation| format!("{}: {}", violation.field, violation.description)).collect();

    // Messages of invalid requests already list their violations, so those are printed once,
    // as lines.
    let message_lists_violations = !lines.is_empty() && lines.iter().all(|line| status.message().contains(line.as_str()));
    let mut text = if message_lists_violations {
        format!("error: {code} {reason}\n")
    } else {
        format!("error: {code} {reason}: {}\n", status.message())
    };
    for line in lines {
        text.push_str(&format!("  {line}\n"));
    }
    text
}

/// Joins the status's message with those of its causes, skipping causes that repeat it.
fn error_chain(status: &Status) -> String {
    let mut text = status.message().to_owned();
    let mut cause = std::error::Error::source(status);
    while let Some(source) = cause {
        let message = source.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = source.source();
    }
    text
}

fn decision_name(decision: i32) -> &'static str {
    match pb::Decision::try_from(decision) {
        Ok(pb::Decision::Match) => "MATCH",
        Ok(pb::Decision::NoMatch) => "NO_MATCH",
        Ok(pb::Decision::Inconclusive) => "INCONCLUSIVE",
        Ok(pb::Decision::Unspecified) | Err(_) => "UNSPECIFIED",
    }
}

/// Returns the reason's name, or null when unset.
fn reason_json(reason: i32) -> Value {
    match pb::InconclusiveReason::try_from(reason) {
        Ok(pb::InconclusiveReason::Unspecified) | Err(_) => Value::Null,
        Ok(reason) => json!(reason.as_str_name()),
    }
}

/// Formats an f32 with its shortest exact decimal form rather than as a widened f64.
fn score_json(score: f32) -> Value {
    score.to_string().parse::<f64>().map_or(Value::Null, |value| json!(value))
}

/// Rounds a measurement to `decimals` places, enough for people to read and compare.
fn measure_json(value: f64, decimals: i32) -> Value {
    let scale = 10f64.powi(decimals);
    json!((value * scale).round() / scale)
}

fn time_json(time: Option<&prost_types::Timestamp>) -> Value {
    time.map_or(Value::Null, |time| json!(time.to_string()))
}

fn quality_json(quality: Option<&pb::AudioQuality>) -> Value {
    let Some(quality) = quality else {
        return Value::Null;
    };
    json!({
        "format": quality.format,
        "sample_rate_hertz": quality.source_sample_rate_hertz,
        "channels": quality.source_channel_count,
        "duration_seconds": measure_json(quality.duration_seconds, 3),
        "speech_seconds": measure_json(quality.speech_seconds, 3),
        "clipping_ratio": measure_json(quality.clipping_ratio, 6),
        "snr_db": measure_json(quality.snr_db, 1),
    })
}

fn verify_json(response: &pb::VerifyResponse) -> Value {
    json!({
        "decision": decision_name(response.decision),
        "inconclusive_reason": reason_json(response.inconclusive_reason),
        "score": response.score.map_or(Value::Null, score_json),
        "threshold": score_json(response.threshold),
        "model": response.model,
        "check_in_id": response.check_in_id,
        "checked_in_at": time_json(response.checked_in_at.as_ref()),
        "quality": quality_json(response.quality.as_ref()),
    })
}

fn identify_json(response: &pb::IdentifyResponse) -> Value {
    let candidates: Vec<Value> = response
        .candidates
        .iter()
        .map(|candidate| json!({ "subject_id": candidate.subject_id, "score": score_json(candidate.score) }))
        .collect();
    json!({
        "candidates": candidates,
        "min_score": score_json(response.min_score),
        "model": response.model,
        "inconclusive_reason": reason_json(response.inconclusive_reason),
        "quality": quality_json(response.quality.as_ref()),
    })
}

fn voiceprint_json(voiceprint: &pb::Voiceprint) -> Value {
    json!({
        "id": voiceprint.id,
        "model": voiceprint.model,
        "enrolled_at": time_json(voiceprint.enrolled_at.as_ref()),
        "replaced_at": time_json(voiceprint.replaced_at.as_ref()),
        "erased_at": time_json(voiceprint.erased_at.as_ref()),
        "clip_count": voiceprint.clip_count,
        "speech_seconds": measure_json(voiceprint.speech_seconds, 3),
    })
}

fn subject_json(subject: &pb::Subject) -> Value {
    json!({
        "subject_id": subject.subject_id,
        "created_at": time_json(subject.created_at.as_ref()),
        "deleted_at": time_json(subject.deleted_at.as_ref()),
        "voiceprint": subject.voiceprint.as_ref().map_or(Value::Null, voiceprint_json),
        "history": subject.history.iter().map(voiceprint_json).collect::<Vec<_>>(),
    })
}

fn enrollment_report_json(report: &pb::EnrollmentReport, files: &[PathBuf]) -> Value {
    let clips: Vec<Value> = report
        .clips
        .iter()
        .map(|clip| {
            let problems: Vec<&str> = clip
                .problems()
                .map(|problem| problem.as_str_name())
                .collect();
            json!({
                "file": files.get(clip.index as usize).map(|file| file.display().to_string()),
                "quality": quality_json(clip.quality.as_ref()),
                "agreement": clip.agreement.map(|agreement| measure_json(agreement, 4)),
                "problems": problems,
            })
        })
        .collect();
    json!({
        "accepted": report.accepted,
        "total_speech_seconds": measure_json(report.total_speech_seconds, 3),
        "min_total_speech_seconds": report.min_total_speech_seconds,
        "clips": clips,
    })
}

fn check_in_json(check_in: &pb::CheckIn) -> Value {
    json!({
        "id": check_in.id,
        "subject_id": check_in.subject_id,
        "device_id": check_in.device_id,
        "checked_in_at": time_json(check_in.checked_in_at.as_ref()),
        "decision": decision_name(check_in.decision),
        "inconclusive_reason": reason_json(check_in.inconclusive_reason),
        "score": check_in.score.map_or(Value::Null, score_json),
        "threshold": score_json(check_in.threshold),
        "model": check_in.model,
        "voiceprint_id": check_in.voiceprint_id,
        "quality": quality_json(check_in.quality.as_ref()),
        "erased_at": time_json(check_in.erased_at.as_ref()),
    })
}
