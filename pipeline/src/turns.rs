//! Writers of one process take turns on a key they swap, instead of making
//! each other lose compare-and-swaps: a compaction's parallel chunks all
//! claim the manifest of a run present in every partition, and with bounded
//! retries such a hot key made chunks give up. Correctness still rests on
//! the compare-and-swap (other processes and hosts race as before); this
//! only queues the writers of this process.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::thread::ThreadId;

static TURNS: OnceLock<Turns> = OnceLock::new();

#[derive(Default)]
struct Turns {
    holders: Mutex<HashMap<String, ThreadId>>,
    released: Condvar,
}

/// This thread's turn on `key`, until dropped. A thread that already has
/// the key (a swap run inside another's, as the interleaving tests do)
/// goes on without waiting.
pub struct Turn {
    key: Option<String>,
}

pub fn take(key: &str) -> Turn {
    let turns = TURNS.get_or_init(Turns::default);
    let me = std::thread::current().id();
    let mut holders = turns.holders.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        match holders.get(key) {
            None => {
                holders.insert(key.to_string(), me);
                return Turn {
                    key: Some(key.to_string()),
                };
            }
            Some(holder) if *holder == me => return Turn { key: None },
            Some(_) => {
                holders = turns
                    .released
                    .wait(holders)
                    .unwrap_or_else(|e| e.into_inner())
            }
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let turns = TURNS.get_or_init(Turns::default);
        turns
            .holders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        turns.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn threads_take_turns_on_a_key_and_a_holder_goes_on() {
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (inside, most) = (inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let _turn = take("_manifests/rdrp/SRR1.json");
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        // the same thread again, inside its turn: no wait
                        drop(take("_manifests/rdrp/SRR1.json"));
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        // other keys are not held up
        let _a = take("a");
        let _b = std::thread::spawn(|| drop(take("b"))).join();
    }
}
