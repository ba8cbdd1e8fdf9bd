//! Fault atoms: each fault that starts something paired with the faults that end it, so
//! that shrinking removes a crash together with its restart (DEMi's "conjoined" events).
//!
//! Pairing reads the baseline run's `Fault` events, one per applied fault in firing order,
//! because role targets (`leader:events-0`) resolve only when a fault fires: a
//! `{"crash": "leader:events-0"}` is ended by the `{"restart": 2}` that names the broker
//! the crash actually hit. The rules:
//! - `crash` / `power_loss` of some nodes is ended by each later `restart` that names one
//!   of those nodes (until all of them are restarted);
//! - `pause` by the `resume`s of its nodes, likewise;
//! - `isolate` / `partition` by the next `heal` (a heal ends every open cut);
//! - `packet_loss r` (r other than the scenario's `network.packet_loss`) by the next
//!   `packet_loss` back to the scenario's rate; `latency` likewise with
//!   `network.latency_ms`.
//!
//! A start with no end, and an end that ends nothing, are atoms alone. An end that ends
//! the faults of several atoms (`"restart": [1, 2, 3]` after two crashes) is *shared*: it
//! stays in a candidate while any of those atoms does.

use crate::fault_mark::FaultMark;
use crate::scenario::{FaultAction, Network, TimedFault};
use crate::types::NodeId;

/// One unit of removal: a start and the ends it alone owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Atom {
    /// Index of its first fault in [`Schedule::faults`].
    pub start: usize,
    /// Indices of the faults that end only this atom's start, in firing order.
    pub ends: Vec<usize>,
}

/// An end that ends the starts of several atoms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedEnd {
    /// Index of the fault in [`Schedule::faults`].
    pub fault: usize,
    /// The atoms (indices into [`Schedule::atoms`]) whose starts it ends.
    pub closes: Vec<usize>,
}

/// The fault list being shrunk: every fault of the base scenario (its current version:
/// passes change kinds and times), grouped into atoms, and which atoms a candidate keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// Every fault of the base scenario, in the order the runner fires them (stable by
    /// `at_ms`); an index here is a fault's identity.
    pub faults: Vec<TimedFault>,
    /// Every atom of the base scenario, in the order of their starts.
    pub atoms: Vec<Atom>,
    /// Ends shared by several atoms.
    pub shared: Vec<SharedEnd>,
    /// The atoms this schedule keeps (indices into `atoms`, ascending).
    pub kept: Vec<usize>,
}

/// What a start waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Down,
    Paused,
    Cut,
    Loss,
    Latency,
}

/// A start not yet fully ended.
struct Open {
    atom: usize,
    class: Class,
    /// The nodes still to be restarted or resumed (`Down`, `Paused`).
    nodes: Vec<NodeId>,
}

impl Schedule {
    /// Groups `faults` (the base scenario's, in file order) into atoms; `marks` are the
    /// baseline run's `Fault` events, parsed, one per fault in firing order (`None` where
    /// a description did not parse: that fault is an atom alone). `network` gives the
    /// rates a `packet_loss` or `latency` fault returns to.
    pub fn new(faults: &[TimedFault], marks: &[Option<FaultMark>], network: &Network) -> Self {
        let mut faults = faults.to_vec();
        faults.sort_by_key(|f| f.at_ms); // stable: the runner's firing order
        let mut schedule = Schedule {
            faults,
            atoms: Vec::new(),
            shared: Vec::new(),
            kept: Vec::new(),
        };
        let mut open: Vec<Open> = Vec::new();
        for index in 0..schedule.faults.len() {
            let mark = marks.get(index).cloned().flatten();
            let action = schedule.faults[index].action.clone();
            let closes = ends(&action, mark.as_ref(), network, &mut open);
            match closes.as_slice() {
                [] => {
                    let atom = schedule.atoms.len();
                    schedule.atoms.push(Atom {
                        start: index,
                        ends: Vec::new(),
                    });
                    if let Some(class) = starts(&action, network) {
                        let nodes = mark.as_ref().map(nodes_of).unwrap_or_default();
                        open.push(Open { atom, class, nodes });
                    }
                }
                [one] => schedule.atoms[*one].ends.push(index),
                many => schedule.shared.push(SharedEnd {
                    fault: index,
                    closes: many.to_vec(),
                }),
            }
        }
        schedule.kept = (0..schedule.atoms.len()).collect();
        schedule
    }

    /// The same schedule keeping only the atoms `kept` (ascending indices into `atoms`).
    pub fn keeping(&self, kept: Vec<usize>) -> Schedule {
        Schedule {
            kept,
            ..self.clone()
        }
    }

    /// The indices of the faults a candidate holds, in firing order: the kept atoms'
    /// starts and ends, and the shared ends of any kept atom; sorted by time, ties in
    /// base order.
    pub fn included(&self) -> Vec<usize> {
        let mut indices: Vec<usize> = Vec::new();
        for &a in &self.kept {
            indices.push(self.atoms[a].start);
            indices.extend(&self.atoms[a].ends);
        }
        for end in &self.shared {
            if end.closes.iter().any(|a| self.kept.contains(a)) {
                indices.push(end.fault);
            }
        }
        indices.sort_by_key(|&i| (self.faults[i].at_ms, i));
        indices
    }

    /// The fault list of this candidate, as the scenario file will hold it.
    pub fn fault_list(&self) -> Vec<TimedFault> {
        self.included()
            .into_iter()
            .map(|i| self.faults[i].clone())
            .collect()
    }

    /// How many faults the candidate holds.
    pub fn fault_count(&self) -> usize {
        self.included().len()
    }

    /// Whether a shared end ends atom `atom`'s start.
    pub fn has_shared_end(&self, atom: usize) -> bool {
        self.shared.iter().any(|s| s.closes.contains(&atom))
    }

    /// The single end that atom `atom` owns, if it has exactly one and no shared end:
    /// the end a duration pass may move.
    pub fn own_end(&self, atom: usize) -> Option<usize> {
        match self.atoms[atom].ends.as_slice() {
            [one] if !self.has_shared_end(atom) => Some(*one),
            _ => None,
        }
    }
}

/// Which kind of start `action` is, if it starts something.
fn starts(action: &FaultAction, network: &Network) -> Option<Class> {
    match action {
        FaultAction::Crash(_) | FaultAction::PowerLoss(_) => Some(Class::Down),
        FaultAction::Pause(_) => Some(Class::Paused),
        FaultAction::Isolate(_) | FaultAction::Partition(_) => Some(Class::Cut),
        FaultAction::PacketLoss(rate) if *rate != network.packet_loss => Some(Class::Loss),
        FaultAction::Latency(low, high) if (*low, *high) != network.latency_ms => {
            Some(Class::Latency)
        }
        _ => None,
    }
}

/// The atoms whose open starts `action` ends (updating `open`), in atom order.
fn ends(
    action: &FaultAction,
    mark: Option<&FaultMark>,
    network: &Network,
    open: &mut Vec<Open>,
) -> Vec<usize> {
    let (class, nodes) = match action {
        FaultAction::Restart(_) => (Class::Down, mark.map(nodes_of)),
        FaultAction::Resume(_) => (Class::Paused, mark.map(nodes_of)),
        FaultAction::Heal => (Class::Cut, None),
        FaultAction::PacketLoss(rate) if *rate == network.packet_loss => (Class::Loss, None),
        FaultAction::Latency(low, high) if (*low, *high) == network.latency_ms => {
            (Class::Latency, None)
        }
        _ => return Vec::new(),
    };
    let mut closed = Vec::new();
    for o in open.iter_mut().filter(|o| o.class == class) {
        match (&nodes, class) {
            (Some(nodes), Class::Down | Class::Paused) => {
                let before = o.nodes.len();
                o.nodes.retain(|n| !nodes.contains(n));
                if o.nodes.len() < before {
                    closed.push(o.atom);
                }
            }
            (None, Class::Down | Class::Paused) => {} // an end that did not parse
            _ => {
                o.nodes.clear();
                closed.push(o.atom);
            }
        }
    }
    open.retain(|o| match o.class {
        Class::Down | Class::Paused => !o.nodes.is_empty(),
        _ => !closed.contains(&o.atom),
    });
    closed.sort_unstable();
    closed
}

/// The nodes a fault event names (for a partition, every group's).
fn nodes_of(mark: &FaultMark) -> Vec<NodeId> {
    match mark {
        FaultMark::Crash(n)
        | FaultMark::PowerLoss(n)
        | FaultMark::DiskWipe(n)
        | FaultMark::Restart(n)
        | FaultMark::Pause(n)
        | FaultMark::Resume(n)
        | FaultMark::Isolate(n) => n.clone(),
        FaultMark::Partition(groups) => groups.concat(),
        FaultMark::Heal | FaultMark::PacketLoss(_) | FaultMark::Latency(..) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault_mark::parse;
    use crate::scenario::Target;
    use crate::types::{BrokerId, PartitionId};

    fn at(at_ms: u64, action: FaultAction) -> TimedFault {
        TimedFault { at_ms, action }
    }

    fn broker(b: u8) -> Target {
        Target::Broker(BrokerId(b))
    }

    /// The faults' atoms as (start, ends) at_ms pairs, and the shared ends' at_ms.
    fn shape(s: &Schedule) -> (Vec<(u64, Vec<u64>)>, Vec<u64>) {
        let t = |i: usize| s.faults[i].at_ms;
        let atoms = s
            .atoms
            .iter()
            .map(|a| (t(a.start), a.ends.iter().map(|&e| t(e)).collect()))
            .collect();
        (atoms, s.shared.iter().map(|e| t(e.fault)).collect())
    }

    #[test]
    fn starts_pair_with_the_ends_of_the_nodes_they_hit() {
        let leader = Target::Leader(PartitionId(0));
        // File order is not firing order: the restart at 5000 is listed first.
        let faults = [
            at(5000, FaultAction::Restart(broker(2))),
            at(1000, FaultAction::Crash(leader.clone())),
            at(2000, FaultAction::Pause(broker(3))),
            at(2500, FaultAction::Isolate(Target::Controller)),
            at(3000, FaultAction::PacketLoss(0.2)),
            at(3500, FaultAction::Resume(broker(3))),
            at(4000, FaultAction::PacketLoss(0.0)),
            at(4500, FaultAction::Heal),
            at(6000, FaultAction::Latency(50, 200)),
            at(7000, FaultAction::Restart(broker(1))),
        ];
        let events = [
            "crash broker-2",
            "pause broker-3",
            "isolate controller",
            "packet_loss 0.2",
            "resume broker-3",
            "packet_loss 0",
            "heal",
            "restart broker-2",
            "latency [50, 200]",
            "restart broker-1",
        ];
        let marks: Vec<_> = events.iter().map(|e| parse(e)).collect();
        let s = Schedule::new(&faults, &marks, &Network::default());
        let (atoms, shared) = shape(&s);
        assert_eq!(
            atoms,
            vec![
                (1000, vec![5000]), // crash leader:events-0 (broker-2) .. restart 2
                (2000, vec![3500]),
                (2500, vec![4500]),
                (3000, vec![4000]),
                (6000, vec![]), // a latency spell the finale ends
                (7000, vec![]), // a restart of a broker that was not down
            ]
        );
        assert!(shared.is_empty());
        assert_eq!(s.fault_count(), 10);
        assert_eq!(s.own_end(0), Some(7)); // index in firing order
    }

    #[test]
    fn an_end_of_several_atoms_is_shared_and_stays_while_any_of_them_does() {
        let faults = [
            at(1000, FaultAction::Crash(broker(1))),
            at(2000, FaultAction::PowerLoss(broker(2))),
            at(
                3000,
                FaultAction::Restart(Target::List(vec![broker(1), broker(2)])),
            ),
            at(4000, FaultAction::Partition(vec![broker(1), broker(2)])),
            at(4100, FaultAction::Isolate(Target::Controller)),
            at(5000, FaultAction::Heal),
        ];
        let events = [
            "crash broker-1",
            "power_loss broker-2",
            "restart [broker-1, broker-2]",
            "partition [broker-1] | [broker-2]",
            "isolate controller",
            "heal",
        ];
        let marks: Vec<_> = events.iter().map(|e| parse(e)).collect();
        let s = Schedule::new(&faults, &marks, &Network::default());
        let (atoms, shared) = shape(&s);
        let alone = |t| (t, vec![]);
        assert_eq!(
            atoms,
            vec![alone(1000), alone(2000), alone(4000), alone(4100)]
        );
        assert_eq!(shared, vec![3000, 5000]);
        assert_eq!(s.own_end(0), None);
        let times = |s: &Schedule| -> Vec<u64> { s.fault_list().iter().map(|f| f.at_ms).collect() };
        assert_eq!(times(&s.keeping(vec![1])), vec![2000, 3000]);
        assert_eq!(times(&s.keeping(vec![3])), vec![4100, 5000]);
        assert_eq!(times(&s.keeping(vec![])), Vec::<u64>::new());
    }

    #[test]
    fn a_crash_of_two_nodes_is_ended_by_both_restarts() {
        let faults = [
            at(1000, FaultAction::Crash(Target::Followers(PartitionId(0)))),
            at(2000, FaultAction::Restart(broker(2))),
            at(3000, FaultAction::Restart(broker(3))),
            at(4000, FaultAction::Restart(broker(3))),
        ];
        let events = [
            "crash [broker-2, broker-3]",
            "restart broker-2",
            "restart broker-3",
            "restart broker-3",
        ];
        let marks: Vec<_> = events.iter().map(|e| parse(e)).collect();
        let s = Schedule::new(&faults, &marks, &Network::default());
        let (atoms, _) = shape(&s);
        assert_eq!(atoms, vec![(1000, vec![2000, 3000]), (4000, vec![])]);
        assert_eq!(s.own_end(0), None, "two ends: no single end to move");
    }

    #[test]
    fn faults_without_a_parsed_event_are_atoms_alone() {
        let faults = [
            at(1000, FaultAction::Crash(broker(1))),
            at(2000, FaultAction::Restart(broker(1))),
        ];
        let s = Schedule::new(&faults, &[], &Network::default());
        let (atoms, _) = shape(&s);
        assert_eq!(atoms, vec![(1000, vec![]), (2000, vec![])]);
    }
}
