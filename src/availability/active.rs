//! Which faults are in effect, replaying the history's `Fault` events in order: a
//! crash or power loss until its node restarts, a pause until it resumes, an isolation
//! or partition until a `heal`, a packet loss until a rate of 0 replaces it, a latency
//! spell until the next `latency` event (the nemesis alternates them; the fault list has
//! no latency action).

use crate::fault_mark::FaultMark;
use crate::types::NodeId;

/// The faults in effect while replaying the fault events in order.
#[derive(Default)]
pub struct Active {
    /// Indices (into the fault records) of the starts still in effect, oldest first.
    pub starts: Vec<usize>,
    /// The nodes each start in `starts` still holds down, frozen or cut (same order).
    nodes: Vec<Vec<NodeId>>,
    /// The marks of `starts` (same order).
    marks: Vec<FaultMark>,
}

impl Active {
    /// Applies record `i`; whether it started a fault.
    pub fn apply(&mut self, i: usize, mark: Option<&FaultMark>) -> bool {
        let Some(mark) = mark else { return false };
        match mark {
            FaultMark::Crash(n) | FaultMark::PowerLoss(n) | FaultMark::Pause(n) => {
                self.push(i, mark, n.clone())
            }
            FaultMark::Isolate(_) | FaultMark::Partition(_) => self.push(i, mark, Vec::new()),
            // Instant: it starts an outage but holds nothing afterwards.
            FaultMark::DiskWipe(_) => true,
            FaultMark::Restart(n) => self.release(n, |m| {
                matches!(m, FaultMark::Crash(_) | FaultMark::PowerLoss(_))
            }),
            FaultMark::Resume(n) => self.release(n, |m| matches!(m, FaultMark::Pause(_))),
            FaultMark::Heal => {
                self.retain(|m| !matches!(m, FaultMark::Isolate(_) | FaultMark::Partition(_)))
            }
            FaultMark::PacketLoss(_) | FaultMark::Latency(..) => self.network(i, mark),
        }
    }

    fn push(&mut self, i: usize, mark: &FaultMark, nodes: Vec<NodeId>) -> bool {
        self.starts.push(i);
        self.nodes.push(nodes);
        self.marks.push(mark.clone());
        true
    }

    /// `nodes` are no longer held by the starts `kind` selects; starts left holding none
    /// end.
    fn release(&mut self, nodes: &[NodeId], kind: impl Fn(&FaultMark) -> bool) -> bool {
        for (held, mark) in self.nodes.iter_mut().zip(&self.marks) {
            if kind(mark) {
                held.retain(|n| !nodes.contains(n));
            }
        }
        let keep: Vec<bool> = self
            .nodes
            .iter()
            .zip(&self.marks)
            .map(|(held, mark)| !kind(mark) || !held.is_empty())
            .collect();
        self.keep(&keep);
        false
    }

    /// Ends every start whose mark fails `keep`.
    fn retain(&mut self, keep: impl Fn(&FaultMark) -> bool) -> bool {
        let keep: Vec<bool> = self.marks.iter().map(keep).collect();
        self.keep(&keep);
        false
    }

    fn keep(&mut self, keep: &[bool]) {
        let mut it = keep.iter();
        self.starts.retain(|_| *it.next().expect("same length"));
        let mut it = keep.iter();
        self.nodes.retain(|_| *it.next().expect("same length"));
        let mut it = keep.iter();
        self.marks.retain(|_| *it.next().expect("same length"));
    }

    /// `packet_loss R` replaces the loss in effect (0 ends it); `latency [a, b]` starts a
    /// spell, or ends the one in effect (the nemesis alternates them; the fault list has
    /// no latency action).
    fn network(&mut self, i: usize, mark: &FaultMark) -> bool {
        let loss = matches!(mark, FaultMark::PacketLoss(_));
        let same = |m: &FaultMark| match m {
            FaultMark::PacketLoss(_) => loss,
            FaultMark::Latency(..) => !loss,
            _ => false,
        };
        let had = self.marks.iter().any(same);
        self.retain(|m| !same(m));
        let starts = match mark {
            FaultMark::PacketLoss(rate) => *rate > 0.0,
            _ => !had,
        };
        starts && self.push(i, mark, Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault_mark::parse;

    /// Replays the descriptions; the indices of the starts still in effect.
    fn replay(descriptions: &[&str]) -> Vec<usize> {
        let mut active = Active::default();
        for (i, d) in descriptions.iter().enumerate() {
            active.apply(i, parse(d).as_ref());
        }
        active.starts
    }

    #[test]
    fn faults_end_with_their_counterpart() {
        assert_eq!(
            replay(&["crash [broker-1, broker-2]", "restart broker-1"]),
            vec![0]
        );
        assert_eq!(
            replay(&["crash [broker-1, broker-2]", "restart [broker-1, broker-2]"]),
            Vec::<usize>::new()
        );
        assert_eq!(
            replay(&["power_loss broker-1", "resume broker-1"]),
            vec![0],
            "not a restart"
        );
        assert_eq!(
            replay(&["pause broker-3", "isolate controller", "heal"]),
            vec![0]
        );
        assert_eq!(replay(&["packet_loss 0.1", "packet_loss 0.3"]), vec![1]);
        assert_eq!(
            replay(&["packet_loss 0.1", "packet_loss 0"]),
            Vec::<usize>::new()
        );
        assert_eq!(
            replay(&["latency [5, 90]", "latency [1, 10]", "latency [9, 60]"]),
            vec![2]
        );
        assert_eq!(
            replay(&["explode broker-1"]),
            Vec::<usize>::new(),
            "unknown: starts nothing"
        );
    }
}
