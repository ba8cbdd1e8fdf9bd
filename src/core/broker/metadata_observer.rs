//! A broker's replica of the metadata log when the controllers form a quorum: an observer
//! (it fetches the log but never votes) that applies only committed records and knows
//! which controller leads the log, the one to send registrations, heartbeats and
//! AlterPartition to (`BrokerMetadataListener`, `RaftControllerNodeProvider`).
//!
//! Deviation: a broker keeps its replica of the log in memory only; a restarted broker
//! fetches it again from the leader (from its latest snapshot), where Kafka's broker
//! reloads its own `__cluster_metadata` log first.

use crate::config::Config;
use crate::core::Effect;
use crate::core::message::{Message, MetadataImage};
use crate::core::quorum::metadata_log::{MetadataEffect, MetadataRaft, MetadataStored, Replay};
use crate::core::quorum::quorum_controller::raft_config;
use crate::core::quorum::raft::{RaftEffect, RaftMessage};
use crate::core::quorum::records::{ControllerState, MetadataRecord};
use crate::layout::Layout;
use crate::types::{BrokerId, NodeId, SimTime};

/// A broker's observer of the metadata log.
#[derive(Clone, Debug)]
pub struct MetadataObserver {
    raft: MetadataRaft,
    replay: Replay,
}

impl MetadataObserver {
    /// A broker process starting with an empty replica of the log.
    pub fn new(
        broker: BrokerId,
        config: &Config,
        layout: &Layout,
        now: SimTime,
        seed: u64,
    ) -> MetadataObserver {
        let me = NodeId::Broker(broker);
        let raft = MetadataRaft::new(
            raft_config(config, layout),
            me,
            MetadataStored::empty(),
            now,
            seed,
        );
        MetadataObserver {
            raft,
            replay: Replay::new(layout, None),
        }
    }

    /// The controller that leads the metadata log, as far as this broker knows.
    pub fn active_controller(&self) -> Option<NodeId> {
        self.raft.leader()
    }

    /// A Raft message arrived.
    pub fn on_message(
        &mut self,
        now: SimTime,
        from: NodeId,
        message: RaftMessage<NodeId, MetadataRecord, ControllerState>,
        out: &mut Vec<Effect>,
    ) {
        let mut effects = Vec::new();
        self.raft.on_message(now, from, message, &mut effects);
        self.perform(effects, out);
    }

    /// The connection to `peer` ended: a fetch in flight to it fails now, and the
    /// observer asks another controller who leads.
    pub fn on_disconnect(&mut self, now: SimTime, peer: NodeId, out: &mut Vec<Effect>) {
        let mut effects = Vec::new();
        self.raft.on_disconnect(now, peer, &mut effects);
        self.perform(effects, out);
    }

    /// Its timers.
    pub fn on_timeout(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let mut effects = Vec::new();
        self.raft.on_timeout(now, &mut effects);
        self.perform(effects, out);
    }

    /// When `on_timeout` is next due.
    pub fn next_deadline(&self) -> Option<SimTime> {
        self.raft.next_deadline()
    }

    /// Applies what committed since the last call; gives the new image if anything did.
    pub fn catch_up(&mut self) -> Option<MetadataImage> {
        self.replay
            .catch_up(&self.raft, |_, _, _| {})
            .then(|| image(&self.replay))
    }

    /// Sends go out; the log lives in memory (see the module doc), so disk writes and
    /// observations are dropped.
    fn perform(&mut self, effects: Vec<MetadataEffect>, out: &mut Vec<Effect>) {
        for effect in effects {
            if let RaftEffect::Send { to, message } = effect {
                out.push(Effect::Send {
                    to,
                    message: Message::Raft(Box::new(message)),
                });
            }
        }
    }
}

/// The metadata image of a replay: its version is how many log entries it applied, so a
/// broker's registration (at offset `o`, unfenced once version `o + 1` is reached) and
/// its heartbeats speak of the same numbers as the controller.
fn image(replay: &Replay) -> MetadataImage {
    replay.state.image(replay.applied.0)
}
