//! A controller node as the shell runs it: the single controller, or one controller of a
//! quorum.

use crate::core::message::Message;
use crate::core::quorum::controller::Controller;
use crate::core::quorum::quorum_controller::QuorumController;
use crate::core::quorum::records::ControllerState;
use crate::core::{Disconnect, Effect, StateMachine};
use crate::types::{NodeId, SimTime};

/// A controller node.
#[derive(Clone, Debug)]
pub enum ControllerNode {
    /// The only controller (`cluster.controllers: 1`).
    Single(Box<Controller>),
    /// One of 3 or 5 controllers of a quorum.
    Quorum(Box<QuorumController>),
}

impl ControllerNode {
    /// The metadata as this controller knows it committed.
    pub fn state(&self) -> &ControllerState {
        match self {
            ControllerNode::Single(c) => c.state(),
            ControllerNode::Quorum(q) => q.committed(),
        }
    }

    /// Whether it is the active controller (the single one always is).
    pub fn is_active(&self) -> bool {
        match self {
            ControllerNode::Single(_) => true,
            ControllerNode::Quorum(q) => q.active_epoch().is_some(),
        }
    }

    /// How many metadata log entries it has replayed (0 for the single controller).
    pub fn applied(&self) -> u64 {
        match self {
            ControllerNode::Single(_) => 0,
            ControllerNode::Quorum(q) => q.applied().0,
        }
    }
}

impl StateMachine for ControllerNode {
    fn on_message(&mut self, now: SimTime, from: NodeId, message: Message, out: &mut Vec<Effect>) {
        match self {
            ControllerNode::Single(c) => c.on_message(now, from, message, out),
            ControllerNode::Quorum(q) => q.on_message(now, from, message, out),
        }
    }

    fn on_disconnect(
        &mut self,
        now: SimTime,
        peer: NodeId,
        cause: Disconnect,
        out: &mut Vec<Effect>,
    ) {
        match self {
            ControllerNode::Single(c) => c.on_disconnect(now, peer, cause, out),
            ControllerNode::Quorum(q) => q.on_disconnect(now, peer, cause, out),
        }
    }

    fn on_timeout(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        match self {
            ControllerNode::Single(c) => c.on_timeout(now, out),
            ControllerNode::Quorum(q) => q.on_timeout(now, out),
        }
    }

    fn next_deadline(&self) -> Option<SimTime> {
        match self {
            ControllerNode::Single(c) => c.next_deadline(),
            ControllerNode::Quorum(q) => q.next_deadline(),
        }
    }
}
