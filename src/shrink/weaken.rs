//! Weaker faults: `power_loss` → `crash` → `pause`, one step at a time.
//!
//! A power loss may cut the unflushed tail of a disk; a crash keeps the page cache; a
//! pause keeps the process itself, which only falls silent. Each step keeps the atom's
//! targets and times. Going from a crash to a pause turns the atom's `restart` ends into
//! `resume`s, so it is only taken when every end of the atom is its own `restart` (a
//! shared `restart [1, 2, 3]` would not resume the paused node).

use super::atoms::Schedule;
use crate::scenario::FaultAction;

/// `schedule` with atom `atom`'s start one step weaker, or `None` when it is as weak as
/// this ladder goes (or its ends do not allow the step).
pub fn weaken(schedule: &Schedule, atom: usize) -> Option<Schedule> {
    let a = &schedule.atoms[atom];
    let mut next = schedule.clone();
    let start = &mut next.faults[a.start].action;
    match start {
        FaultAction::PowerLoss(target) => *start = FaultAction::Crash(target.clone()),
        FaultAction::Crash(target) => {
            let restarts_only = a
                .ends
                .iter()
                .all(|&e| matches!(schedule.faults[e].action, FaultAction::Restart(_)));
            if !restarts_only || schedule.has_shared_end(atom) {
                return None;
            }
            *start = FaultAction::Pause(target.clone());
            for &e in &a.ends {
                if let FaultAction::Restart(target) = &schedule.faults[e].action {
                    next.faults[e].action = FaultAction::Resume(target.clone());
                }
            }
        }
        _ => return None,
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault_mark::parse;
    use crate::scenario::{Network, Target, TimedFault};
    use crate::types::{BrokerId, PartitionId};

    fn schedule(faults: &[(u64, FaultAction, &str)]) -> Schedule {
        let list: Vec<TimedFault> = faults
            .iter()
            .map(|(at_ms, action, _)| TimedFault {
                at_ms: *at_ms,
                action: action.clone(),
            })
            .collect();
        let marks: Vec<_> = faults.iter().map(|(_, _, event)| parse(event)).collect();
        Schedule::new(&list, &marks, &Network::default())
    }

    #[test]
    fn power_loss_weakens_to_crash_then_to_pause_with_its_restart_a_resume() {
        let leader = Target::Leader(PartitionId(0));
        let two = Target::Broker(BrokerId(2));
        let s = schedule(&[
            (
                1000,
                FaultAction::PowerLoss(leader.clone()),
                "power_loss broker-2",
            ),
            (3000, FaultAction::Restart(two.clone()), "restart broker-2"),
        ]);
        let crash = weaken(&s, 0).expect("power loss weakens");
        assert_eq!(
            crash
                .fault_list()
                .iter()
                .map(|f| &f.action)
                .collect::<Vec<_>>(),
            [
                &FaultAction::Crash(leader.clone()),
                &FaultAction::Restart(two.clone())
            ]
        );
        let pause = weaken(&crash, 0).expect("crash weakens");
        assert_eq!(
            pause
                .fault_list()
                .iter()
                .map(|f| &f.action)
                .collect::<Vec<_>>(),
            [&FaultAction::Pause(leader), &FaultAction::Resume(two)]
        );
        assert_eq!(weaken(&pause, 0), None, "a pause is the weakest");
    }

    #[test]
    fn a_crash_whose_restart_is_shared_stays_a_crash() {
        let s = schedule(&[
            (
                1000,
                FaultAction::Crash(Target::Broker(BrokerId(1))),
                "crash broker-1",
            ),
            (
                1500,
                FaultAction::Crash(Target::Broker(BrokerId(2))),
                "crash broker-2",
            ),
            (
                3000,
                FaultAction::Restart(Target::List(vec![
                    Target::Broker(BrokerId(1)),
                    Target::Broker(BrokerId(2)),
                ])),
                "restart [broker-1, broker-2]",
            ),
        ]);
        assert_eq!(weaken(&s, 0), None);
        let alone = schedule(&[(
            1000,
            FaultAction::Crash(Target::Controller),
            "crash controller",
        )]);
        let paused = weaken(&alone, 0).expect("a crash without an end may become a pause");
        assert_eq!(
            paused.faults[0].action,
            FaultAction::Pause(Target::Controller)
        );
        let heal = schedule(&[(1000, FaultAction::Heal, "heal")]);
        assert_eq!(
            weaken(&heal, 0),
            None,
            "only crashes and power losses weaken"
        );
    }
}
