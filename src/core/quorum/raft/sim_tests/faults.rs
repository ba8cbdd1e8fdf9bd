//! The fault mix of the chaos phase: crashes (page cache kept), power losses (only flushed
//! entries kept), a power loss in the middle of a step (only a prefix of its effects
//! performed), isolation, random splits, one-way partitions, and healing. The current
//! leader is the favourite target, because the bugs the knobs bring back need a leader
//! to fail at the wrong moment. One fault is KAFKA-15489's own scenario: the leader and
//! the observers (brokers) cut off from the other voters for longer than two
//! check-quorum windows, which random heals do not end early.

use super::world::World;

/// One fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Fault {
    Crash(u8),
    PowerLoss(u8),
    /// Power fails during this replica's next step.
    PowerLossMidStep(u8),
    /// Power fails as this leader first exposes an HW in its epoch, before the fetch
    /// answers of that step go out (the Raft paper's Figure 8 needs a leader to fail
    /// right after it commits entries of earlier epochs).
    PowerLossAtFirstCommit(u8),
    /// Cut every link to and from it.
    Isolate(u8),
    /// Cut the leader and the observers off from the other voters, for `long_partition_ms`;
    /// a `Heal` fault does not end it.
    StrandLeader(u8),
    /// Cut every link between the two sides.
    Split(Vec<u8>),
    /// It can receive but nothing it sends arrives.
    MuteOutbound(u8),
    /// What it sends arrives but it receives nothing.
    MuteInbound(u8),
    Heal,
    /// Nothing to do (no live replica to hit).
    None,
}

impl Fault {
    /// Picks a fault with the world's PRNG.
    pub(super) fn pick(world: &mut World) -> Fault {
        let live: Vec<u8> = world
            .replicas
            .iter()
            .filter(|(_, r)| r.node.is_some())
            .map(|(&id, _)| id)
            .collect();
        if live.is_empty() {
            return Fault::None;
        }
        let random = live[world.prng.below(live.len() as u64) as usize];
        let leader = world.leaders().first().copied();
        let favourite = match leader {
            Some(leader) if world.prng.below(100) < 60 => leader,
            _ => random,
        };
        match world.prng.below(100) {
            0..15 => Fault::Crash(random),
            15..30 => Fault::PowerLoss(random),
            30..38 => Fault::Crash(favourite),
            38..46 => Fault::PowerLoss(favourite),
            46..56 => Fault::PowerLossMidStep(favourite),
            56..62 => Fault::Isolate(favourite),
            62..70 => match leader {
                Some(leader) => Fault::StrandLeader(leader),
                None => Fault::Isolate(random),
            },
            70..80 => {
                let ids: Vec<u8> = world.replicas.keys().copied().collect();
                let side = ids
                    .into_iter()
                    .filter(|_| world.prng.below(2) == 0)
                    .collect();
                Fault::Split(side)
            }
            80..85 => Fault::MuteOutbound(favourite),
            85..90 => Fault::MuteInbound(favourite),
            _ => Fault::Heal,
        }
    }
}

impl World {
    /// Applies a fault. A partition lasts its random time: while one is in force, a new
    /// partition fault is dropped (so long isolations of a leader do happen), except a
    /// `StrandLeader`, which replaces it unless it is a `StrandLeader` itself.
    pub(super) fn apply_fault(&mut self, fault: Fault) {
        let partitioning = matches!(
            fault,
            Fault::Isolate(_) | Fault::Split(_) | Fault::MuteOutbound(_) | Fault::MuteInbound(_)
        );
        if partitioning && self.partition_until.is_some() {
            return;
        }
        let ids: Vec<u8> = self.replicas.keys().copied().collect();
        match fault {
            Fault::Crash(id) => self.crash(id),
            Fault::PowerLoss(id) => self.power_loss(id),
            Fault::PowerLossMidStep(id) => {
                self.replicas.get_mut(&id).expect("replica").cut_next_step = true
            }
            Fault::PowerLossAtFirstCommit(id) => {
                self.replicas
                    .get_mut(&id)
                    .expect("replica")
                    .cut_at_first_commit = true
            }
            Fault::Isolate(id) => self.partition(|net| {
                for &other in &ids {
                    net.cut(id, other);
                    net.cut(other, id);
                }
            }),
            Fault::StrandLeader(_) if self.partition_sticky => {}
            Fault::StrandLeader(id) => {
                self.net.heal();
                let side: Vec<u8> = self
                    .replicas
                    .iter()
                    .filter(|&(&other, r)| other == id || !r.voter)
                    .map(|(&other, _)| other)
                    .collect();
                self.split(&ids, &side);
                let (low, high) = self.scenario.long_partition_ms;
                self.partition_until = Some(self.now.plus_ms(self.prng.between(low, high)));
                self.partition_sticky = true;
            }
            Fault::Split(side) => {
                self.split(&ids, &side);
                self.partition(|_| {});
            }
            Fault::MuteOutbound(id) => {
                self.partition(|net| ids.iter().for_each(|&other| net.cut(id, other)))
            }
            Fault::MuteInbound(id) => {
                self.partition(|net| ids.iter().for_each(|&other| net.cut(other, id)))
            }
            Fault::Heal if self.partition_sticky => {}
            Fault::Heal => {
                self.net.heal();
                self.partition_until = None;
            }
            Fault::None => {}
        }
    }

    /// Cuts every link between `side` and the rest of `ids`.
    fn split(&mut self, ids: &[u8], side: &[u8]) {
        for &a in ids {
            for &b in ids {
                if side.contains(&a) != side.contains(&b) {
                    self.net.cut(a, b);
                }
            }
        }
    }

    fn partition(&mut self, cut: impl FnOnce(&mut super::net::Net)) {
        cut(&mut self.net);
        let (low, high) = self.scenario.partition_ms;
        self.partition_until = Some(self.now.plus_ms(self.prng.between(low, high)));
    }
}
