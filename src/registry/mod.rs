//! The registry of subjects: enrolment, verification, identification, deletion, the
//! check-in log and the person-device separation alerts, built on the embedding pipeline,
//! the scoring and separation policies and the store. It is the core of the gRPC service and
//! does not depend on gRPC.
//!
//! Model work runs on the bounded [`pool::ModelPool`]; a request first takes a place with
//! [`Registry::admit`], so that an upload can be refused before it is read. Store access
//! runs on blocking threads. A request writes to the store only after all its checks pass.

mod alerts;
mod analysis;
mod enroll;
mod error;
pub mod pool;
mod request;
mod subject_locks;
mod verify;

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

pub use alerts::{AlertStateRequest, AlertWatchRequest, ALERT_EVENTS_TOTAL, MAX_NOTE_BYTES};
pub use enroll::Enrollment;
pub use error::RegistryError;
pub use request::{
    AudioInput, EnrollmentRequest, FieldViolation, IdentificationRequest, Identifier, VerificationRequest,
    DEFAULT_IDENTIFY_RESULTS, MAX_IDENTIFY_RESULTS, MAX_ID_BYTES,
};
pub use verify::{Candidate, Identification, Verification};

use crate::audio::AudioError;
use crate::clock::{from_unix_millis, to_unix_millis, Clock};
use crate::config::InputLimits;
use crate::embed::Embedder;
use crate::scoring::{CheckInPolicy, EnrollmentPolicy};
use crate::separation::{AlertHub, SeparationPolicy};
use crate::store::{CheckInFilter, CheckInPage, Store, StoreError, SubjectView, VoiceprintRecord};
use pool::{Admission, ModelPool};

/// The policies and limits the registry applies.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrySettings {
    pub verification: CheckInPolicy,
    pub enrollment: EnrollmentPolicy,
    pub limits: InputLimits,
    /// Keep enrolment and check-in audio in the store.
    pub keep_audio: bool,
    pub separation: SeparationPolicy,
}

pub struct Registry {
    store: Store,
    clock: Arc<dyn Clock>,
    pool: ModelPool,
    embedder: OnceLock<Arc<Embedder>>,
    settings: RegistrySettings,
    alert_hub: AlertHub,
    check_in_locks: subject_locks::SubjectLocks,
}

impl Registry {
    /// Creates a registry without a model; requests that need one fail with
    /// [`RegistryError::ModelNotReady`] until [`Registry::install_embedder`].
    pub fn new(store: Store, clock: Arc<dyn Clock>, pool: ModelPool, settings: RegistrySettings) -> Self {
        let alert_hub = AlertHub::new(settings.separation.watch_buffer);
        Registry {
            store,
            clock,
            pool,
            embedder: OnceLock::new(),
            settings,
            alert_hub,
            check_in_locks: subject_locks::SubjectLocks::default(),
        }
    }

    /// Makes the loaded pipeline available. Returns false, leaving the first one in place, if
    /// one was installed already.
    pub fn install_embedder(&self, embedder: Embedder) -> bool {
        self.embedder.set(Arc::new(embedder)).is_ok()
    }

    pub fn is_ready(&self) -> bool {
        self.embedder.get().is_some()
    }

    /// Returns the "id@version" tag of the loaded model.
    pub fn model_tag(&self) -> Option<String> {
        self.embedder.get().map(|embedder| embedder.model().tag())
    }

    pub fn pool(&self) -> &ModelPool {
        &self.pool
    }

    pub fn settings(&self) -> &RegistrySettings {
        &self.settings
    }

    /// Takes a place in the model pool for one request, or fails at once with
    /// [`RegistryError::Overloaded`].
    pub fn admit(&self) -> Result<Admission, RegistryError> {
        Ok(self.pool.admit()?)
    }

    /// Returns the subject with its current voiceprint and history.
    pub async fn subject(&self, subject_id: &Identifier) -> Result<SubjectView, RegistryError> {
        let id = subject_id.as_str().to_owned();
        self.with_store(move |store| store.subject(&id))
            .await?
            .ok_or_else(|| RegistryError::SubjectNotFound { subject_id: subject_id.to_string() })
    }

    /// Deletes the subject, erasing everything derived from its audio.
    pub async fn delete_subject(&self, subject_id: &Identifier) -> Result<SubjectView, RegistryError> {
        let id = subject_id.as_str().to_owned();
        let now = self.now();
        self.with_store(move |store| store.delete_subject(&id, now))
            .await?
            .ok_or_else(|| RegistryError::SubjectNotFound { subject_id: subject_id.to_string() })
    }

    /// Lists check-ins. A filter on an unknown subject is an error rather than an empty page,
    /// so that a mistyped id is noticed.
    pub async fn check_ins(&self, filter: CheckInFilter) -> Result<CheckInPage, RegistryError> {
        if let Some(subject_id) = &filter.subject_id {
            let id = Identifier::parse("subject_id", subject_id)?;
            self.subject(&id).await?;
        }
        self.with_store(move |store| store.list_check_ins(&filter)).await
    }

    /// Rejects a recording over the size limit before any work is spent on it.
    fn check_size(&self, audio: &AudioInput, field: &str) -> Result<(), RegistryError> {
        let limit = self.settings.limits.audio.max_bytes;
        if audio.content.len() > limit {
            let error = AudioError::TooLarge { bytes: audio.content.len(), limit };
            return Err(RegistryError::Audio { field: field.to_owned(), error });
        }
        Ok(())
    }

    /// Returns the clock's time at the store's precision of milliseconds, so that a response
    /// carries the same time as the record that it reports.
    fn now(&self) -> SystemTime {
        from_unix_millis(to_unix_millis(self.clock.now()))
    }

    fn embedder(&self) -> Result<Arc<Embedder>, RegistryError> {
        self.embedder.get().cloned().ok_or(RegistryError::ModelNotReady)
    }

    /// Returns the subject's current voiceprint, or the reason it cannot be compared with
    /// `model`.
    async fn enrolled_voiceprint(&self, subject_id: &Identifier, model: &str) -> Result<VoiceprintRecord, RegistryError> {
        let view = self.subject(subject_id).await?;
        let not_enrolled =
            || RegistryError::NotEnrolled { subject_id: subject_id.to_string(), deleted_at: view.subject.deleted_at };

        let voiceprint = view.current.clone().filter(|v| v.embedding.is_some()).ok_or_else(not_enrolled)?;
        if voiceprint.model != model {
            return Err(RegistryError::ModelMismatch {
                subject_id: subject_id.to_string(),
                voiceprint_model: voiceprint.model,
                server_model: model.to_owned(),
            });
        }
        Ok(voiceprint)
    }

    /// Runs blocking store work off the async runtime.
    async fn with_store<T, F>(&self, work: F) -> Result<T, RegistryError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        let outcome = tokio::task::spawn_blocking(move || work(&store)).await;
        match outcome {
            Ok(result) => Ok(result?),
            Err(error) => Err(RegistryError::Internal(format!("a store task failed: {error}"))),
        }
    }
}
