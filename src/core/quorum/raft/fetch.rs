//! The leader's side of replication: Fetch and FetchSnapshot requests
//! (`handleFetchRequest`, `tryCompleteFetchRequest`, `handleFetchSnapshotRequest`), the
//! long-poll purgatory, and what the leader does after appending (`flushLeaderLog`).
//!
//! Invariants: only a fetch whose `(fetch_offset, last_fetched_epoch)` matches our log
//! moves that replica's end offset (and so the HW); a fetch below our log start, or at
//! offset 0 while we hold a snapshot (KAFKA-15078), is answered with the snapshot id; an
//! empty answer is parked until new data, a new HW, expiry, or loss of leadership.

use crate::types::{Offset, SimTime};

use super::client::Raft;
use super::effect::RaftEffect;
use super::leader::{Leader, ParkedFetch};
use super::log::FetchValidation;
use super::message::{
    FetchData, FetchRequest, FetchResponse, FetchSnapshotRequest, FetchSnapshotResponse, RaftError,
    RaftMessage,
};
use super::roles::Role;
use super::{Payload, ReplicaId};

type Out<I, R, S> = Vec<RaftEffect<I, R, S>>;

impl<I: ReplicaId, R: Payload, S: Payload> Raft<I, R, S> {
    /// `handleFetchRequest`: answer now if there is anything to say, else park the fetch
    /// for up to `max_wait_ms`.
    pub(super) fn on_fetch(
        &mut self,
        now: SimTime,
        from: I,
        request: FetchRequest<I>,
        out: &mut Out<I, R, S>,
    ) {
        if request.last_fetched_epoch > request.current_leader_epoch {
            let response = self.empty_fetch_response(&request, RaftError::InvalidRequest);
            return self.respond_fetch(from, response, out);
        }
        let response = self.try_complete_fetch(now, &request, out);
        let has_records = matches!(&response.data, FetchData::Records(r) if !r.is_empty());
        let answer_now = response.reply.error.is_some()
            || has_records
            || request.max_wait_ms == 0
            || !matches!(response.data, FetchData::Records(_));
        if answer_now {
            return self.respond_fetch(from, response, out);
        }
        let deadline = now.plus_ms(request.max_wait_ms);
        let Role::Leader(leader) = &mut self.role else {
            unreachable!("only a leader answers a fetch without error");
        };
        leader.park(ParkedFetch {
            from,
            request,
            deadline,
        });
    }

    /// `tryCompleteFetchRequest`: validate against our log, read, and record the replica's
    /// progress (which may move the HW).
    fn try_complete_fetch(
        &mut self,
        now: SimTime,
        request: &FetchRequest<I>,
        out: &mut Out<I, R, S>,
    ) -> FetchResponse<I, R> {
        if let Some(error) = self.validate_leader_only(request.current_leader_epoch) {
            return self.empty_fetch_response(request, error);
        }
        let validation = match self.log.snapshot() {
            Some(snapshot) if request.fetch_offset == Offset(0) => {
                FetchValidation::Snapshot(snapshot.id)
            }
            _ => self
                .log
                .validate_offset_and_epoch(request.fetch_offset, request.last_fetched_epoch),
        };
        let data = match validation {
            FetchValidation::Valid => {
                let to = request
                    .fetch_offset
                    .plus(self.config.fetch_max_entries as u64);
                let records = self.log.slice(request.fetch_offset, to).to_vec();
                let Role::Leader(leader) = &mut self.role else {
                    unreachable!("validated as leader");
                };
                if leader.update_replica(request.replica, now, request.fetch_offset) {
                    self.on_leader_hw_changed(out);
                }
                FetchData::Records(records)
            }
            FetchValidation::Diverging(end) => FetchData::DivergingEpoch {
                epoch: end.epoch,
                end_offset: end.offset,
            },
            FetchValidation::Snapshot(id) => FetchData::SnapshotId(id),
        };
        let Role::Leader(leader) = &self.role else {
            unreachable!("validated as leader");
        };
        FetchResponse {
            reply: self.reply(request.correlation, None),
            data,
            high_watermark: leader.hw(),
            log_start_offset: self.log.start_offset(),
        }
    }

    /// A parked fetch timed out: no records, our HW and log start (the purgatory's
    /// REQUEST_TIMED_OUT path returns the response computed on arrival).
    fn expired_fetch_response(&self, request: &FetchRequest<I>) -> FetchResponse<I, R> {
        let Role::Leader(leader) = &self.role else {
            unreachable!("only a leader holds parked fetches");
        };
        FetchResponse {
            reply: self.reply(request.correlation, None),
            data: FetchData::Records(Vec::new()),
            high_watermark: leader.hw(),
            log_start_offset: self.log.start_offset(),
        }
    }

    fn empty_fetch_response(
        &self,
        request: &FetchRequest<I>,
        error: RaftError,
    ) -> FetchResponse<I, R> {
        FetchResponse {
            reply: self.reply(request.correlation, Some(error)),
            data: FetchData::Records(Vec::new()),
            high_watermark: None,
            log_start_offset: self.log.start_offset(),
        }
    }

    fn respond_fetch(&mut self, to: I, response: FetchResponse<I, R>, out: &mut Out<I, R, S>) {
        out.push(RaftEffect::Send {
            to,
            message: RaftMessage::FetchResponse(response),
        });
    }

    /// The leader's HW moved: report it; every parked fetch is answered with it (trunk's
    /// `onUpdateLeaderHighWatermark` calls `fetchPurgatory.completeAll`).
    fn on_leader_hw_changed(&mut self, out: &mut Out<I, R, S>) {
        let Role::Leader(leader) = &self.role else {
            unreachable!("only a leader computes the HW");
        };
        let hw = leader.hw().expect("the HW just moved");
        assert!(
            hw <= self.log.end_offset(),
            "the HW is within the leader's log"
        );
        self.set_hw(hw, out);
        self.parked_wake_all = true;
    }

    /// After the leader appended: record its own LEO (which moves the HW of a single
    /// voter), answer the parked fetches the new data completes, then flush. The fetch
    /// answers go first, as in `flushLeaderLog`, so a power loss right after them loses
    /// entries a follower may already hold.
    pub(super) fn on_leader_append(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        let end = self.log.end_offset();
        let Role::Leader(leader) = &mut self.role else {
            panic!("only the leader appends as leader");
        };
        if leader.update_local(end) {
            self.on_leader_hw_changed(out);
        }
        self.complete_parked_fetches(now, out);
        if let Some(upto) = self.log.flush() {
            out.push(RaftEffect::Flush { upto });
        }
    }

    /// Answers the parked fetches that are due: all of them after an HW change and those
    /// below our LEO (`fetchPurgatory.maybeComplete`: completed afresh, which counts as a
    /// fetch again), then the expired ones (with the empty answer they would have got on
    /// arrival, as Kafka's purgatory times out: not a new fetch).
    pub(super) fn complete_parked_fetches(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        for _ in 0..2 {
            let wake_all = std::mem::take(&mut self.parked_wake_all);
            let end = self.log.end_offset();
            let Role::Leader(leader) = &mut self.role else {
                return;
            };
            let completed = leader.take_parked(|p| wake_all || p.request.fetch_offset < end);
            let expired = leader.take_parked(|p| p.deadline <= now);
            for parked in completed {
                let response = self.try_complete_fetch(now, &parked.request, out);
                self.respond_fetch(parked.from, response, out);
            }
            for parked in expired {
                let response = self.expired_fetch_response(&parked.request);
                self.respond_fetch(parked.from, response, out);
            }
            if !self.parked_wake_all {
                return;
            }
        }
    }

    /// A replica that stops leading answers every parked fetch at once, with the error
    /// its new role gives (Kafka completes them exceptionally, or at expiry).
    pub(super) fn answer_parked_after_leadership(
        &mut self,
        now: SimTime,
        mut old: Leader<I>,
        out: &mut Out<I, R, S>,
    ) {
        assert!(!matches!(self.role, Role::Leader(_)));
        for parked in old.take_parked(|_| true) {
            let response = self.try_complete_fetch(now, &parked.request, out);
            assert!(
                response.reply.error.is_some(),
                "only a leader answers without error"
            );
            self.respond_fetch(parked.from, response, out);
        }
    }

    /// `handleFetchSnapshotRequest`: the whole snapshot in one chunk, if it is still ours.
    pub(super) fn on_fetch_snapshot(
        &mut self,
        now: SimTime,
        from: I,
        request: FetchSnapshotRequest<I>,
        out: &mut Out<I, R, S>,
    ) {
        let error = self.validate_leader_only(request.current_leader_epoch);
        let snapshot = self
            .log
            .snapshot()
            .filter(|s| s.id == request.snapshot_id)
            .cloned();
        let error = error.or(snapshot.is_none().then_some(RaftError::SnapshotNotFound));
        if error.is_none()
            && let Role::Leader(leader) = &mut self.role
        {
            leader.update_check_quorum(request.replica, now);
        }
        let response = FetchSnapshotResponse {
            reply: self.reply(request.correlation, error),
            snapshot: if error.is_none() { snapshot } else { None },
        };
        out.push(RaftEffect::Send {
            to: from,
            message: RaftMessage::FetchSnapshotResponse(response),
        });
    }
}
