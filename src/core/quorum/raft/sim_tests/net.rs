//! The in-test network: each message gets a seeded random delay (so messages reorder),
//! may be lost, and is dropped when its directed link is cut or its target is down at
//! delivery. Partitions are sets of cut directed links, so one-way partitions exist.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::prng::Prng;
use crate::types::SimTime;

use super::Message;

/// Network behaviour one seed picks.
#[derive(Clone, Copy, Debug)]
pub(super) struct NetConfig {
    pub(super) delay_min_ms: u64,
    pub(super) delay_max_ms: u64,
    pub(super) loss_per_million: u64,
}

/// Messages in flight, by delivery time.
pub(super) struct Net {
    pub(super) config: NetConfig,
    in_flight: BTreeMap<(SimTime, u64), (u8, u8, Message)>,
    sequence: u64,
    cut: BTreeSet<(u8, u8)>,
    pub(super) sent: u64,
    pub(super) dropped: u64,
}

impl Net {
    pub(super) fn new(config: NetConfig) -> Net {
        assert!(config.delay_min_ms >= 1 && config.delay_min_ms <= config.delay_max_ms);
        Net {
            config,
            in_flight: BTreeMap::new(),
            sequence: 0,
            cut: BTreeSet::new(),
            sent: 0,
            dropped: 0,
        }
    }

    /// Sends `message`; it may be lost or cut.
    pub(super) fn send(
        &mut self,
        prng: &mut Prng,
        now: SimTime,
        from: u8,
        to: u8,
        message: Message,
    ) {
        self.sent += 1;
        let lost = prng.below(1_000_000) < self.config.loss_per_million;
        if lost || self.cut.contains(&(from, to)) {
            self.dropped += 1;
            return;
        }
        let delay_us = prng.between(
            self.config.delay_min_ms * 1_000,
            self.config.delay_max_ms * 1_000,
        );
        self.sequence += 1;
        self.in_flight
            .insert((now.plus_us(delay_us), self.sequence), (from, to, message));
    }

    /// When the next message arrives.
    pub(super) fn next_delivery(&self) -> Option<SimTime> {
        self.in_flight.keys().next().map(|&(at, _)| at)
    }

    /// Takes the next message if it arrives by `now`; a message whose link was cut while
    /// it was in flight is dropped too.
    pub(super) fn deliver(&mut self, now: SimTime) -> Option<(u8, u8, Message)> {
        loop {
            let (&key, _) = self.in_flight.iter().next()?;
            if key.0 > now {
                return None;
            }
            let (from, to, message) = self.in_flight.remove(&key).expect("present");
            if !self.cut.contains(&(from, to)) {
                return Some((from, to, message));
            }
            self.dropped += 1;
        }
    }

    /// Cuts `from -> to`.
    pub(super) fn cut(&mut self, from: u8, to: u8) {
        if from != to {
            self.cut.insert((from, to));
        }
    }

    /// Restores every link.
    pub(super) fn heal(&mut self) {
        self.cut.clear();
    }
}
