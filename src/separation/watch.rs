//! Delivery of alert events to live subscribers.
//!
//! Events go through a tokio broadcast channel, which keeps a fixed number of the latest
//! events for all subscribers. Publishing never waits: a subscriber that reads too slowly
//! loses the oldest events and receives their count instead, so one stalled officer's screen
//! cannot hold up check-ins.

use std::collections::HashSet;
use std::sync::Mutex;

use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use super::alerts::{Alert, AlertEvent, AlertEventKind};

/// The broadcast point of alert events; the registry publishes after each committed change.
#[derive(Debug)]
pub struct AlertHub {
    /// `None` once closed for shutdown.
    sender: Mutex<Option<broadcast::Sender<AlertEvent>>>,
}

/// One message of a watch.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchItem {
    /// An alert that was open when the watch started.
    Existing(Alert),
    Event(AlertEvent),
    /// The subscriber fell behind and this many events were dropped for it.
    Missed { events: u64 },
}

impl AlertHub {
    /// Creates a hub that keeps the latest `buffer` events (at least 1) for its subscribers.
    pub fn new(buffer: usize) -> AlertHub {
        let (sender, _) = broadcast::channel(buffer.max(1));
        AlertHub { sender: Mutex::new(Some(sender)) }
    }

    /// Sends events to every subscriber. Without subscribers, or after [`AlertHub::close`],
    /// the events are dropped: the store has them.
    pub fn publish(&self, events: impl IntoIterator<Item = AlertEvent>) {
        let sender = self.lock().clone();
        let Some(sender) = sender else {
            return;
        };
        for event in events {
            // An error means there is no subscriber, which is not a failure.
            let _ = sender.send(event);
        }
    }

    /// Subscribes to events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<AlertEvent> {
        match self.lock().as_ref() {
            Some(sender) => sender.subscribe(),
            // A receiver whose sender is gone ends at once.
            None => broadcast::channel(1).1,
        }
    }

    /// Ends every subscription, so that open watch streams finish and the server can shut
    /// down gracefully.
    pub fn close(&self) {
        self.lock().take();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<broadcast::Sender<AlertEvent>>> {
        // The guarded value is replaced whole, so a panic cannot leave it half-written.
        self.sender.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Builds a watch: the open alerts of `existing` first, then live events for `subject_id`
/// (every subject when `None`).
///
/// `receiver` must have subscribed before `existing` was read, so that no alert raised in
/// between is lost. An alert raised in that gap is then both in `existing` and in a RAISED
/// event, and the event is skipped.
pub fn alert_feed(
    existing: Vec<Alert>,
    receiver: broadcast::Receiver<AlertEvent>,
    subject_id: Option<String>,
) -> impl Stream<Item = WatchItem> + Send + 'static {
    let listed: HashSet<i64> = existing.iter().map(|alert| alert.id).collect();
    let existing = tokio_stream::iter(existing.into_iter().map(WatchItem::Existing));

    let live = BroadcastStream::new(receiver).filter_map(move |received| match received {
        Ok(event) => {
            let other_subject = subject_id.as_ref().is_some_and(|id| *id != event.alert.subject_id);
            let already_listed = event.kind == AlertEventKind::Raised && listed.contains(&event.alert.id);
            (!other_subject && !already_listed).then_some(WatchItem::Event(event))
        }
        Err(BroadcastStreamRecvError::Lagged(events)) => Some(WatchItem::Missed { events }),
    });
    existing.chain(live)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::separation::alerts::{AlertState, Signal};

    fn event(id: i64, subject_id: &str, kind: AlertEventKind) -> AlertEvent {
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let alert = Alert {
            id,
            subject_id: subject_id.into(),
            signal: Signal::MismatchStreak,
            state: AlertState::Open,
            raised_at: at,
            updated_at: at,
            acknowledged: None,
            closed: None,
            evidence: Vec::new(),
        };
        AlertEvent { kind, alert }
    }

    #[tokio::test]
    async fn existing_alerts_come_first_then_live_events() {
        let hub = AlertHub::new(8);
        let receiver = hub.subscribe();
        let existing = vec![event(1, "s1", AlertEventKind::Raised).alert];
        hub.publish([event(2, "s1", AlertEventKind::Raised)]);
        hub.close();

        let items: Vec<WatchItem> = alert_feed(existing.clone(), receiver, None).collect().await;
        assert_eq!(items, vec![WatchItem::Existing(existing[0].clone()), WatchItem::Event(event(2, "s1", AlertEventKind::Raised))]);
    }

    #[tokio::test]
    async fn raised_event_of_a_listed_alert_is_skipped() {
        let hub = AlertHub::new(8);
        let receiver = hub.subscribe();
        let existing = vec![event(1, "s1", AlertEventKind::Raised).alert];
        hub.publish([event(1, "s1", AlertEventKind::Raised), event(1, "s1", AlertEventKind::EvidenceAdded)]);
        hub.close();

        let items: Vec<WatchItem> = alert_feed(existing, receiver, None).collect().await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], WatchItem::Event(event(1, "s1", AlertEventKind::EvidenceAdded)));
    }

    #[tokio::test]
    async fn other_subjects_are_filtered_out() {
        let hub = AlertHub::new(8);
        let receiver = hub.subscribe();
        hub.publish([event(1, "s1", AlertEventKind::Raised), event(2, "s2", AlertEventKind::Raised)]);
        hub.close();

        let items: Vec<WatchItem> = alert_feed(Vec::new(), receiver, Some("s2".into())).collect().await;
        assert_eq!(items, vec![WatchItem::Event(event(2, "s2", AlertEventKind::Raised))]);
    }

    #[tokio::test]
    async fn lagging_subscriber_is_told_what_it_missed() {
        let hub = AlertHub::new(2);
        let receiver = hub.subscribe();
        // Publishing five events into a buffer of two neither blocks nor fails.
        hub.publish((1..=5).map(|id| event(id, "s1", AlertEventKind::Raised)));
        hub.close();

        let items: Vec<WatchItem> = alert_feed(Vec::new(), receiver, None).collect().await;
        assert_eq!(
            items,
            vec![
                WatchItem::Missed { events: 3 },
                WatchItem::Event(event(4, "s1", AlertEventKind::Raised)),
                WatchItem::Event(event(5, "s1", AlertEventKind::Raised)),
            ]
        );
    }

    #[tokio::test]
    async fn subscription_after_close_ends_at_once() {
        let hub = AlertHub::new(2);
        hub.close();
        hub.publish([event(1, "s1", AlertEventKind::Raised)]);
        let items: Vec<WatchItem> = alert_feed(Vec::new(), hub.subscribe(), None).collect().await;
        assert!(items.is_empty());
    }
}
