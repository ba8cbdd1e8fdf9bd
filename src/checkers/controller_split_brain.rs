//! `controller-split-brain`: two controllers acted as the active controller in the same
//! quorum epoch (Raft's election safety, as the controller sees it). Always a bug.

use std::collections::BTreeMap;

use super::Evidence;
use crate::config::Config;
use crate::history::{EventKind, History};
use crate::quorum_event::QuorumEvent;
use crate::types::NodeId;
use crate::violation::{Violation, ViolationKind};

/// One violation per quorum epoch with more than one active controller.
pub fn check(history: &History, _config: &Config) -> Vec<Violation> {
    let mut active: BTreeMap<u32, Vec<(NodeId, usize)>> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        if let EventKind::Quorum(QuorumEvent::Activated { node, epoch, .. }) = &event.kind {
            let nodes = active.entry(*epoch).or_default();
            if !nodes.iter().any(|(n, _)| n == node) {
                nodes.push((*node, index));
            }
        }
    }
    active
        .into_iter()
        .filter(|(_, nodes)| nodes.len() > 1)
        .map(|(epoch, nodes)| {
            let mut evidence = Evidence::default();
            nodes.iter().for_each(|(_, i)| evidence.add(*i));
            let names: Vec<String> = nodes.iter().map(|(n, _)| n.to_string()).collect();
            let message = format!(
                "{} all acted as active controller in quorum epoch {epoch}",
                names.join(" and ")
            );
            Violation::of_cluster(
                ViolationKind::ControllerSplitBrain,
                message,
                evidence.finish(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::types::ControllerId;

    fn activated(b: &mut Builder, controller: u8, epoch: u32) -> usize {
        b.push(EventKind::Quorum(QuorumEvent::Activated {
            node: NodeId::Controller(ControllerId(controller)),
            epoch,
            unreplayed: 0,
        }))
    }

    #[test]
    fn flags_two_active_controllers_in_one_epoch_not_in_successive_ones() {
        let mut b = Builder::new();
        activated(&mut b, 1, 1);
        let second = activated(&mut b, 2, 2);
        assert!(check(&b.history, &Config::default()).is_empty());
        let third = activated(&mut b, 3, 2);
        activated(&mut b, 2, 2); // the same controller again: no new finding
        let found = check(&b.history, &Config::default());
        assert_eq!(
            summary(&found),
            vec![("controller-split-brain", "".into(), vec![])]
        );
        assert_eq!(found[0].evidence, vec![second, third]);
        assert!(found[0].message.contains("quorum epoch 2"));
    }
}
