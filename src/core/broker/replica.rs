//! One partition replica on one broker: its log, HW, role, and the leader's view of its
//! followers (`Partition.scala`).
//!
//! Invariants: `hw <= leo`; a leader's HW never decreases within its leader epoch;
//! a leader is in its own ISR; the maximal ISR (committed ISR plus an in-flight
//! proposal) is what gates the HW (KIP-497).

use std::collections::BTreeMap;

use crate::config::Config;
use crate::core::broker::producer_state::ProducerState;
use crate::core::log::{Log, Record};
use crate::core::metadata::PartitionRegistration;
use crate::types::{
    BrokerEpoch, BrokerId, LeaderEpoch, Offset, PartitionEpoch, PartitionId, SimTime,
};

/// What the leader knows about one follower (`Replica.scala`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowerProgress {
    /// The follower's LEO from its last fetch; None until it fetched in this term.
    pub leo: Option<Offset>,
    /// When it last fetched.
    pub last_fetch_time: SimTime,
    /// The leader's LEO at that fetch.
    pub last_fetch_leader_leo: Offset,
    /// Last time it was caught up (section 4.5 of the protocol notes).
    pub last_caught_up_time: SimTime,
    /// Broker epoch carried by its last fetch (KIP-903).
    pub broker_epoch: BrokerEpoch,
}

/// An ISR change proposed to the controller and not yet answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAlter {
    /// The proposed ISR, each member with the broker epoch the leader knew for it when
    /// it made the proposal (`Partition.addBrokerEpochToIsr` in `prepareIsrExpand`):
    /// every resend carries these same epochs, as `AlterPartitionManager` resends the
    /// same request.
    pub isr: Vec<(BrokerId, BrokerEpoch)>,
    /// Partition epoch the proposal was based on.
    pub based_on: PartitionEpoch,
    /// The `attempt` of its latest send.
    pub attempt: u64,
}

impl PendingAlter {
    /// The proposed ISR's members, without their epochs.
    pub fn members(&self) -> Vec<BrokerId> {
        self.isr.iter().map(|(b, _)| *b).collect()
    }
}

/// Leader-only state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderState {
    /// Leader epoch start offset: the LEO when this term began.
    pub leso: Offset,
    /// Every other assigned replica.
    pub followers: BTreeMap<BrokerId, FollowerProgress>,
    /// In-flight AlterPartition.
    pub pending_alter: Option<PendingAlter>,
}

/// The replica's role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Not leading and not following (just booted, or offline partition).
    None,
    /// Leading.
    Leader(LeaderState),
    /// Following `leader` (None: leader unknown / offline).
    Follower {
        /// Whom to fetch from.
        leader: Option<BrokerId>,
    },
}

/// One partition replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    /// This broker.
    pub broker: BrokerId,
    /// Which partition.
    pub partition: PartitionId,
    /// Assigned replicas.
    pub replicas: Vec<BrokerId>,
    /// The log.
    pub log: Log,
    /// High watermark.
    pub hw: Offset,
    /// Current leader epoch as this replica knows it.
    pub leader_epoch: LeaderEpoch,
    /// Current partition epoch as this replica knows it.
    pub partition_epoch: PartitionEpoch,
    /// Committed ISR as last learned.
    pub isr: Vec<BrokerId>,
    /// Role.
    pub role: Role,
    /// Idempotent producer state.
    pub producers: ProducerState,
    /// HW last written to the checkpoint file.
    pub hw_checkpointed: Offset,
    /// Records written to the disk but not yet flushed.
    pub unflushed: bool,
    /// Follower under `leader-epoch-v0`: the one OffsetsForLeaderEpoch round of this
    /// term is done.
    pub epoch_validated: bool,
}

impl Replica {
    /// A replica recovered from disk: the surviving records and the HW checkpoint.
    pub fn recover(
        broker: BrokerId,
        partition: PartitionId,
        replicas: Vec<BrokerId>,
        records: Vec<Record>,
        hw_checkpoint: Offset,
    ) -> Replica {
        let log = Log::from_records(records);
        let hw = hw_checkpoint.min(log.leo());
        let producers = ProducerState::from_log(log.records());
        Replica {
            broker,
            partition,
            replicas,
            log,
            hw,
            leader_epoch: LeaderEpoch(0),
            partition_epoch: PartitionEpoch(0),
            isr: Vec::new(),
            role: Role::None,
            producers,
            hw_checkpointed: hw_checkpoint,
            unflushed: false,
            epoch_validated: false,
        }
    }

    /// LEO.
    pub fn leo(&self) -> Offset {
        self.log.leo()
    }

    /// Whether this replica leads.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// Leader state, if leading.
    pub fn leader_state(&self) -> Option<&LeaderState> {
        match &self.role {
            Role::Leader(state) => Some(state),
            _ => None,
        }
    }

    /// Leader: the ISR change it proposed and the controller has not answered yet.
    pub fn pending_alter(&self) -> Option<&PendingAlter> {
        self.leader_state().and_then(|s| s.pending_alter.as_ref())
    }

    /// The ISR that gates the HW: committed ISR plus any in-flight proposal (KIP-497).
    pub fn maximal_isr(&self) -> Vec<BrokerId> {
        let mut isr = self.isr.clone();
        if let Some(pending) = self.pending_alter() {
            for b in pending.members() {
                if !isr.contains(&b) {
                    isr.push(b);
                }
            }
        }
        isr
    }

    /// Becomes leader in `registration`'s epoch (`Partition.makeLeader`). Returns whether
    /// this started a new term (the epoch increased).
    pub fn make_leader(&mut self, now: SimTime, registration: &PartitionRegistration) -> bool {
        let new_term = registration.leader_epoch > self.leader_epoch || !self.is_leader();
        self.leader_epoch = registration.leader_epoch;
        self.partition_epoch = registration.partition_epoch;
        self.isr = registration.isr.clone();
        if !new_term {
            return false;
        }
        let leso = self.leo();
        self.log.assign_epoch(self.leader_epoch, leso);
        let previous = match std::mem::replace(&mut self.role, Role::None) {
            Role::Leader(state) => Some(state.followers),
            _ => None,
        };
        let mut followers = BTreeMap::new();
        for &b in self.replicas.iter().filter(|&&b| b != self.broker) {
            // `previous` is only there when this broker led before: re-elected, it keeps
            // what it knew about its followers.
            let kept = previous.as_ref().and_then(|f| f.get(&b)).cloned();
            let in_isr = self.isr.contains(&b);
            let fresh = FollowerProgress {
                leo: None,
                last_fetch_time: SimTime::ZERO,
                last_fetch_leader_leo: Offset(0),
                last_caught_up_time: if in_isr { now } else { SimTime::ZERO },
                broker_epoch: BrokerEpoch(0),
            };
            followers.insert(b, kept.unwrap_or(fresh));
        }
        self.role = Role::Leader(LeaderState {
            leso,
            followers,
            pending_alter: None,
        });
        assert!(self.hw <= self.leo(), "hw above leo at election");
        true
    }

    /// Becomes follower of `registration.leader` (`Partition.makeFollower`).
    pub fn make_follower(&mut self, registration: &PartitionRegistration) {
        self.leader_epoch = registration.leader_epoch;
        self.partition_epoch = registration.partition_epoch;
        self.isr = registration.isr.clone();
        self.role = Role::Follower {
            leader: registration.leader,
        };
        self.epoch_validated = false;
    }

    /// Leader: the HW candidate per `Partition.maybeIncrementLeaderHW`, or None when the
    /// HW may not move. `eligible(b, epoch)` says whether broker `b` is unfenced with
    /// that broker epoch.
    pub fn hw_candidate(
        &self,
        now: SimTime,
        config: &Config,
        eligible: impl Fn(BrokerId, BrokerEpoch) -> bool,
    ) -> Option<Offset> {
        let state = self.leader_state()?;
        let min_isr = usize::from(config.min_insync_replicas).min(self.replicas.len());
        if config.hw_requires_min_isr && self.isr.len() < min_isr {
            return None;
        }
        let maximal = self.maximal_isr();
        let mut candidate = self.leo();
        for (b, progress) in &state.followers {
            let caught_up = now.ms_since(progress.last_caught_up_time)
                <= config.replica_lag_time_max_ms
                && progress.last_caught_up_time > SimTime::ZERO;
            let counts = maximal.contains(b) || (caught_up && eligible(*b, progress.broker_epoch));
            if counts {
                candidate = candidate.min(progress.leo?); // unknown LEO blocks the HW
            }
        }
        Some(candidate)
    }

    /// Leader: records a follower fetch at `fetch_offset` (4.2 step 4 / 4.5).
    pub fn record_follower_fetch(
        &mut self,
        now: SimTime,
        follower: BrokerId,
        fetch_offset: Offset,
        epoch: BrokerEpoch,
    ) {
        let leo = self.leo();
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let Some(progress) = state.followers.get_mut(&follower) else {
            return;
        };
        if fetch_offset >= leo {
            progress.last_caught_up_time = now;
        } else if fetch_offset >= progress.last_fetch_leader_leo
            && progress.last_fetch_time > SimTime::ZERO
        {
            progress.last_caught_up_time = progress.last_fetch_time;
        }
        progress.last_fetch_leader_leo = leo;
        progress.last_fetch_time = now;
        progress.leo = Some(fetch_offset);
        progress.broker_epoch = epoch;
    }

    /// Leader: ISR members that fell behind for longer than the lag limit (4.5).
    pub fn out_of_sync_followers(&self, now: SimTime, lag_max_ms: u64) -> Vec<BrokerId> {
        let Some(state) = self.leader_state() else {
            return Vec::new();
        };
        let leo = self.leo();
        self.isr
            .iter()
            .filter(|&&b| b != self.broker)
            .filter(|b| {
                let Some(p) = state.followers.get(b) else {
                    return true;
                };
                let caught_up = p.leo == Some(leo);
                !caught_up && now.ms_since(p.last_caught_up_time) > lag_max_ms
            })
            .copied()
            .collect()
    }

    /// Leader: whether `follower` (not in the ISR) may join it now (4.6).
    pub fn may_join_isr(&self, follower: BrokerId, config: &Config, eligible: bool) -> bool {
        let Some(state) = self.leader_state() else {
            return false;
        };
        if self.isr.contains(&follower) || state.pending_alter.is_some() || !eligible {
            return false;
        }
        let Some(leo) = state.followers.get(&follower).and_then(|p| p.leo) else {
            return false;
        };
        let reached_epoch_start = !config.isr_join_requires_epoch_start || leo >= state.leso;
        leo >= self.hw && reached_epoch_start
    }
}
