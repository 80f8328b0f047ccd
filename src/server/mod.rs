//! Assembly of the running service: the store, the model pool, the registry, the gRPC
//! services with health and reflection, the metrics endpoint, and the model loaded in the
//! background while health reports NOT_SERVING.

mod logging;
pub mod metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::server::NamedService;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

pub use logging::init_logging;

use crate::clock::Clock;
use crate::config::Settings;
use crate::embed::{EmbedError, Embedder, EmbedderSettings};
use crate::proto::v1::alert_service_server::AlertServiceServer;
use crate::proto::v1::check_in_service_server::CheckInServiceServer;
use crate::proto::v1::subject_service_server::SubjectServiceServer;
use crate::proto::v1::verification_service_server::VerificationServiceServer;
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::registry::pool::ModelPool;
use crate::registry::{Registry, RegistrySettings};
use crate::service::{AlertApi, CheckInApi, SubjectApi, VerificationApi};
use crate::store::{Store, StoreError};

/// Health-checked names: the whole server ("") and each API service.
const HEALTH_SERVICE_NAMES: [&str; 5] = [
    "",
    <SubjectServiceServer<SubjectApi> as NamedService>::NAME,
    <VerificationServiceServer<VerificationApi> as NamedService>::NAME,
    <CheckInServiceServer<CheckInApi> as NamedService>::NAME,
    <AlertServiceServer<AlertApi> as NamedService>::NAME,
];

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot open the store in {data_dir} (store.data_dir): {source}")]
    Store { data_dir: PathBuf, source: StoreError },

    #[error("cannot listen on {address} ({setting}): {source}")]
    Bind { address: SocketAddr, setting: &'static str, source: std::io::Error },

    #[error("cannot load the model {path} (model.path): {source}")]
    ModelLoad { path: PathBuf, source: EmbedError },

    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),

    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),

    #[error("a server task failed: {0}")]
    Task(String),
}

/// A started server. Drop it only after [`RunningServer::shutdown`], or its tasks keep running.
pub struct RunningServer {
    grpc_address: SocketAddr,
    metrics_address: Option<SocketAddr>,
    registry: Arc<Registry>,
    shutdown: watch::Sender<bool>,
    grpc_task: JoinHandle<Result<(), tonic::transport::Error>>,
    metrics_task: Option<JoinHandle<()>>,
    model_task: JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    /// Opens the store, binds the listeners and starts serving at once; the model loads in
    /// the background, and health reports SERVING once it has.
    pub async fn start(settings: &Settings, clock: Arc<dyn Clock>) -> Result<Self, ServerError> {
        let data_dir = settings.store.data_dir.clone();
        let store = Store::open(&data_dir).map_err(|source| ServerError::Store { data_dir, source })?;
        let pool = ModelPool::new(settings.model.workers, settings.model.queue_depth);
        let registry = Arc::new(Registry::new(store, clock, pool, registry_settings(settings)));

        let (shutdown, shutdown_signal) = watch::channel(false);
        let (metrics_address, metrics_task) = match settings.server.metrics_listen {
            Some(address) => {
                let (bound, task) = metrics::serve(address, shutdown_signal.clone())
                    .await
                    .map_err(|source| ServerError::Bind { address, setting: "server.metrics_listen", source })?;
                (Some(bound), Some(task))
            }
            None => (None, None),
        };

        let address = settings.server.listen;
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| ServerError::Bind { address, setting: "server.listen", source })?;
        let grpc_address =
            listener.local_addr().map_err(|source| ServerError::Bind { address, setting: "server.listen", source })?;

        let (health, health_service) = tonic_health::server::health_reporter();
        for name in HEALTH_SERVICE_NAMES {
            health.set_service_status(name, ServingStatus::NotServing).await;
        }

        let router = build_router(settings, &registry, health_service)?;
        let mut signal = shutdown_signal;
        let grpc_task = tokio::spawn(router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
            let _ = signal.changed().await;
        }));

        let model_task = tokio::spawn(load_model(settings.model.path.clone(), embedder_settings(settings), registry.clone(), health));

        let metrics = metrics_address.map_or_else(|| "off".to_owned(), |address| address.to_string());
        let data_dir = settings.store.data_dir.display();
        tracing::info!(%grpc_address, %metrics, %data_dir, "server started; loading the model");
        if !grpc_address.ip().is_loopback() {
            tracing::warn!(
                %grpc_address,
                "gRPC listens beyond loopback, but the service has no TLS or authentication yet; \
                 put it behind a proxy that provides both"
            );
        }
        Ok(RunningServer { grpc_address, metrics_address, registry, shutdown, grpc_task, metrics_task, model_task })
    }

    /// Returns the bound gRPC address, with the port chosen when the setting's port was 0.
    pub fn grpc_address(&self) -> SocketAddr {
        self.grpc_address
    }

    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Serves until `signal` completes, then shuts down gracefully. Returns early with the
    /// error if the model fails to load or the gRPC server fails.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> Result<(), ServerError> {
        tokio::pin!(signal);
        let mut model_loading = true;

        let failure = loop {
            tokio::select! {
                () = &mut signal => break None,
                outcome = &mut self.model_task, if model_loading => {
                    model_loading = false;
                    match flatten(outcome) {
                        Ok(()) => continue,
                        Err(error) => break Some(error),
                    }
                }
                outcome = &mut self.grpc_task => {
                    let error = match outcome {
                        Ok(Ok(())) => ServerError::Task("the gRPC server stopped unexpectedly".into()),
                        Ok(Err(error)) => ServerError::Transport(error),
                        Err(error) => ServerError::Task(error.to_string()),
                    };
                    break Some(error);
                }
            }
        };

        let stopped = self.shutdown().await;
        match failure {
            Some(error) => Err(error),
            None => stopped,
        }
    }

    /// Stops accepting calls, lets calls in progress finish, and waits for the tasks to end.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        let _ = self.shutdown.send(true);
        // Watch streams never end on their own; a graceful shutdown waits for them.
        self.registry.end_alert_watches();
        self.model_task.abort();

        // A task that `run_until` already awaited to its end must not be awaited again.
        let grpc = if self.grpc_task.is_finished() {
            Ok(())
        } else {
            match self.grpc_task.await {
                Ok(result) => result.map_err(ServerError::from),
                Err(error) => Err(ServerError::Task(error.to_string())),
            }
        };
        if let Some(task) = self.metrics_task {
            let _ = task.await;
        }
        tracing::info!("server stopped");
        grpc
    }
}

fn flatten<T>(outcome: Result<Result<T, ServerError>, tokio::task::JoinError>) -> Result<T, ServerError> {
    outcome.map_err(|error| ServerError::Task(error.to_string()))?
}

fn registry_settings(settings: &Settings) -> RegistrySettings {
    RegistrySettings {
        verification: settings.verification.clone(),
        enrollment: settings.enrollment.clone(),
        limits: settings.limits.clone(),
        keep_audio: settings.store.keep_audio,
        separation: settings.separation.clone(),
    }
}

fn embedder_settings(settings: &Settings) -> EmbedderSettings {
    EmbedderSettings {
        limits: settings.limits.audio.clone(),
        precision: settings.model.precision,
        ..EmbedderSettings::default()
    }
}

fn build_router(
    settings: &Settings,
    registry: &Arc<Registry>,
    health_service: tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
) -> Result<tonic::transport::server::Router, ServerError> {
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let max_message = settings.max_grpc_message_bytes();

    let router = tonic::transport::Server::builder()
        .timeout(settings.server.request_timeout)
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .add_service(SubjectServiceServer::new(SubjectApi::new(registry.clone())).max_decoding_message_size(max_message))
        .add_service(
            VerificationServiceServer::new(VerificationApi::new(registry.clone())).max_decoding_message_size(max_message),
        )
        .add_service(CheckInServiceServer::new(CheckInApi::new(registry.clone())).max_decoding_message_size(max_message))
        .add_service(AlertServiceServer::new(AlertApi::new(registry.clone())).max_decoding_message_size(max_message));
    Ok(router)
}

/// Loads the model off the async runtime, hands it to the registry, and turns health to
/// SERVING.
async fn load_model(
    path: PathBuf,
    settings: EmbedderSettings,
    registry: Arc<Registry>,
    health: HealthReporter,
) -> Result<(), ServerError> {
    let started = Instant::now();
    let load_path = path.clone();
    let loaded = tokio::task::spawn_blocking(move || Embedder::load(&load_path, settings))
        .await
        .map_err(|error| ServerError::Task(error.to_string()))?;

    let embedder = match loaded {
        Ok(embedder) => embedder,
        Err(source) => {
            let error = ServerError::ModelLoad { path, source };
            tracing::error!(%error, "the model failed to load; health stays NOT_SERVING");
            return Err(error);
        }
    };

    let model = embedder.model().tag();
    let precision = embedder.settings().precision;
    registry.install_embedder(embedder);
    for name in HEALTH_SERVICE_NAMES {
        health.set_service_status(name, ServingStatus::Serving).await;
    }
    tracing::info!(%model, %precision, seconds = started.elapsed().as_secs_f64(), "model loaded; serving");
    Ok(())
}
