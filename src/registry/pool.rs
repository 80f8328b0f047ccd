//! The bounded pool that runs model work (decoding, feature extraction, the encoder) on
//! blocking threads, off the async runtime.
//!
//! A request is admitted only while fewer than `workers + queue_depth` requests hold a place;
//! otherwise it is rejected at once rather than queued without bound. An admitted request
//! waits for one of `workers` slots, then runs its job on a blocking thread. The place is
//! held until the job ends, even if the caller gave up, so the bound counts real work.

use std::sync::Arc;

use thiserror::Error;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PoolError {
    #[error("the model pool is full: {capacity} requests are already running or queued")]
    Overloaded { capacity: usize },

    #[error("a model job panicked: {0}")]
    JobPanicked(String),
}

/// The pool; clones share the same places and workers.
#[derive(Debug, Clone)]
pub struct ModelPool {
    places: Arc<Semaphore>,
    workers: Arc<Semaphore>,
    capacity: usize,
}

/// A request's place in the pool, which lets it run jobs.
#[derive(Debug)]
pub struct Admission {
    place: Arc<OwnedSemaphorePermit>,
    workers: Arc<Semaphore>,
}

/// Holds every place of the pool, so that new requests are rejected as overloaded until it is
/// dropped. For draining the pool and for tests.
#[derive(Debug)]
pub struct PoolHold {
    _places: OwnedSemaphorePermit,
}

impl ModelPool {
    /// Creates a pool that runs at most `workers` jobs at once (at least 1) and lets
    /// `queue_depth` more requests wait.
    pub fn new(workers: usize, queue_depth: usize) -> Self {
        let workers = workers.max(1);
        let capacity = workers + queue_depth;
        ModelPool { places: Arc::new(Semaphore::new(capacity)), workers: Arc::new(Semaphore::new(workers)), capacity }
    }

    /// Admits a request, or rejects it at once when every place is taken.
    pub fn admit(&self) -> Result<Admission, PoolError> {
        let place = self.places.clone().try_acquire_owned().map_err(|_| PoolError::Overloaded { capacity: self.capacity })?;
        Ok(Admission { place: Arc::new(place), workers: self.workers.clone() })
    }

    /// Waits until no request has a place, then takes them all.
    pub async fn hold_all(&self) -> PoolHold {
        let places = self.places.clone().acquire_many_owned(self.capacity as u32).await.expect("the pool's semaphore is never closed");
        PoolHold { _places: places }
    }

    /// Requests running or queued right now.
    pub fn in_use(&self) -> usize {
        self.capacity - self.places.available_permits()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl Admission {
    /// Runs `job` on a blocking thread once a worker is free.
    pub async fn run<T, F>(&self, job: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let worker = self.workers.clone().acquire_owned().await.expect("the pool's semaphore is never closed");
        let place = self.place.clone();

        let outcome = tokio::task::spawn_blocking(move || {
            let _held = (worker, place);
            job()
        })
        .await;

        outcome.map_err(|error| PoolError::JobPanicked(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_pool_rejects_at_once() {
        let pool = ModelPool::new(1, 1);
        let first = pool.admit().unwrap();
        let second = pool.admit().unwrap();

        assert_eq!(pool.admit().unwrap_err(), PoolError::Overloaded { capacity: 2 });

        drop(first);
        drop(second);
        assert!(pool.admit().is_ok());
    }

    #[tokio::test]
    async fn hold_rejects_until_dropped() {
        let pool = ModelPool::new(2, 0);
        let hold = pool.hold_all().await;
        assert!(pool.admit().is_err());
        drop(hold);
        assert!(pool.admit().is_ok());
    }

    #[tokio::test]
    async fn job_result_comes_back() {
        let pool = ModelPool::new(1, 0);
        let admission = pool.admit().unwrap();
        assert_eq!(admission.run(|| 6 * 7).await, Ok(42));
        assert_eq!(pool.in_use(), 1);
        drop(admission);
        assert_eq!(pool.in_use(), 0);
    }

    #[tokio::test]
    async fn panicking_job_frees_its_place() {
        let pool = ModelPool::new(1, 0);
        let admission = pool.admit().unwrap();
        let outcome = admission.run(|| -> u32 { panic!("bad audio") }).await;
        assert!(matches!(outcome, Err(PoolError::JobPanicked(_))));

        drop(admission);
        assert_eq!(pool.in_use(), 0);
    }
}
