//! `PartitionChangeBuilder.build`: a partition's next registration from a target ISR:
//! ELR bookkeeping (KIP-966), whether the leader stays, and otherwise the election of a
//! new one (clean, from the ELR, the last known leader, or unclean).

use crate::core::metadata::PartitionRegistration;
use crate::types::{BrokerId, PartitionEpoch};

/// The configuration that decides elections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElectionRules {
    /// `min.insync.replicas`.
    pub min_insync_replicas: usize,
    /// KIP-966 eligible leader replicas.
    pub eligible_leader_replicas: bool,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
}

/// A partition's next registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The new registration (epochs bumped).
    pub registration: PartitionRegistration,
    /// Whether the leader changed (the leader epoch was bumped).
    pub leader_changed: bool,
    /// Whether the new leader came from an unclean election.
    pub unclean: bool,
}

/// The registration `current` becomes with `target_isr`, or `None` when nothing changes.
/// `acceptable` says whether a broker may lead (registered and unfenced).
pub fn build(
    current: &PartitionRegistration,
    target_isr: Vec<BrokerId>,
    rules: &ElectionRules,
    acceptable: &dyn Fn(BrokerId) -> bool,
) -> Option<Change> {
    let (mut isr, mut elr) = isr_and_elr(current, target_isr, rules);
    let mut leader = current.leader;
    let mut unclean = false;
    let keep = current
        .leader
        .is_some_and(|l| may_lead(l, &isr, &elr, acceptable));
    if !keep {
        (leader, unclean) = elect(current, &isr, &elr, rules, acceptable);
    }
    let leader_changed = leader != current.leader;
    // `maybeUpdateLastKnownLeader`: remember the leader when the ISR first empties;
    // forget it once the partition has a leader again.
    let mut last_known_elr = current.last_known_elr.clone();
    if rules.eligible_leader_replicas {
        if isr.is_empty() && leader.is_none() {
            if let Some(previous) = current.leader {
                last_known_elr = vec![previous];
            }
        } else if leader.is_some() {
            last_known_elr.clear();
        }
    }
    let mut recovering = current.recovering;
    if leader_changed && let Some(l) = leader {
        if elr.contains(&l) {
            isr = vec![l];
            elr.retain(|b| *b != l);
        }
        if unclean {
            isr = vec![l];
            elr.clear();
            recovering = true;
        }
    }
    if !leader_changed
        && isr == current.isr
        && elr == current.elr
        && last_known_elr == current.last_known_elr
    {
        return None;
    }
    let mut registration = current.clone();
    registration.isr = isr;
    registration.elr = elr;
    registration.last_known_elr = last_known_elr;
    registration.recovering = recovering;
    registration.partition_epoch = PartitionEpoch(registration.partition_epoch.0 + 1);
    if leader_changed {
        registration.leader = leader;
        registration.leader_epoch = registration.leader_epoch.next();
    }
    if let Some(l) = registration.leader {
        assert!(registration.isr.contains(&l), "leader must be in the ISR");
    }
    assert!(
        registration
            .elr
            .iter()
            .all(|b| !registration.isr.contains(b)),
        "ELR and ISR must be disjoint"
    );
    Some(Change {
        registration,
        leader_changed,
        unclean,
    })
}

/// The new ISR and ELR: with ELR, the replicas leaving an ISR below min.insync join the
/// ELR; without, the ISR is never made empty.
fn isr_and_elr(
    current: &PartitionRegistration,
    target_isr: Vec<BrokerId>,
    rules: &ElectionRules,
) -> (Vec<BrokerId>, Vec<BrokerId>) {
    let mut isr = target_isr;
    let mut elr = current.elr.clone();
    if rules.eligible_leader_replicas {
        if isr.len() >= rules.min_insync_replicas {
            elr.clear();
        } else {
            for b in current.isr.iter().chain(current.elr.iter()) {
                if !isr.contains(b) && !elr.contains(b) {
                    elr.push(*b);
                }
            }
            elr.retain(|b| !isr.contains(b));
        }
    } else if isr.is_empty() {
        isr = current.isr.clone();
    }
    (isr, elr)
}

/// Whether `b` may lead cleanly: an acceptable ISR member, or, with the ISR empty, an
/// acceptable ELR member.
fn may_lead(
    b: BrokerId,
    isr: &[BrokerId],
    elr: &[BrokerId],
    acceptable: &dyn Fn(BrokerId) -> bool,
) -> bool {
    (isr.contains(&b) || (isr.is_empty() && elr.contains(&b))) && acceptable(b)
}

/// A new leader: the first valid replica, else (KIP-966, ISR and ELR empty) the single
/// last known leader, else (unclean election enabled) any acceptable replica. Returns it
/// and whether the election was unclean.
fn elect(
    current: &PartitionRegistration,
    isr: &[BrokerId],
    elr: &[BrokerId],
    rules: &ElectionRules,
    acceptable: &dyn Fn(BrokerId) -> bool,
) -> (Option<BrokerId>, bool) {
    let replicas = &current.replicas;
    let clean = |b: &BrokerId| may_lead(*b, isr, elr, acceptable);
    if let Some(leader) = replicas.iter().copied().find(clean) {
        return (Some(leader), false);
    }
    if rules.eligible_leader_replicas && isr.is_empty() && elr.is_empty() {
        // `canElectLastKnownLeader`: recorded as an unclean election.
        if let [last] = current.last_known_elr[..]
            && acceptable(last)
        {
            return (Some(last), true);
        }
    }
    if rules.unclean_leader_election {
        let leader = replicas.iter().copied().find(|b| acceptable(*b));
        return (leader, leader.is_some());
    }
    (None, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{LeaderEpoch, PartitionId};

    fn registration(leader: u8, isr: &[u8]) -> PartitionRegistration {
        PartitionRegistration {
            partition: PartitionId(0),
            replicas: vec![BrokerId(1), BrokerId(2), BrokerId(3)],
            leader: Some(BrokerId(leader)),
            leader_epoch: LeaderEpoch(4),
            partition_epoch: PartitionEpoch(7),
            isr: isr.iter().map(|b| BrokerId(*b)).collect(),
            elr: Vec::new(),
            last_known_elr: Vec::new(),
            recovering: false,
        }
    }

    const RULES: ElectionRules = ElectionRules {
        min_insync_replicas: 2,
        eligible_leader_replicas: false,
        unclean_leader_election: false,
    };

    #[test]
    fn a_shrink_keeps_the_leader_and_bumps_only_the_partition_epoch() {
        let current = registration(1, &[1, 2, 3]);
        let change = build(&current, vec![BrokerId(1), BrokerId(2)], &RULES, &|_| true).unwrap();
        assert!(!change.leader_changed);
        assert_eq!(change.registration.leader_epoch, LeaderEpoch(4));
        assert_eq!(change.registration.partition_epoch, PartitionEpoch(8));
        assert!(build(&current, current.isr.clone(), &RULES, &|_| true).is_none());
    }

    #[test]
    fn losing_the_leader_elects_the_first_acceptable_isr_member() {
        let current = registration(1, &[1, 2, 3]);
        let fenced_2 = |b: BrokerId| b != BrokerId(1) && b != BrokerId(2);
        let change = build(&current, vec![BrokerId(2), BrokerId(3)], &RULES, &fenced_2).unwrap();
        assert_eq!(change.registration.leader, Some(BrokerId(3)));
        assert_eq!(change.registration.leader_epoch, LeaderEpoch(5));
        assert!(!change.unclean);
    }

    #[test]
    fn unclean_election_takes_any_acceptable_replica_and_marks_it_recovering() {
        let current = registration(1, &[1]);
        let rules = ElectionRules {
            unclean_leader_election: true,
            ..RULES
        };
        let not_1 = |b: BrokerId| b != BrokerId(1);
        let change = build(&current, vec![BrokerId(1)], &rules, &not_1).unwrap();
        assert_eq!(change.registration.leader, Some(BrokerId(2)));
        assert!(change.unclean && change.registration.recovering);
        assert_eq!(change.registration.isr, vec![BrokerId(2)]);
        let offline = build(&current, vec![BrokerId(1)], &RULES, &not_1).unwrap();
        assert_eq!(
            offline.registration.leader, None,
            "no unclean election: offline"
        );
    }
}
