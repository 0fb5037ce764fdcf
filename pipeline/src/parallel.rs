//! Bounded fan-out for independent I/O (the objects of one summary are
//! independent PUTs): a few threads pull items in order; the first error
//! stops the rest from starting and is returned. WebAssembly has no threads
//! here: there the items go one after the other.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// `f` over `items` with at most `concurrency` at once; results in item order.
pub fn try_map<T: Sync, R: Send, E: Send>(
    items: &[T],
    concurrency: usize,
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    if concurrency <= 1 || items.len() <= 1 || cfg!(target_family = "wasm") {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<R, E>>>> =
        Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..concurrency.min(items.len()) {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = f(item);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(result);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(error) = results.iter().position(|r| matches!(r, Some(Err(_)))) {
        let mut results = results;
        match results.swap_remove(error) {
            Some(Err(error)) => return Err(error),
            _ => unreachable!("checked"),
        }
    }
    Ok(results
        .into_iter()
        .map(|r| match r.expect("every item ran") {
            Ok(value) => value,
            Err(_) => unreachable!("no item failed"),
        })
        .collect())
}

/// The worker pool of the long commands (replay, backfill, compaction):
/// `work` runs over `items` on up to `jobs` threads, items taken in order;
/// `done` sees each item's result as it finishes, one at a time, and
/// returns false to stop further items from starting.
pub fn run_jobs<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
    done: impl FnMut(&T, R) -> bool + Send,
) {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let done = Mutex::new(done);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(items.len().max(1)) {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = work(item);
                    let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
                    if !(*done)(item, result) {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_item_order_and_errors_surface() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            try_map(&items, 8, |i| Ok::<_, String>(i * 2)).unwrap(),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        let error = try_map(&items, 8, |i| {
            if *i == 42 {
                Err(format!("item {i}"))
            } else {
                Ok(*i)
            }
        })
        .unwrap_err();
        assert_eq!(error, "item 42");
        assert_eq!(
            try_map(&items[..0], 8, |i| Ok::<_, String>(*i)).unwrap(),
            Vec::<u32>::new()
        );
    }
}
