//! BUGGIFY for the nemesis: each seed draws its own fault profile, so that across seeds
//! the nemesis tries both gentle and vicious schedules instead of one average mix
//! (FoundationDB's BUGGIFY enables each fault site per run; "swarm testing" likewise
//! drops random features per run). Every draw comes from the seeded RNG.
//!
//! A profile says which of the configured kinds this run uses (each kept with
//! [`KIND_KEPT`], at least one), how often a broker fault aims at a partition's current
//! leader or at one of its followers rather than at any broker (leaders and the ISR are
//! what replication bugs need), how often the nemesis acts (the interval scaled by
//! one of [`PACE`]: bouncing leaders in quick succession is what exposes epoch bugs), and
//! how often bounces pile up ([`PILE_UP`]).

use rand::Rng;

use crate::scenario::{NemesisKind, NemesisSpec};

/// Chance that a configured kind is used by one run.
const KIND_KEPT: f64 = 0.6;
/// How often broker faults aim at a leader, one value drawn per run.
const LEADER_BIAS: [f64; 3] = [0.0, 0.5, 0.9];
/// Of the remaining broker faults, how often they aim at a follower, drawn per run.
const FOLLOWER_BIAS: [f64; 2] = [0.0, 0.6];
/// Factors (in percent) applied to `interval_ms`, one drawn per run.
const PACE: [u64; 3] = [25, 100, 200];
/// How often a bounce that goes on crashes the next leader while the earlier ones are
/// still down (a pile-up, when `max_down` allows it), one value drawn per run.
const PILE_UP: [f64; 2] = [0.0, 0.6];

/// One run's fault profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// The kinds this run draws from (a non-empty subset of the configured ones).
    pub kinds: Vec<NemesisKind>,
    /// Chance that a broker fault targets a partition's current leader.
    pub leader_bias: f64,
    /// Chance that a broker fault not aimed at a leader targets a follower.
    pub follower_bias: f64,
    /// The mean gap between actions, in ms.
    pub interval_ms: u64,
    /// Chance that a bounce going on crashes the next leader before restarting the
    /// earlier ones, which then return oldest first, each once the partition has a
    /// running leader again (leaders that return to a partition led in between are what
    /// leader-epoch bugs need).
    pub pile_up: f64,
}

impl Profile {
    /// The unbiased profile: every configured kind, uniform targets, the configured pace.
    pub fn plain(spec: &NemesisSpec) -> Profile {
        Profile {
            kinds: spec.kinds.clone(),
            leader_bias: 0.0,
            follower_bias: 0.0,
            interval_ms: spec.interval_ms.max(1),
            pile_up: 0.0,
        }
    }

    /// The profile of one run: plain without `buggify`, else drawn from `rng`.
    pub fn draw(spec: &NemesisSpec, rng: &mut impl Rng) -> Profile {
        if !spec.buggify {
            return Profile::plain(spec);
        }
        let mut kinds: Vec<NemesisKind> = spec
            .kinds
            .iter()
            .copied()
            .filter(|_| rng.gen_bool(KIND_KEPT))
            .collect();
        if kinds.is_empty() {
            kinds.push(spec.kinds[rng.gen_range(0..spec.kinds.len())]);
        }
        let pace = PACE[rng.gen_range(0..PACE.len())];
        Profile {
            kinds,
            leader_bias: LEADER_BIAS[rng.gen_range(0..LEADER_BIAS.len())],
            follower_bias: FOLLOWER_BIAS[rng.gen_range(0..FOLLOWER_BIAS.len())],
            interval_ms: (spec.interval_ms * pace / 100).max(1),
            pile_up: PILE_UP[rng.gen_range(0..PILE_UP.len())],
        }
    }
}
