//! A real server on a loopback port with a temporary data directory, the generated clients,
//! the speech fixtures, and helpers that build recordings the fixtures do not contain.

use std::io::Cursor;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::bytes::Bytes;
use tokio_stream::StreamExt;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_types::StatusExt;

use voiceprint::clock::ManualClock;
use voiceprint::config::Settings;
use voiceprint::proto::v1 as pb;
use voiceprint::proto::v1::check_in_service_client::CheckInServiceClient;
use voiceprint::proto::v1::subject_service_client::SubjectServiceClient;
use voiceprint::proto::v1::verification_service_client::VerificationServiceClient;
use voiceprint::server::RunningServer;
use voiceprint::store::DATABASE_FILE;

/// Enrolment and check-in recordings of three VCTK speakers (see fixtures/README.md): p225
/// and p228 are women, p226 a man. Genuine check-ins score about 0.94 against their
/// voiceprints and the others at most 0.69, so the decisions hold for any threshold between.
pub const SPEAKERS: [Speaker; 3] = [
    Speaker { id: "p225", enroll: ["p225_008.wav", "p225_011.wav", "p225_016.wav"], check_in: "p225_019.wav" },
    Speaker { id: "p226", enroll: ["p226_003.wav", "p226_005.wav", "p226_008.wav"], check_in: "p226_011.wav" },
    Speaker { id: "p228", enroll: ["p228_003.wav", "p228_005.wav", "p228_008.wav"], check_in: "p228_011.wav" },
];

/// Where the manual clock of every test server starts: 2025-01-01T00:00:00Z.
pub const START_UNIX_MILLIS: u64 = 1_735_689_600_000;

pub struct Speaker {
    pub id: &'static str,
    pub enroll: [&'static str; 3],
    pub check_in: &'static str,
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/service").join(name)
}

pub fn fixture(name: &str) -> Bytes {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display())).into()
}

pub fn container(content: Bytes) -> pb::Audio {
    pb::Audio { content, format: None }
}

/// Settings for a test: ephemeral loopback ports and the given data directory.
pub fn test_settings(data_dir: &Path) -> Settings {
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".parse().unwrap();
    settings.server.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    settings.store.data_dir = data_dir.to_owned();
    settings.model.workers = 2;
    settings.model.queue_depth = 4;
    settings
}

pub struct TestServer {
    pub server: RunningServer,
    pub clock: Arc<ManualClock>,
    pub channel: Channel,
    pub data_dir: PathBuf,
}

impl TestServer {
    /// Starts a server and waits until health reports SERVING.
    pub async fn start(data_dir: &Path) -> TestServer {
        Self::start_with(test_settings(data_dir)).await
    }

    pub async fn start_with(settings: Settings) -> TestServer {
        let server = Self::start_unready(settings).await;
        server.wait_until_serving().await;
        server
    }

    /// Starts a server without waiting for the model.
    pub async fn start_unready(settings: Settings) -> TestServer {
        let clock = Arc::new(ManualClock::at_unix_millis(START_UNIX_MILLIS));
        let server = RunningServer::start(&settings, clock.clone()).await.expect("server starts");
        let channel = Endpoint::from_shared(format!("http://{}", server.grpc_address()))
            .unwrap()
            .connect()
            .await
            .expect("client connects");
        TestServer { server, clock, channel, data_dir: settings.store.data_dir }
    }

    pub async fn wait_until_serving(&self) {
        let mut updates = HealthClient::new(self.channel.clone())
            .watch(HealthCheckRequest { service: String::new() })
            .await
            .expect("health watch starts")
            .into_inner();
        while let Some(update) = updates.next().await {
            if update.expect("health update").status() == ServingStatus::Serving {
                return;
            }
        }
        panic!("the health stream ended before the server was SERVING");
    }

    pub fn address(&self) -> SocketAddr {
        self.server.grpc_address()
    }

    pub fn subjects(&self) -> SubjectServiceClient<Channel> {
        SubjectServiceClient::new(self.channel.clone()).max_encoding_message_size(usize::MAX)
    }

    pub fn verification(&self) -> VerificationServiceClient<Channel> {
        VerificationServiceClient::new(self.channel.clone()).max_encoding_message_size(usize::MAX)
    }

    pub fn check_ins(&self) -> CheckInServiceClient<Channel> {
        CheckInServiceClient::new(self.channel.clone())
    }

    /// Enrols a fixture speaker under its own id.
    pub async fn enroll(&self, speaker: &Speaker) -> pb::EnrollResponse {
        let clips = speaker.enroll.iter().map(|name| container(fixture(name))).collect();
        let request = pb::EnrollRequest { subject_id: speaker.id.into(), clips };
        self.subjects().enroll(request).await.unwrap_or_else(|status| panic!("enrolling {}: {status:?}", speaker.id)).into_inner()
    }

    pub async fn verify(&self, subject_id: &str, content: Bytes) -> Result<pb::VerifyResponse, Status> {
        let request = pb::VerifyRequest { subject_id: subject_id.into(), device_id: "phone-1".into(), audio: Some(container(content)) };
        self.verification().verify(request).await.map(tonic::Response::into_inner)
    }

    /// Counts the rows of every table through a separate connection to the database file.
    pub fn row_counts(&self) -> RowCounts {
        row_counts(&self.data_dir.join(DATABASE_FILE))
    }

    pub async fn stop(self) {
        drop(self.channel);
        self.server.shutdown().await.expect("server stops cleanly");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowCounts {
    pub subjects: i64,
    pub voiceprints: i64,
    pub enrollment_clips: i64,
    pub check_ins: i64,
}

pub fn row_counts(database: &Path) -> RowCounts {
    let connection = rusqlite::Connection::open_with_flags(database, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let count = |table: &str| connection.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0)).unwrap();
    RowCounts {
        subjects: count("subjects"),
        voiceprints: count("voiceprints"),
        enrollment_clips: count("enrollment_clips"),
        check_ins: count("check_ins"),
    }
}

/// Returns the status code and ErrorInfo reason of a failed call.
pub fn code_and_reason(status: &Status) -> (Code, String) {
    let reason = status.get_error_details().error_info().map(|info| info.reason.clone()).unwrap_or_default();
    (status.code(), reason)
}

/// Returns the fields named by the status's BadRequest violations.
pub fn violated_fields(status: &Status) -> Vec<String> {
    let details = status.get_error_details();
    details.bad_request().map(|bad| bad.field_violations.iter().map(|v| v.field.clone()).collect()).unwrap_or_default()
}

pub fn time(offset: Duration) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(START_UNIX_MILLIS) + offset
}

/// Reads the mono 16-bit samples of a 16 kHz WAV fixture as floats in [-1, 1).
pub fn fixture_samples(name: &str) -> Vec<f32> {
    let reader = hound::WavReader::new(Cursor::new(fixture(name))).expect("fixture is a WAV file");
    assert_eq!(reader.spec().sample_rate, 16_000);
    reader.into_samples::<i16>().map(|sample| f32::from(sample.unwrap()) / 32768.0).collect()
}

/// Encodes `samples` as a 16 kHz mono 16-bit WAV file, clamped to full scale.
pub fn wav(samples: &[f32]) -> Bytes {
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut cursor = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
    for &sample in samples {
        writer.write_sample((sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16).unwrap();
    }
    writer.finalize().unwrap();
    cursor.into_inner().into()
}

/// Generates deterministic white noise of the given RMS level with a linear congruential
/// generator.
pub fn white_noise(len: usize, rms: f32, seed: u64) -> Vec<f32> {
    let mut state = seed;
    let amplitude = rms * 3f32.sqrt();
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let uniform = (state >> 40) as f32 / (1u64 << 24) as f32;
            (uniform * 2.0 - 1.0) * amplitude
        })
        .collect()
}

pub fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|x| x * x).sum::<f32>() / samples.len() as f32).sqrt()
}
