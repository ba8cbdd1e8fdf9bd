//! The follower's side of replication, for voters and observers: sending Fetch or
//! FetchSnapshot, and handling their responses (`maybeSendFetchOrFetchSnapshot`,
//! `handleFetchResponse`, `appendAsFollower`, `handleFetchSnapshotResponse`,
//! `updateFollowerHighWatermark`).
//!
//! Invariants: a voter flushes everything it appended before its next fetch, so the fetch
//! offset the leader counts is durable (KAFKA-13884); a follower's HW is the leader's,
//! capped at its own LEO; only a successful response resets the fetch timeout.

use crate::types::{Offset, SimTime};

use super::client::Raft;
use super::effect::RaftEffect;
use super::epoch::OffsetAndEpoch;
use super::log::LogEntry;
use super::message::{
    FetchData, FetchRequest, FetchResponse, FetchSnapshotRequest, FetchSnapshotResponse, RaftError,
    RaftMessage,
};
use super::roles::Role;
use super::{Payload, ReplicaId};

type Out<I, R, S> = Vec<RaftEffect<I, R, S>>;

impl<I: ReplicaId, R: Payload, S: Payload> Raft<I, R, S> {
    /// `maybeSendFetchOrFetchSnapshot`: a FetchSnapshot while a snapshot is pending, else a
    /// Fetch from our LEO. A voter flushes first.
    pub(super) fn send_fetch_or_snapshot(&mut self, now: SimTime, to: I, out: &mut Out<I, R, S>) {
        if !self.requests.is_ready(to) {
            return;
        }
        let pending_snapshot = match &self.role {
            Role::Follower(follower) => follower.fetching_snapshot,
            _ => None,
        };
        if let Some(snapshot_id) = pending_snapshot {
            let request = FetchSnapshotRequest {
                correlation: self.next_correlation(),
                replica: self.id,
                current_leader_epoch: self.epoch(),
                snapshot_id,
            };
            return self.send_request(now, to, RaftMessage::FetchSnapshot(request), out);
        }
        self.send_fetch(now, to, out);
    }

    /// A Fetch from our LEO (`buildFetchRequest`).
    pub(super) fn send_fetch(&mut self, now: SimTime, to: I, out: &mut Out<I, R, S>) {
        if self.is_voter()
            && self.config.voters_flush_before_fetch
            && let Some(upto) = self.log.flush()
        {
            out.push(RaftEffect::Flush { upto });
        }
        let end = self.log.end();
        let request = FetchRequest {
            correlation: self.next_correlation(),
            replica: self.id,
            fetch_offset: end.offset,
            last_fetched_epoch: end.epoch,
            current_leader_epoch: self.epoch(),
            max_wait_ms: self.config.fetch_max_wait_ms,
        };
        self.send_request(now, to, RaftMessage::Fetch(request), out);
    }

    /// `maybeSendAnyVoterFetch`: an observer that does not know (or lost) the leader asks
    /// a random voter; any answer names the current epoch and leader.
    pub(super) fn fetch_any_voter(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        let id = self.id;
        let ready: Vec<I> = self
            .config
            .voters
            .iter()
            .copied()
            .filter(|&v| v != id && self.requests.is_ready(v))
            .collect();
        if ready.is_empty() {
            return;
        }
        let pick = self.prng.below(ready.len() as u64) as usize;
        self.send_fetch(now, ready[pick], out);
    }

    /// `handleFetchResponse`: truncate on divergence, note a snapshot to download, or
    /// append the records and adopt the leader's HW.
    pub(super) fn on_fetch_response(
        &mut self,
        now: SimTime,
        from: I,
        response: FetchResponse<I, R>,
        out: &mut Out<I, R, S>,
    ) -> bool {
        if let Some(ok) = self.handle_reply(now, &response.reply, out) {
            return ok;
        }
        let Role::Follower(follower) = &mut self.role else {
            return true;
        };
        if follower.leader != from {
            return true;
        }
        match response.data {
            FetchData::DivergingEpoch { epoch, end_offset } => {
                self.truncate_on_divergence(OffsetAndEpoch::new(end_offset, epoch), out);
            }
            FetchData::SnapshotId(id) => follower.fetching_snapshot = Some(id),
            FetchData::Records(entries) => {
                self.append_as_follower(entries, out);
                if let Some(leader_hw) = response.high_watermark {
                    self.update_follower_hw(leader_hw, out);
                }
            }
        }
        self.fetch_succeeded(now);
        true
    }

    /// `resetFetchTimeoutForSuccessfulFetch`: the leader is alive and we have fetched
    /// from it (which ends our willingness to grant pre-votes).
    fn fetch_succeeded(&mut self, now: SimTime) {
        let timeout_ms = self.config.fetch_timeout_ms;
        if let Role::Follower(follower) = &mut self.role {
            follower.fetch_deadline = now.plus_ms(timeout_ms);
            follower.has_fetched = true;
        }
    }

    /// `truncateToEndOffset` after a diverging-epoch answer. Kafka refuses to go below the
    /// HW (KAFKA-12460, it throws); that only happens after a protocol bug, so we truncate,
    /// lower the HW with it and let the checkers report the lost commit.
    fn truncate_on_divergence(&mut self, leader_end: OffsetAndEpoch, out: &mut Out<I, R, S>) {
        let old_end = self.log.end_offset();
        let new_end = self.log.truncate_to_end_offset(leader_end);
        if new_end < old_end {
            out.push(RaftEffect::Truncate { to: new_end });
            out.push(RaftEffect::Truncated {
                from: old_end,
                to: new_end,
            });
        }
        if new_end < self.hw {
            self.set_hw(new_end, out);
        }
    }

    /// `appendAsFollower`: the records start at our LEO (one fetch in flight, and every
    /// transition drops the responses of the previous role).
    fn append_as_follower(&mut self, entries: Vec<LogEntry<I, R>>, out: &mut Out<I, R, S>) {
        let Some(first) = entries.first() else {
            return;
        };
        assert_eq!(
            first.offset,
            self.log.end_offset(),
            "fetched records start at our LEO"
        );
        self.log.append(entries.clone());
        out.push(RaftEffect::Append(entries));
    }

    /// `updateFollowerHighWatermark`: the leader's HW, capped at our LEO. Kafka throws on a
    /// decrease (`FollowerState.updateHighWatermark`); we apply it and leave it to the
    /// checkers, so a protocol bug shows as a MonotonicHighWatermark violation.
    fn update_follower_hw(&mut self, leader_hw: Offset, out: &mut Out<I, R, S>) {
        let hw = leader_hw.min(self.log.end_offset());
        self.set_hw(hw, out);
    }

    /// `handleFetchSnapshotResponse`: replace the whole log by the snapshot (one chunk),
    /// or start over if the leader no longer has it.
    pub(super) fn on_fetch_snapshot_response(
        &mut self,
        now: SimTime,
        from: I,
        response: FetchSnapshotResponse<I, S>,
        out: &mut Out<I, R, S>,
    ) -> bool {
        if let Some(ok) = self.handle_common_response(now, &response.reply, out) {
            return ok;
        }
        let Role::Follower(follower) = &mut self.role else {
            return true;
        };
        if follower.leader != from {
            return true;
        }
        let expected = follower.fetching_snapshot.take();
        match (response.reply.error, response.snapshot) {
            (None, Some(snapshot)) if Some(snapshot.id) == expected => {
                self.install_snapshot(snapshot, out)
            }
            (None | Some(RaftError::SnapshotNotFound), _) => {}
            (Some(_), _) => return false,
        }
        self.fetch_succeeded(now);
        true
    }

    /// `truncateToLatestSnapshot`: the log restarts at the snapshot's end and so does the HW
    /// (only a protocol bug makes that lower it).
    fn install_snapshot(&mut self, snapshot: super::log::Snapshot<S>, out: &mut Out<I, R, S>) {
        let old_end = self.log.end_offset();
        let end = snapshot.id.end_offset;
        self.log.install_snapshot(snapshot.clone());
        out.push(RaftEffect::PersistSnapshot(snapshot));
        if old_end > end {
            out.push(RaftEffect::Truncate { to: end });
            out.push(RaftEffect::Truncated {
                from: old_end,
                to: end,
            });
        }
        self.set_hw(end, out);
    }
}
