//! A client's connection states per broker (`ClusterConnectionStates` in Kafka's
//! `NetworkClient`): after a connection to a broker is reset or refused, the client waits
//! `reconnect_backoff_ms` before it connects again, doubling the wait after each further
//! failure up to `reconnect_backoff_max_ms`; an answer from the broker resets it.

use std::collections::BTreeMap;

use crate::types::{BrokerId, SimTime};

/// Most time between reconnection attempts (`reconnect.backoff.max.ms`).
pub const RECONNECT_BACKOFF_MAX_MS: u64 = 1_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Blackout {
    until: SimTime,
    failures: u32,
}

/// Which brokers a client must not connect to yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionStates {
    reconnect_backoff_ms: u64,
    blackouts: BTreeMap<BrokerId, Blackout>,
}

impl ConnectionStates {
    /// States with Kafka's `reconnect.backoff.ms`.
    pub fn new(reconnect_backoff_ms: u64) -> ConnectionStates {
        ConnectionStates {
            reconnect_backoff_ms,
            blackouts: BTreeMap::new(),
        }
    }

    /// The connection to `broker` failed at `now`: no new one before the backoff ends.
    pub fn on_failure(&mut self, now: SimTime, broker: BrokerId) {
        let entry = self.blackouts.entry(broker).or_default();
        let shift = entry.failures.min(16);
        let backoff_ms = self
            .reconnect_backoff_ms
            .saturating_mul(1 << shift)
            .min(RECONNECT_BACKOFF_MAX_MS.max(self.reconnect_backoff_ms));
        entry.failures += 1;
        entry.until = now.plus_ms(backoff_ms);
    }

    /// `broker` answered: its connection works, and a later failure starts the backoff
    /// afresh.
    pub fn on_answer(&mut self, broker: BrokerId) {
        self.blackouts.remove(&broker);
    }

    /// Until when the client must not connect to `broker` (None: it may now).
    pub fn blocked_until(&self, now: SimTime, broker: BrokerId) -> Option<SimTime> {
        self.blackouts
            .get(&broker)
            .map(|b| b.until)
            .filter(|until| now < *until)
    }

    /// The earliest end of a backoff among `brokers` when every one of them has had one
    /// (ended or not), else None.
    pub fn all_blocked_until(&self, brokers: &[BrokerId]) -> Option<SimTime> {
        brokers
            .iter()
            .map(|b| self.blackouts.get(b).map(|x| x.until))
            .try_fold(None, |min: Option<SimTime>, until| {
                until.map(|u| Some(min.map_or(u, |m| m.min(u))))
            })
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_an_answer_resets_it() {
        let mut states = ConnectionStates::new(50);
        let b = BrokerId(1);
        let t = SimTime::from_ms(1000);
        assert_eq!(states.blocked_until(t, b), None);
        let mut waits = Vec::new();
        for _ in 0..7 {
            states.on_failure(t, b);
            let until = states.blocked_until(t, b).expect("blocked");
            waits.push(until.ms_since(t));
        }
        assert_eq!(waits, vec![50, 100, 200, 400, 800, 1000, 1000]);
        assert_eq!(states.blocked_until(t.plus_ms(1000), b), None);
        states.on_answer(b);
        states.on_failure(t, b);
        assert_eq!(states.blocked_until(t, b), Some(t.plus_ms(50)));
        assert_eq!(states.blocked_until(t, BrokerId(2)), None);
    }
}
