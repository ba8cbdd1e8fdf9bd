//! The first candidate, in a fixed order, that passes a test, found on several threads.
//!
//! Workers take candidates in index order from a shared counter and stop taking new ones
//! after one is accepted, so the answer is the *smallest* accepted index: every candidate
//! before it was tested and rejected, whatever the number of threads. Only how many
//! candidates after it were tested for nothing depends on `jobs`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What [`first_accepted`] found.
#[derive(Debug)]
pub struct Found<T> {
    /// The smallest accepted index, if any candidate of the tested prefix was accepted.
    pub first: Option<usize>,
    /// Each candidate's result, `None` for those not tested.
    pub results: Vec<Option<T>>,
}

/// Tests `candidates` in order on `jobs` threads, at most `limit` of them (a prefix),
/// and returns the smallest index whose result `accept` takes. `test` runs on the
/// worker threads; give it a fresh thread inside if it needs one.
pub fn first_accepted<C, T>(
    candidates: &[C],
    jobs: usize,
    limit: usize,
    test: impl Fn(&C) -> T + Sync,
    accept: impl Fn(&T) -> bool + Sync,
) -> Found<T>
where
    C: Sync,
    T: Send,
{
    let n = candidates.len().min(limit);
    let next = AtomicUsize::new(0);
    let best = AtomicUsize::new(usize::MAX);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..candidates.len()).map(|_| None).collect());
    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            if i >= n || i > best.load(Ordering::SeqCst) {
                return;
            }
            let result = test(&candidates[i]);
            if accept(&result) {
                best.fetch_min(i, Ordering::SeqCst);
            }
            results.lock().expect("results")[i] = Some(result);
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, n.max(1)) {
            scope.spawn(worker);
        }
    });
    let best = best.into_inner();
    Found {
        first: (best != usize::MAX).then_some(best),
        results: results.into_inner().expect("results"),
    }
}

/// Tests every candidate (at most `limit`) on `jobs` threads; results in input order.
pub fn test_all<C, T>(candidates: &[C], jobs: usize, test: impl Fn(&C) -> T + Sync) -> Vec<T>
where
    C: Sync,
    T: Send,
{
    first_accepted(candidates, jobs, candidates.len(), test, |_| false)
        .results
        .into_iter()
        .map(|r| r.expect("every candidate is tested when none is accepted"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_accepted_index_does_not_depend_on_jobs() {
        let candidates: Vec<u32> = (0..40).collect();
        for jobs in [1, 2, 3, 8] {
            let found = first_accepted(&candidates, jobs, usize::MAX, |c| *c, |c| c % 7 == 5);
            assert_eq!(found.first, Some(5), "jobs {jobs}");
            for i in 0..5 {
                assert_eq!(found.results[i], Some(i as u32), "tested before the first");
            }
        }
    }

    #[test]
    fn the_limit_tests_a_prefix_and_nothing_accepted_is_none() {
        let candidates: Vec<u32> = (0..10).collect();
        let found = first_accepted(&candidates, 2, 3, |c| *c, |c| *c >= 5);
        assert_eq!(found.first, None);
        let tested: Vec<usize> = (0..10).filter(|&i| found.results[i].is_some()).collect();
        assert_eq!(tested, vec![0, 1, 2]);
        assert_eq!(test_all(&candidates, 3, |c| c * 2)[9], 18);
    }
}
