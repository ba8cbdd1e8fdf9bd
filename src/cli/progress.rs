//! Progress of a long exploration on stderr: a live bar on a terminal (seeds done,
//! failures, seeds/s, ETA), otherwise a plain line every few seconds, so CI logs show
//! that work goes on without filling up with control characters.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::explore::Progress;
use crate::explore::summary::SeedResult;

/// How often a plain progress line is printed when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// A progress display for one exploration.
pub struct ProgressDisplay {
    bar: Option<ProgressBar>,
    last_plain: Mutex<Duration>,
    quiet: bool,
}

impl ProgressDisplay {
    /// A bar on a terminal, plain lines otherwise; nothing at all when `quiet`.
    pub fn new(total: u64, quiet: bool) -> ProgressDisplay {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {pos}/{len} seeds, {msg}, {per_sec}, ETA {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_message("0 failed");
            bar
        });
        ProgressDisplay {
            bar,
            last_plain: Mutex::new(Duration::ZERO),
            quiet,
        }
    }

    /// Called after each seed.
    pub fn seed_done(&self, progress: Progress, result: &SeedResult, reproduce: &str) {
        if self.quiet {
            return;
        }
        let failure = (!result.passed()).then(|| {
            let kinds = if result.violations.is_empty() {
                "expected violations not found".to_string()
            } else {
                result.violations.join(", ")
            };
            format!("seed {} FAILED ({kinds}): {reproduce}", result.seed)
        });
        match &self.bar {
            Some(bar) => {
                if let Some(line) = failure {
                    bar.println(line);
                }
                bar.set_message(format!("{} failed", progress.failed));
                bar.set_position(progress.done);
            }
            None => {
                if let Some(line) = failure {
                    eprintln!("{line}");
                }
                let mut last = self.last_plain.lock().expect("last progress line");
                if progress.elapsed >= *last + PLAIN_EVERY {
                    *last = progress.elapsed;
                    eprintln!("{}", plain_line(progress));
                }
            }
        }
    }

    /// Removes the bar before the summary prints.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `explore: 640/2000 seeds (32%), 0 failed, 91.4 seeds/s, ETA 15 s`.
fn plain_line(p: Progress) -> String {
    let secs = p.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        p.done as f64 / secs
    } else {
        0.0
    };
    let eta = if rate > 0.0 {
        format!("{:.0} s", (p.total - p.done) as f64 / rate)
    } else {
        "?".to_string()
    };
    format!(
        "explore: {}/{} seeds ({:.0}%), {} failed, {rate:.1} seeds/s, ETA {eta}",
        p.done,
        p.total,
        100.0 * p.done as f64 / p.total.max(1) as f64,
        p.failed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_give_counts_rate_and_eta() {
        let line = plain_line(Progress {
            done: 50,
            total: 200,
            failed: 1,
            elapsed: Duration::from_secs(10),
        });
        assert_eq!(
            line,
            "explore: 50/200 seeds (25%), 1 failed, 5.0 seeds/s, ETA 30 s"
        );
    }
}
