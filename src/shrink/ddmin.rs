//! Zeller and Hildebrandt's delta debugging (`ddmin`, TSE 2002) over a list of items.
//!
//! Split the current list into `n` chunks; try keeping one chunk alone, then removing
//! one chunk; on success continue from that smaller list (with `n = 2` after a subset,
//! `max(n - 1, 2)` after a complement), otherwise double `n`, until `n` is the list's
//! length and no single item can go. The result is 1-minimal: removing any one item
//! makes the failure go away (or the test budget ran out first).
//!
//! Each step's candidates go to `first` together, in a fixed order, so a caller can test
//! them on several threads and take the first that still fails ([`super::parallel`]):
//! the result is then the one a sequential ddmin would give. The order prefers removing
//! *later* items: keeping the first chunk comes first, and complements drop the last
//! chunk first (removing a late fault leaves the run before it untouched, so the failure
//! more often survives; Hypothesis deletes backwards for the same reason).

/// Shrinks `items` to a 1-minimal sublist (items keep their order). `first` receives one
/// step's candidate sublists and returns the index of the first that still fails, or
/// `None` (none does, or the budget is spent).
pub fn ddmin<T: Clone>(items: &[T], first: &mut dyn FnMut(&[Vec<T>]) -> Option<usize>) -> Vec<T> {
    let mut current = items.to_vec();
    let mut n = 2usize;
    while !current.is_empty() {
        if current.len() == 1 {
            // The one item left: does the failure need it at all?
            if first(&[Vec::new()]).is_some() {
                current.clear();
            }
            break;
        }
        n = n.min(current.len());
        let chunks = split(&current, n);
        let mut candidates: Vec<Vec<T>> = Vec::new();
        if n > 2 {
            candidates.extend(chunks.iter().cloned());
        }
        let subsets = candidates.len();
        for skip in (0..n).rev() {
            candidates.push(complement(&chunks, skip));
        }
        match first(&candidates) {
            Some(k) => {
                n = if k < subsets {
                    2
                } else {
                    n.saturating_sub(1).max(2)
                };
                current = candidates.swap_remove(k);
            }
            None if n >= current.len() => break,
            None => n = (2 * n).min(current.len()),
        }
    }
    current
}

/// `items` in `n` contiguous chunks of nearly equal size.
fn split<T: Clone>(items: &[T], n: usize) -> Vec<Vec<T>> {
    (0..n)
        .map(|i| items[i * items.len() / n..(i + 1) * items.len() / n].to_vec())
        .collect()
}

/// Every chunk but `skip`, concatenated.
fn complement<T: Clone>(chunks: &[Vec<T>], skip: usize) -> Vec<T> {
    chunks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != skip)
        .flat_map(|(_, c)| c.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::parallel::first_accepted;
    use super::*;

    /// ddmin with candidates tested on `jobs` threads; counts the tests made.
    fn shrink(items: &[u32], jobs: usize, fails: &(dyn Fn(&[u32]) -> bool + Sync)) -> Vec<u32> {
        ddmin(items, &mut |candidates: &[Vec<u32>]| {
            first_accepted(candidates, jobs, usize::MAX, |c| fails(c), |f| *f).first
        })
    }

    fn one_minimal(result: &[u32], fails: &dyn Fn(&[u32]) -> bool) -> bool {
        fails(result)
            && (0..result.len()).all(|i| {
                let mut fewer = result.to_vec();
                fewer.remove(i);
                !fails(&fewer)
            })
    }

    #[test]
    fn finds_the_two_items_a_failure_needs() {
        let items: Vec<u32> = (0..16).collect();
        let fails = |s: &[u32]| s.contains(&3) && s.contains(&11);
        let result = shrink(&items, 1, &fails);
        assert_eq!(result, vec![3, 11]);
        assert!(one_minimal(&result, &fails));
    }

    #[test]
    fn the_result_is_one_minimal_and_the_same_for_any_number_of_jobs() {
        // Two ways to fail, so the order candidates are taken in decides which is found.
        let fails = |s: &[u32]| {
            (s.contains(&2) && s.contains(&9))
                || (s.contains(&12) && s.contains(&13))
                || s.iter().filter(|x| **x % 5 == 0).count() >= 3
        };
        let items: Vec<u32> = (0..20).collect();
        let results: Vec<Vec<u32>> = [1, 2, 3, 7]
            .iter()
            .map(|&j| shrink(&items, j, &fails))
            .collect();
        assert!(one_minimal(&results[0], &fails), "{:?}", results[0]);
        for r in &results {
            assert_eq!(r, &results[0]);
        }
    }

    #[test]
    fn a_failure_that_needs_nothing_shrinks_to_nothing() {
        let items: Vec<u32> = (0..9).collect();
        assert_eq!(shrink(&items, 2, &|_| true), Vec::<u32>::new());
        let needs_one = |s: &[u32]| s.contains(&8);
        assert_eq!(shrink(&items, 2, &needs_one), vec![8]);
    }

    #[test]
    fn a_spent_budget_keeps_what_it_has() {
        let items: Vec<u32> = (0..9).collect();
        let result = ddmin(&items, &mut |_: &[Vec<u32>]| None);
        assert_eq!(result, items);
    }
}
