//! The SNS MessageIds this process answered 200 recently, so that a
//! captured message posted again is not processed again. SNS redelivers
//! the same MessageId only when an earlier delivery was not answered 2xx,
//! so an id is remembered once its event was answered 200, never before.
//!
//! The memory is bounded: an id is kept while its message is younger than
//! the accepted age (an older one is refused by age anyway), and at most
//! `capacity` ids are kept, the oldest messages forgotten first. It is per
//! process: a restart or another replica forgets it (the manifests still
//! make a repeated event write nothing new).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How many MessageIds are remembered at most (measured: about 300 bytes
/// each with SNS's 36-character ids, 30 MB at the cap).
pub const MAX_ANSWERED_MESSAGES: usize = 100_000;

pub struct AnsweredMessages {
    max_age: Duration,
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// MessageId → the message's Timestamp.
    by_id: HashMap<String, SystemTime>,
    /// The same entries, oldest message first.
    by_age: BTreeSet<(SystemTime, String)>,
}

impl AnsweredMessages {
    /// Remembers messages while younger than `max_age`, at most `capacity`.
    pub fn new(max_age: Duration, capacity: usize) -> Self {
        AnsweredMessages {
            max_age,
            capacity: capacity.max(1),
            state: Mutex::default(),
        }
    }

    /// Whether `message_id` was answered 200 and is still remembered.
    pub fn contains(&self, message_id: &str, now: SystemTime) -> bool {
        let mut state = self.lock();
        state.forget_older_than(self.max_age, now);
        state.by_id.contains_key(message_id)
    }

    /// Remembers that the message `message_id`, sent at `timestamp`, was
    /// answered 200.
    pub fn remember(&self, message_id: &str, timestamp: SystemTime, now: SystemTime) {
        let mut state = self.lock();
        state.forget_older_than(self.max_age, now);
        if state.by_id.contains_key(message_id) {
            return;
        }
        state.by_id.insert(message_id.to_string(), timestamp);
        state.by_age.insert((timestamp, message_id.to_string()));
        while state.by_id.len() > self.capacity {
            state.forget_oldest();
        }
    }

    /// How many MessageIds are remembered now.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent between statements: a panic elsewhere
        // while holding the lock leaves nothing half-done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn forget_older_than(&mut self, max_age: Duration, now: SystemTime) {
        while let Some((timestamp, _)) = self.by_age.first() {
            let expired = now
                .duration_since(*timestamp)
                .is_ok_and(|age| age > max_age);
            if !expired {
                break;
            }
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((_, message_id)) = self.by_age.pop_first() {
            self.by_id.remove(&message_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    #[test]
    fn remembered_until_the_message_is_older_than_the_window() {
        let answered = AnsweredMessages::new(Duration::from_secs(3600), 10);
        assert!(!answered.contains("m-1", at(0)));
        answered.remember("m-1", at(0), at(5));
        answered.remember("m-2", at(1800), at(1800));
        assert!(answered.contains("m-1", at(10)));
        assert!(answered.contains("m-1", at(3600)));
        assert!(!answered.contains("m-3", at(3600)));
        // m-1 is now older than the window: forgotten (and refused by age)
        assert!(!answered.contains("m-1", at(3601)));
        assert_eq!(answered.len(), 1);
        assert!(answered.contains("m-2", at(5400)));
        assert!(!answered.contains("m-2", at(5401)));
        assert!(answered.is_empty());
    }

    #[test]
    fn at_capacity_the_oldest_message_is_forgotten() {
        let answered = AnsweredMessages::new(Duration::from_secs(3600), 3);
        // remembered out of order: age is the message's Timestamp
        for (id, sent) in [("b", 20), ("a", 10), ("c", 30)] {
            answered.remember(id, at(sent), at(40));
        }
        assert_eq!(answered.len(), 3);
        answered.remember("d", at(40), at(40));
        assert_eq!(answered.len(), 3);
        assert!(!answered.contains("a", at(40)), "the oldest went first");
        for id in ["b", "c", "d"] {
            assert!(answered.contains(id, at(40)), "{id}");
        }
        // remembering one again changes nothing
        answered.remember("d", at(40), at(41));
        assert_eq!(answered.len(), 3);
        assert!(answered.contains("b", at(41)));
    }

    #[test]
    fn the_memory_stays_bounded_under_a_flood() {
        let answered = AnsweredMessages::new(Duration::from_secs(3600), 1000);
        for i in 0..10_000u64 {
            answered.remember(&format!("m-{i}"), at(i / 10), at(i / 10));
        }
        assert_eq!(answered.len(), 1000);
        assert!(answered.contains("m-9999", at(1000)));
        assert!(!answered.contains("m-8999", at(1000)));
        assert!(answered.contains("m-9000", at(1000)));
    }
}
