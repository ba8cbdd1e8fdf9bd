//! Driver-level unit tests: a few replicas wired by a tiny in-memory network with a fixed
//! 1 ms delay and per-link cuts, and time that jumps to the next deadline. Each test
//! names the Kafka rule it checks.

mod election;
mod replication;
mod restart;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::types::SimTime;

use super::{Raft, RaftConfig, RaftEffect, RaftMessage, RoleKind, Stored};

pub(super) type Node = Raft<u8, u32, Vec<u32>>;
pub(super) type Effect = RaftEffect<u8, u32, Vec<u32>>;
pub(super) type Message = RaftMessage<u8, u32, Vec<u32>>;

/// Replicas, the messages in flight, and every effect each replica produced.
pub(super) struct Cluster {
    pub(super) config: RaftConfig<u8>,
    pub(super) nodes: BTreeMap<u8, Node>,
    pub(super) now: SimTime,
    queue: VecDeque<(SimTime, u8, u8, Message)>,
    pub(super) effects: BTreeMap<u8, Vec<Effect>>,
    /// Directed links that drop everything.
    pub(super) cut: BTreeSet<(u8, u8)>,
}

impl Cluster {
    /// Voters and observers with Kafka's defaults, changed by `tweak`.
    pub(super) fn new(
        voters: &[u8],
        observers: &[u8],
        tweak: impl Fn(&mut RaftConfig<u8>),
    ) -> Cluster {
        let mut config = RaftConfig::new(voters.iter().copied());
        tweak(&mut config);
        let mut cluster = Cluster {
            config,
            nodes: BTreeMap::new(),
            now: SimTime::ZERO,
            queue: VecDeque::new(),
            effects: BTreeMap::new(),
            cut: BTreeSet::new(),
        };
        for &id in voters.iter().chain(observers) {
            cluster.start(id, Stored::empty());
        }
        cluster
    }

    /// (Re)starts `id` from `stored`.
    pub(super) fn start(&mut self, id: u8, stored: Stored<u8, u32, Vec<u32>>) {
        let node = Raft::new(
            self.config.clone(),
            id,
            stored,
            self.now,
            1_000 + u64::from(id),
        );
        self.nodes.insert(id, node);
        self.timeout(id);
    }

    /// Records effects and queues the sends.
    pub(super) fn apply(&mut self, id: u8, out: Vec<Effect>) {
        for effect in &out {
            if let RaftEffect::Send { to, message } = effect
                && !self.cut.contains(&(id, *to))
            {
                self.queue
                    .push_back((self.now.plus_ms(1), id, *to, message.clone()));
            }
        }
        self.effects.entry(id).or_default().extend(out);
    }

    fn timeout(&mut self, id: u8) {
        let mut out = Vec::new();
        let node = self.nodes.get_mut(&id).expect("node");
        node.on_timeout(self.now, &mut out);
        let next = node.next_deadline();
        assert!(
            next.is_none_or(|d| d > self.now),
            "replica {id} left a timer in the past: {node:?}"
        );
        self.apply(id, out);
    }

    /// Runs messages and timers until `until`.
    pub(super) fn run_until(&mut self, until: SimTime) {
        for _ in 0..1_000_000 {
            let message_at = self.queue.front().map(|m| m.0);
            let timer = self
                .nodes
                .iter()
                .filter_map(|(&id, n)| n.next_deadline().map(|d| (d, id)))
                .min();
            let next = match (message_at, timer) {
                (Some(m), Some((t, _))) => m.min(t),
                (Some(m), None) => m,
                (None, Some((t, _))) => t,
                (None, None) => break,
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            if message_at == Some(next) {
                let (_, from, to, message) = self.queue.pop_front().expect("a message");
                if std::env::var("RAFT_TRACE").is_ok() {
                    eprintln!("{} {from}->{to} {}", self.now, message.name());
                }
                if let Some(node) = self.nodes.get_mut(&to) {
                    let mut out = Vec::new();
                    node.on_message(self.now, from, message, &mut out);
                    self.apply(to, out);
                }
            } else if let Some((_, id)) = timer {
                self.timeout(id);
            }
        }
        self.now = until;
    }

    /// Runs for `ms` more milliseconds.
    pub(super) fn run_ms(&mut self, ms: u64) {
        self.run_until(self.now.plus_ms(ms));
    }

    /// The replica that leads the highest epoch, if any.
    pub(super) fn leader(&self) -> Option<u8> {
        let leaders = self.nodes.values().filter(|n| n.role() == RoleKind::Leader);
        leaders.max_by_key(|n| n.epoch()).map(|n| n.id())
    }

    /// Proposes on `id`, which must lead; returns the last offset.
    pub(super) fn propose(&mut self, id: u8, records: Vec<u32>) -> crate::types::Offset {
        let mut out = Vec::new();
        let node = self.nodes.get_mut(&id).expect("node");
        let offset = node.propose(self.now, records, &mut out).expect("leader");
        self.apply(id, out);
        offset
    }

    /// Cuts every link to and from `id`.
    pub(super) fn isolate(&mut self, id: u8) {
        for &other in self.nodes.keys() {
            self.cut.insert((id, other));
            self.cut.insert((other, id));
        }
    }

    /// Restores every link.
    pub(super) fn heal(&mut self) {
        self.cut.clear();
    }

    /// Takes the effects recorded for `id` so far.
    pub(super) fn take_effects(&mut self, id: u8) -> Vec<Effect> {
        self.effects.remove(&id).unwrap_or_default()
    }

    /// Elects a leader from a fresh start; returns it.
    pub(super) fn elect(&mut self) -> u8 {
        self.run_ms(5_000);
        self.leader().expect("a leader within 5 s")
    }
}

/// The data records (not LeaderChange) of a replica's committed log.
pub(super) fn committed_data(node: &Node) -> Vec<u32> {
    let entries = node.committed(node.log_start_offset());
    entries
        .iter()
        .filter_map(|e| match e.entry {
            super::Entry::Data(r) => Some(r),
            super::Entry::LeaderChange { .. } => None,
        })
        .collect()
}
