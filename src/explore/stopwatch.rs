//! Wall-clock time, for progress and speed figures only. Never used inside a simulation:
//! the simulated code reads madsim's clock, and clippy bans `Instant::now` elsewhere.

use std::time::{Duration, Instant};

/// Wall time since `start`.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    /// Starts now. Call it outside any madsim runtime (inside one, time is simulated).
    #[allow(clippy::disallowed_methods)] // wall time for reports, outside the simulation
    pub fn start() -> Stopwatch {
        Stopwatch(Instant::now())
    }

    /// Wall time since the start.
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}
