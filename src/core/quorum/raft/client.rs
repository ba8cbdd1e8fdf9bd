//! The driver (`KafkaRaftClient`): one replica of the metadata log as a sans-IO state
//! machine. Inputs are `on_message`, `on_timeout`, `propose`, `snapshot` and `resign`,
//! each with the current time; outputs are the [`RaftEffect`]s pushed into `out`, in the
//! order the caller must perform them. `next_deadline` says when to call `on_timeout`.
//!
//! Invariants: the role's election state equals the last `PersistElection` pushed (or the
//! stored one); `hw <= LEO` except transiently on a protocol bug the checkers report;
//! after every input the replica has "settled": every timer that is due has fired and
//! every request that can be sent has been sent (Kafka's `poll` loop).

use crate::core::prng::Prng;
use crate::types::{Offset, SimTime};

use super::config::RaftConfig;
use super::effect::RaftEffect;
use super::epoch::Epoch;
use super::log::{Entry, LogEntry, RaftLog, Snapshot, SnapshotId};
use super::message::{CorrelationId, RaftMessage};
use super::requests::RequestManager;
use super::roles::{Role, RoleKind, Unattached};
use super::stored::{ElectionState, Stored};
use super::{Payload, ReplicaId};

/// Most role transitions one input may cause before the replica settles (a single voter
/// goes Unattached, Prospective, Candidate, Leader in one poll).
const SETTLE_ROUNDS_MAX: usize = 16;

/// `propose` on a replica that is not the leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotLeader<I> {
    /// The replica's epoch.
    pub epoch: Epoch,
    /// The leader it knows of, if any.
    pub leader: Option<I>,
}

/// Why `snapshot` refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotRejected {
    /// Only committed entries may be in a snapshot.
    AboveHighWatermark {
        /// The current HW.
        hw: Offset,
    },
    /// The log already starts at or after that offset.
    NotAfterLogStart {
        /// The current log start offset.
        start: Offset,
    },
}

/// One replica of the metadata log.
#[derive(Clone, Debug)]
pub struct Raft<I, R, S> {
    pub(super) config: RaftConfig<I>,
    pub(super) id: I,
    pub(super) log: RaftLog<I, R, S>,
    pub(super) role: Role<I>,
    /// This replica's HW (volatile; starts at the snapshot end after a restart).
    pub(super) hw: Offset,
    /// What the quorum-state file holds.
    pub(super) persisted: Option<ElectionState<I>>,
    pub(super) prng: Prng,
    pub(super) requests: RequestManager<I>,
    pub(super) next_correlation: u64,
    /// Effects of the restart itself, handed out with the first input.
    pub(super) pending: Vec<RaftEffect<I, R, S>>,
    pub(super) started_at: SimTime,
    /// Counts role transitions, so the settle loop knows when nothing changed.
    pub(super) generation: u64,
    /// The leader's HW moved: every parked fetch is due.
    pub(super) parked_wake_all: bool,
}

impl<I: ReplicaId, R: Payload, S: Payload> Raft<I, R, S> {
    /// A replica starting (or restarting) from what its disk holds, following
    /// `QuorumState.initialize`. The effects of starting (a PersistElection if the stored
    /// state had to change, the initial role) come out of the first call that takes `out`;
    /// `next_deadline` is `now` until then.
    pub fn new(
        config: RaftConfig<I>,
        id: I,
        stored: Stored<I, R, S>,
        now: SimTime,
        seed: u64,
    ) -> Self {
        let mut prng = Prng::new(seed);
        let next_correlation = prng.next_u64() >> 16;
        let requests = RequestManager::new(config.request_timeout_ms, config.retry_backoff_ms);
        let log = RaftLog::restore(stored.snapshot, stored.entries);
        let hw = log.start_offset();
        let placeholder = Role::Unattached(Unattached {
            epoch: Epoch(0),
            voted: None,
            election_deadline: None,
        });
        let mut raft = Raft {
            config,
            id,
            log,
            role: placeholder,
            hw,
            persisted: stored.election.clone(),
            prng,
            requests,
            next_correlation,
            pending: Vec::new(),
            started_at: now,
            generation: 0,
            parked_wake_all: false,
        };
        let mut out = Vec::new();
        raft.initialize(now, stored.election, &mut out);
        raft.pending = out;
        raft
    }

    /// A message arrived from `from`.
    pub fn on_message(
        &mut self,
        now: SimTime,
        from: I,
        message: RaftMessage<I, R, S>,
        out: &mut Vec<RaftEffect<I, R, S>>,
    ) {
        out.append(&mut self.pending);
        self.dispatch(now, from, message, out);
        self.settle(now, out);
    }

    /// The connection to `peer` ended (its process crashed on a host that stayed up): a
    /// request in flight to it fails now rather than at its timeout, as Kafka's
    /// `NetworkClient` fails requests on a disconnect.
    pub fn on_disconnect(&mut self, now: SimTime, peer: I, out: &mut Vec<RaftEffect<I, R, S>>) {
        out.append(&mut self.pending);
        if self.requests.on_disconnect(peer, now) {
            self.settle(now, out);
        }
    }

    /// The deadline from `next_deadline` has passed (calling it early or late is harmless).
    pub fn on_timeout(&mut self, now: SimTime, out: &mut Vec<RaftEffect<I, R, S>>) {
        out.append(&mut self.pending);
        self.settle(now, out);
    }

    /// When `on_timeout` should next be called.
    pub fn next_deadline(&self) -> Option<SimTime> {
        if !self.pending.is_empty() {
            return Some(self.started_at);
        }
        let role = self.role_deadline();
        let requests = self.requests.next_wake();
        match (role, requests) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Appends `records` as the leader (`RaftClient.prepareAppend`/`schedulePreparedAppend`)
    /// and returns the offset of the last one. They commit once the HW passes it.
    pub fn propose(
        &mut self,
        now: SimTime,
        records: Vec<R>,
        out: &mut Vec<RaftEffect<I, R, S>>,
    ) -> Result<Offset, NotLeader<I>> {
        out.append(&mut self.pending);
        assert!(!records.is_empty(), "propose at least one record");
        let Role::Leader(leader) = &self.role else {
            return Err(NotLeader {
                epoch: self.epoch(),
                leader: self.leader(),
            });
        };
        let epoch = leader.epoch;
        let added = self
            .log
            .append_as_leader(epoch, records.into_iter().map(Entry::Data).collect());
        let last = added.last().expect("at least one record").offset;
        out.push(RaftEffect::Append(added));
        self.on_leader_append(now, out);
        self.settle(now, out);
        Ok(last)
    }

    /// Stores a snapshot of the caller's state machine covering every entry below `at`
    /// (`RaftClient.createSnapshot`, KIP-630); `at` must not be above the HW. The log
    /// then starts at `at`; followers below it are sent the snapshot.
    pub fn snapshot(
        &mut self,
        at: Offset,
        payload: S,
        out: &mut Vec<RaftEffect<I, R, S>>,
    ) -> Result<SnapshotId, SnapshotRejected> {
        out.append(&mut self.pending);
        if at > self.hw {
            return Err(SnapshotRejected::AboveHighWatermark { hw: self.hw });
        }
        let Some(id) = self.log.snapshot_id_at(at) else {
            return Err(SnapshotRejected::NotAfterLogStart {
                start: self.log.start_offset(),
            });
        };
        let snapshot = Snapshot { id, payload };
        self.log.take_snapshot(snapshot.clone());
        out.push(RaftEffect::PersistSnapshot(snapshot));
        assert!(self.log.start_offset() <= self.hw);
        Ok(id)
    }

    /// Resigns if this replica leads (`RaftClient.resign`); otherwise does nothing.
    pub fn resign(&mut self, now: SimTime, out: &mut Vec<RaftEffect<I, R, S>>) {
        out.append(&mut self.pending);
        if matches!(self.role, Role::Leader(_)) {
            self.become_resigned(now, super::effect::ResignReason::Requested, out);
            self.settle(now, out);
        }
    }

    /// Runs due timers and sends what can be sent until nothing changes.
    pub(super) fn settle(&mut self, now: SimTime, out: &mut Vec<RaftEffect<I, R, S>>) {
        for _ in 0..SETTLE_ROUNDS_MAX {
            let generation = self.generation;
            self.requests.expire(now);
            self.complete_parked_fetches(now, out);
            self.poll(now, out);
            if self.generation == generation {
                return;
            }
        }
        panic!(
            "replica {} did not settle after {SETTLE_ROUNDS_MAX} transitions",
            self.id
        );
    }

    fn dispatch(
        &mut self,
        now: SimTime,
        from: I,
        message: RaftMessage<I, R, S>,
        out: &mut Vec<RaftEffect<I, R, S>>,
    ) {
        if let Some(reply) = message.reply() {
            let correlation = reply.correlation;
            if !self.requests.is_expected(from, correlation) {
                return; // "Ignoring response since it is no longer needed"
            }
            let ok = self.on_response(now, from, message, out);
            self.requests.on_response(from, correlation, now, ok);
            return;
        }
        match message {
            RaftMessage::Vote(request) => self.on_vote_request(now, from, request, out),
            RaftMessage::BeginQuorumEpoch(request) => {
                self.on_begin_quorum_epoch(now, from, request, out)
            }
            RaftMessage::EndQuorumEpoch(request) => {
                self.on_end_quorum_epoch(now, from, request, out)
            }
            RaftMessage::Fetch(request) => self.on_fetch(now, from, request, out),
            RaftMessage::FetchSnapshot(request) => self.on_fetch_snapshot(now, from, request, out),
            _ => unreachable!("responses were handled above"),
        }
    }

    fn on_response(
        &mut self,
        now: SimTime,
        from: I,
        message: RaftMessage<I, R, S>,
        out: &mut Vec<RaftEffect<I, R, S>>,
    ) -> bool {
        match message {
            RaftMessage::VoteResponse {
                reply,
                vote_granted,
            } => self.on_vote_response(now, from, reply, vote_granted, out),
            RaftMessage::BeginQuorumEpochResponse(reply) => {
                self.on_begin_quorum_epoch_response(now, reply, out)
            }
            RaftMessage::EndQuorumEpochResponse(reply) => {
                self.on_end_quorum_epoch_response(now, from, reply, out)
            }
            RaftMessage::FetchResponse(response) => {
                self.on_fetch_response(now, from, response, out)
            }
            RaftMessage::FetchSnapshotResponse(response) => {
                self.on_fetch_snapshot_response(now, from, response, out)
            }
            _ => unreachable!("requests carry no reply"),
        }
    }

    /// A fresh correlation id.
    pub(super) fn next_correlation(&mut self) -> CorrelationId {
        self.next_correlation += 1;
        CorrelationId(self.next_correlation)
    }

    /// Sends a request to `to` and records it as in flight.
    pub(super) fn send_request(
        &mut self,
        now: SimTime,
        to: I,
        message: RaftMessage<I, R, S>,
        out: &mut Vec<RaftEffect<I, R, S>>,
    ) {
        let correlation = match &message {
            RaftMessage::Vote(r) => r.correlation,
            RaftMessage::BeginQuorumEpoch(r) => r.correlation,
            RaftMessage::EndQuorumEpoch(r) => r.correlation,
            RaftMessage::Fetch(r) => r.correlation,
            RaftMessage::FetchSnapshot(r) => r.correlation,
            _ => unreachable!("only requests are sent through the request manager"),
        };
        self.requests.on_sent(to, correlation, now);
        out.push(RaftEffect::Send { to, message });
    }

    /// Sets this replica's HW and reports it.
    pub(super) fn set_hw(&mut self, hw: Offset, out: &mut Vec<RaftEffect<I, R, S>>) {
        if hw == self.hw {
            return;
        }
        self.hw = hw;
        out.push(RaftEffect::HighWatermark(hw));
    }

    /// A random election timeout `T + rand(T)` (`randomElectionTimeoutMs`).
    pub(super) fn random_election_deadline(&mut self, now: SimTime) -> SimTime {
        let base_ms = self.config.election_timeout_ms;
        let jitter_ms = if base_ms == 0 {
            0
        } else {
            self.prng.below(base_ms)
        };
        now.plus_ms(base_ms + jitter_ms)
    }

    // ----- accessors -----

    /// This replica's id.
    pub fn id(&self) -> I {
        self.id
    }

    /// Its configuration.
    pub fn config(&self) -> &RaftConfig<I> {
        &self.config
    }

    /// Its role.
    pub fn role(&self) -> RoleKind {
        self.role.kind()
    }

    /// Its epoch.
    pub fn epoch(&self) -> Epoch {
        self.role.epoch()
    }

    /// The leader of its epoch as it knows it (itself when leading or resigned).
    pub fn leader(&self) -> Option<I> {
        self.role.leader(self.id)
    }

    /// Its vote in the current epoch.
    pub fn voted(&self) -> Option<I> {
        self.role.voted(self.id)
    }

    /// The election state it must have persisted.
    pub fn election_state(&self) -> ElectionState<I> {
        self.role.election(self.id)
    }

    /// Whether it is in the configured voter set (else an observer).
    pub fn is_voter(&self) -> bool {
        self.config.voters.contains(&self.id)
    }

    /// Its LEO.
    pub fn log_end_offset(&self) -> Offset {
        self.log.end_offset()
    }

    /// Its log start offset (the latest snapshot's end, or 0).
    pub fn log_start_offset(&self) -> Offset {
        self.log.start_offset()
    }

    /// The epoch of its last entry (or of its snapshot).
    pub fn last_fetched_epoch(&self) -> Epoch {
        self.log.last_fetched_epoch()
    }

    /// Its HW: entries below it are committed.
    pub fn high_watermark(&self) -> Offset {
        self.hw
    }

    /// The committed entries from `from` on, as far as the log still holds them: a caller
    /// whose next offset is below `log_start_offset` loads `latest_snapshot` first.
    pub fn committed(&self, from: Offset) -> &[LogEntry<I, R>] {
        self.log.slice(from, self.hw)
    }

    /// Every entry the log holds, committed or not.
    pub fn log_entries(&self) -> &[LogEntry<I, R>] {
        self.log.entries()
    }

    /// The latest snapshot.
    pub fn latest_snapshot(&self) -> Option<&Snapshot<S>> {
        self.log.snapshot()
    }

    /// Leader only: the epoch start offset (its LeaderChange record's offset).
    pub fn epoch_start_offset(&self) -> Option<Offset> {
        match &self.role {
            Role::Leader(leader) => Some(leader.epoch_start_offset),
            _ => None,
        }
    }
}
