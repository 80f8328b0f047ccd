//! One lock per subject, so that the check-ins of a subject run one after another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// Locks by subject id, each alive only while a request holds or awaits it.
///
/// A check-in's replay search reads the subject's earlier fingerprints before its own are
/// written. Two check-ins of one subject that overlapped would each miss the other, so a
/// recording sent twice at once would raise no replay alert. Holding the subject's lock from
/// the search to the commit closes that gap within one server process.
#[derive(Default)]
pub(crate) struct SubjectLocks {
    locks: Mutex<HashMap<String, Weak<AsyncMutex<()>>>>,
}

impl SubjectLocks {
    /// Waits until no other request holds `subject_id`'s lock, then holds it until the guard
    /// is dropped.
    pub async fn lock(&self, subject_id: &str) -> OwnedMutexGuard<()> {
        self.lock_for(subject_id).lock_owned().await
    }

    fn lock_for(&self, subject_id: &str) -> Arc<AsyncMutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(lock) = locks.get(subject_id).and_then(Weak::upgrade) {
            return lock;
        }

        // Entries of locks that no request holds any more are dropped here, which keeps the
        // map as small as the number of subjects with a request in progress.
        locks.retain(|_, lock| lock.strong_count() > 0);
        let lock = Arc::new(AsyncMutex::new(()));
        locks.insert(subject_id.to_owned(), Arc::downgrade(&lock));
        lock
    }

    #[cfg(test)]
    fn entries(&self) -> usize {
        self.locks.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn same_subject_waits_for_the_holder() {
        let locks = SubjectLocks::default();
        let guard = locks.lock("p225").await;

        assert!(locks.lock_for("p225").try_lock().is_err(), "p225's lock was free while a request held it");

        drop(guard);
        assert!(locks.lock_for("p225").try_lock().is_ok(), "the lock was not released with its guard");
    }

    #[tokio::test]
    async fn other_subjects_do_not_wait() {
        let locks = SubjectLocks::default();
        let _p225 = locks.lock("p225").await;

        assert!(locks.lock_for("p226").try_lock().is_ok(), "p226 shares p225's lock");
    }

    #[tokio::test]
    async fn released_locks_are_dropped() {
        let locks = SubjectLocks::default();
        for subject in ["a", "b", "c"] {
            drop(locks.lock(subject).await);
        }
        let _d = locks.lock("d").await;

        assert_eq!(locks.entries(), 1);
    }
}
