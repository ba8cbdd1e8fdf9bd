//! Wall-clock time, for progress and speed figures only. Never used inside a simulation:
//! the simulated code reads madsim's clock, and clippy bans `Instant::now` elsewhere.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

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

/// Wall-clock seconds one seed took (`SeedResult::wall_s`, JUnit's per-test `time`). It
/// depends on the machine and its load, so it never takes part in comparing results: any
/// two are equal, and `merge` still finds a seed with two different results by its other
/// fields.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WallSeconds(pub f64);

impl PartialEq for WallSeconds {
    fn eq(&self, _: &WallSeconds) -> bool {
        true
    }
}

impl Eq for WallSeconds {}
