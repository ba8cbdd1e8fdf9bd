//! Which marks a scenario can reach at all, judged from its configuration, layout and
//! fault kinds alone. Conservative: a mark is possible only when the faults the scenario
//! can inject are enough to reach it in principle, so that `explore` warns about a mark
//! never reached only when reaching it was possible.

use std::collections::BTreeSet;

use super::Mark;
use crate::config::{Acks, FlushPolicy, Truncation};
use crate::scenario::{FaultAction, NemesisKind, Scenario, Target};

/// What a scenario's faults can do, condensed.
struct Reach {
    /// An upper bound on the brokers the run's faults can take out, one fault at a time:
    /// each timed crash, power loss or pause counts the brokers it names; an isolation
    /// the brokers it names, or every broker if it names the controller (cut off, the
    /// controller fences them all); a partition every broker its groups name. A nemesis
    /// with a kind that stops or cuts brokers adds every broker per action it can take
    /// (one per `interval_ms / 2` of the run).
    stops: u64,
    /// The same bound for crashes and power losses only (unclean shutdowns, after which
    /// a broker leaves the ELR).
    crashes: u64,
    /// The names of those faults' kinds, for messages.
    kinds: BTreeSet<&'static str>,
    /// Whether a broker can lose power.
    power_loss: bool,
    /// Whether messages can be dropped (the network's own loss or a loss fault).
    packet_loss: bool,
    /// The smallest replication factor of any topic.
    min_rf: usize,
    /// The smallest replication factor of 2 or more, if any topic has one.
    min_replicated_rf: Option<usize>,
}

impl Reach {
    fn of(scenario: &Scenario) -> Reach {
        let mut reach = Reach {
            stops: 0,
            crashes: 0,
            kinds: BTreeSet::new(),
            power_loss: false,
            packet_loss: scenario.network.packet_loss > 0.0,
            min_rf: usize::MAX,
            min_replicated_rf: None,
        };
        for partition in &scenario.layout.partitions {
            let rf = partition.replicas.len();
            reach.min_rf = reach.min_rf.min(rf);
            if rf >= 2 {
                reach.min_replicated_rf = Some(reach.min_replicated_rf.map_or(rf, |r| r.min(rf)));
            }
        }
        let brokers = scenario.layout.brokers.len() as u64;
        let named = |t: &Target| brokers_named(scenario, t).min(brokers);
        for fault in &scenario.faults {
            let (kind, stops) = match &fault.action {
                FaultAction::Crash(t) => ("crash", named(t)),
                FaultAction::DiskWipe(t) => ("disk_wipe", named(t)),
                FaultAction::PowerLoss(t) => {
                    reach.power_loss |= named(t) > 0;
                    ("power_loss", named(t))
                }
                FaultAction::Pause(t) => ("pause", named(t)),
                FaultAction::Isolate(t) if names_controller(t) => ("isolate", brokers),
                FaultAction::Isolate(t) => ("isolate", named(t)),
                FaultAction::Partition(groups) => {
                    let sum: u64 = groups.iter().map(named).sum();
                    ("partition", sum.min(brokers))
                }
                FaultAction::PacketLoss(rate) => {
                    reach.packet_loss |= *rate > 0.0;
                    continue;
                }
                FaultAction::Restart(_)
                | FaultAction::Resume(_)
                | FaultAction::Heal
                | FaultAction::Latency(..) => continue,
            };
            if matches!(kind, "crash" | "power_loss") {
                reach.crashes += stops;
            }
            if stops > 0 {
                reach.stops += stops;
                reach.kinds.insert(kind);
            }
        }
        if let Some(nemesis) = &scenario.nemesis {
            let actions = scenario.workload.duration_ms / (nemesis.interval_ms / 2).max(1);
            let mut stopping = false;
            for kind in &nemesis.kinds {
                let name = match kind {
                    NemesisKind::PacketLoss => {
                        reach.packet_loss |= actions > 0;
                        continue;
                    }
                    NemesisKind::Latency => continue,
                    other => other.as_str(),
                };
                if actions > 0 {
                    stopping = true;
                    if matches!(
                        kind,
                        NemesisKind::Crash
                            | NemesisKind::PowerLoss
                            | NemesisKind::Restart
                            | NemesisKind::BounceLeader
                            | NemesisKind::PowerLossAll
                            | NemesisKind::CrashDuringIsrChange
                    ) {
                        reach.crashes = reach
                            .crashes
                            .saturating_add(actions.saturating_mul(brokers));
                    }
                    reach.kinds.insert(name);
                    reach.power_loss |=
                        matches!(kind, NemesisKind::PowerLoss | NemesisKind::PowerLossAll);
                }
            }
            if stopping {
                reach.stops = reach.stops.saturating_add(actions.saturating_mul(brokers));
            }
        }
        reach
    }

    /// `crash/isolate faults`, naming the kinds that stop or cut off brokers.
    fn faults(&self) -> String {
        let kinds: Vec<&str> = self.kinds.iter().copied().collect();
        format!("{} faults", kinds.join("/"))
    }
}

/// The faults that can stop or cut off a quorum's active controller: timed ones naming a
/// controller, or a nemesis that stops or cuts nodes (with a quorum it hits controllers).
fn controller_faults(scenario: &Scenario) -> Option<String> {
    let mut kinds: BTreeSet<&'static str> = BTreeSet::new();
    for fault in &scenario.faults {
        let kind = match &fault.action {
            FaultAction::Crash(t) if names_controller(t) => "crash",
            FaultAction::PowerLoss(t) if names_controller(t) => "power_loss",
            FaultAction::Pause(t) if names_controller(t) => "pause",
            FaultAction::Isolate(t) if names_controller(t) => "isolate",
            FaultAction::Partition(groups) if groups.iter().any(names_controller) => "partition",
            _ => continue,
        };
        kinds.insert(kind);
    }
    let hits_controllers = |k: &&NemesisKind| {
        matches!(
            k,
            NemesisKind::Crash
                | NemesisKind::PowerLoss
                | NemesisKind::Restart
                | NemesisKind::Pause
                | NemesisKind::Partition
                | NemesisKind::Isolate
        )
    };
    for kind in scenario
        .nemesis
        .iter()
        .flat_map(|n| &n.kinds)
        .filter(hits_controllers)
    {
        kinds.insert(kind.as_str());
    }
    if kinds.is_empty() {
        return None;
    }
    let kinds: Vec<&str> = kinds.into_iter().collect();
    Some(format!("{} faults on controllers", kinds.join("/")))
}

/// How many brokers `target` names (a partition's followers: its replication factor
/// less one), counting repeats.
fn brokers_named(scenario: &Scenario, target: &Target) -> u64 {
    match target {
        Target::Controller | Target::ControllerN(_) | Target::Controllers => 0,
        Target::Broker(_) | Target::Replica { .. } | Target::Leader(_) => 1,
        Target::Followers(p) => scenario.layout.partition(*p).replicas.len() as u64 - 1,
        Target::List(targets) => targets.iter().map(|t| brokers_named(scenario, t)).sum(),
    }
}

/// Whether `target` names the controller.
fn names_controller(target: &Target) -> bool {
    match target {
        Target::Controller | Target::ControllerN(_) | Target::Controllers => true,
        Target::List(targets) => targets.iter().any(names_controller),
        _ => false,
    }
}

impl Mark {
    /// Whether `scenario` can reach this mark at all, and if so why (the text `explore`'s
    /// warning gives, e.g. `unclean_leader_election=true, crash faults`).
    ///
    /// "Brokers out" below is the bound `Reach::stops` computes from the faults.
    ///
    /// - `leader-change`: at least one broker out.
    /// - `isr-shrank-to-one`: a topic with replication factor r >= 2 and r - 1 brokers
    ///   out (every other member out of the ISR).
    /// - `unclean-election`: `unclean_leader_election` and as many brokers out as the
    ///   smallest replication factor r (every ISR member out); or `eligible_leader_replicas`
    ///   (the last-known-leader fallback), r brokers out of which r - 1 crashed or lost
    ///   power (an unclean shutdown takes a broker out of the ELR).
    /// - `follower-truncated`: a topic with replication factor >= 2 and a broker out.
    /// - `truncation-below-hw`: an unclean election, `truncation: high-watermark` with a
    ///   follower truncation, or a power loss with unflushed data is possible.
    /// - `empty-leader-epoch`: two brokers out (an elected epoch ends only with the next
    ///   election).
    /// - `power-loss-unflushed`: a power-loss fault on a broker, `flush` other than
    ///   `every-message`, and producers.
    /// - `producer-retry`: producers with `acks` other than `0`, `producer_retries` > 0,
    ///   and a broker out or packet loss.
    pub fn possible(self, scenario: &Scenario) -> Option<String> {
        let reach = Reach::of(scenario);
        let config = &scenario.config;
        let faults = reach.faults();
        let some = |condition: bool, why: String| condition.then_some(why);
        match self {
            Mark::LeaderChange => some(reach.stops >= 1, faults),
            Mark::IsrShrankToOne => {
                let rf = reach.min_replicated_rf?;
                some(
                    reach.stops >= rf as u64 - 1,
                    format!("replication_factor {rf}, {faults}"),
                )
            }
            Mark::UncleanElection => {
                let rf = reach.min_rf as u64;
                let (setting, enough) = if config.unclean_leader_election {
                    ("unclean_leader_election=true", reach.stops >= rf)
                } else if config.eligible_leader_replicas {
                    let fallback = "eligible_leader_replicas' last-known-leader fallback";
                    (fallback, reach.stops >= rf && reach.crashes + 1 >= rf)
                } else {
                    return None;
                };
                some(enough, format!("{setting}, {faults}"))
            }
            Mark::FollowerTruncated => some(
                reach.min_replicated_rf.is_some() && reach.stops >= 1,
                format!("replication factor >= 2, {faults}"),
            ),
            Mark::TruncationBelowHw => {
                if let Some(why) = Mark::UncleanElection.possible(scenario) {
                    Some(format!("unclean elections ({why})"))
                } else if config.truncation == Truncation::HighWatermark
                    && let Some(why) = Mark::FollowerTruncated.possible(scenario)
                {
                    Some(format!("truncation=high-watermark, {why}"))
                } else {
                    Mark::PowerLossUnflushed.possible(scenario)
                }
            }
            Mark::EmptyLeaderEpoch => some(reach.stops >= 2, faults),
            Mark::PowerLossUnflushed => {
                let flush = match config.flush {
                    FlushPolicy::EveryMessage => return None,
                    FlushPolicy::Never => "flush=never",
                    FlushPolicy::IntervalMs(_) => "flush=interval",
                };
                some(
                    reach.power_loss && scenario.workload.producers > 0,
                    format!("power_loss faults with {flush}"),
                )
            }
            Mark::ControllerFailover
            | Mark::MetadataLogTruncated
            | Mark::BrokerFencedByNewController
                if !scenario.layout.has_quorum() =>
            {
                None
            }
            Mark::ControllerFailover | Mark::BrokerFencedByNewController => {
                let why = controller_faults(scenario)?;
                Some(format!("a controller quorum, {why}"))
            }
            Mark::MetadataLogTruncated => {
                let why = controller_faults(scenario)?;
                Some(format!(
                    "a controller quorum, {why} (an uncommitted tail left behind)"
                ))
            }
            Mark::ProducerRetry => {
                // Several batches in flight over links that reorder datagrams: a later
                // batch can reach the leader first and be refused (sequence gap), then
                // retried, without any fault.
                let pipelined = config.idempotent_producer && config.max_in_flight > 1;
                let cause = match (reach.stops >= 1, reach.packet_loss, pipelined) {
                    (true, _, _) => faults,
                    (false, true, _) => "packet loss".to_string(),
                    (false, false, true) => format!(
                        "max_in_flight={} over reordering links",
                        config.max_in_flight
                    ),
                    (false, false, false) => return None,
                };
                some(
                    config.acks != Acks::Zero
                        && config.producer_retries > 0
                        && scenario.workload.producers > 0,
                    format!(
                        "acks={}, producer_retries={}, {cause}",
                        config.acks.as_str(),
                        config.producer_retries
                    ),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scenario over `cluster`, with `config`, `faults` and `nemesis` (JSON fragments).
    fn scenario(rf: u8, config: &str, faults: &str, nemesis: &str) -> Scenario {
        let nemesis = if nemesis.is_empty() {
            String::new()
        } else {
            format!(r#", "nemesis": {nemesis}"#)
        };
        let text = format!(
            r#"{{ "name": "t",
                 "cluster": {{ "brokers": 3, "topics": [ {{ "name": "e", "partitions": 1, "replication_factor": {rf} }} ] }},
                 "config": {config},
                 "workload": {{ "duration_ms": 8000, "producers": 1, "produce_interval_ms": 5, "consumers": 1 }},
                 "faults": {faults}{nemesis} }}"#
        );
        Scenario::from_json(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn possible(s: &Scenario) -> Vec<&'static str> {
        Mark::ALL
            .into_iter()
            .filter(|m| m.possible(s).is_some())
            .map(Mark::as_str)
            .collect()
    }

    #[test]
    fn without_faults_nothing_is_possible() {
        let one_in_flight = r#"{ "max_in_flight": 1 }"#;
        assert!(possible(&scenario(3, one_in_flight, "[]", "")).is_empty());
        let controller_only = r#"[ { "at_ms": 1000, "crash": "controller" } ]"#;
        assert!(possible(&scenario(3, one_in_flight, controller_only, "")).is_empty());
        // Pipelined idempotent batches may overtake each other and be retried.
        assert_eq!(
            possible(&scenario(3, "{}", "[]", "")),
            vec!["producer-retry"]
        );
    }

    #[test]
    fn one_leader_crash_makes_a_leader_change_and_truncation_possible() {
        let crash = r#"[ { "at_ms": 1000, "crash": "leader:e-0" }, { "at_ms": 2000, "restart": [1, 2, 3] } ]"#;
        let s = scenario(
            3,
            r#"{ "acks": "all", "min_insync_replicas": 2 }"#,
            crash,
            "",
        );
        assert_eq!(
            possible(&s),
            vec!["leader-change", "follower-truncated", "producer-retry"]
        );
        // With replication factor 2, the one crash can leave an ISR of one.
        let s2 = scenario(2, "{}", crash, "");
        assert!(possible(&s2).contains(&"isr-shrank-to-one"));
        assert!(!possible(&s2).contains(&"unclean-election"));
        // Crashing both followers at once takes two brokers out.
        let followers = r#"[ { "at_ms": 1000, "crash": "followers:e-0" } ]"#;
        let both = scenario(3, "{}", followers, "");
        assert!(possible(&both).contains(&"isr-shrank-to-one"));
        assert!(!possible(&both).contains(&"unclean-election"));
        // Cutting off the controller fences every broker: enough for an election outside
        // the ISR, but not to empty the ELR, which takes unclean shutdowns.
        let isolate = r#"[ { "at_ms": 1000, "isolate": "controller" } ]"#;
        let elr_only = scenario(3, r#"{ "unclean_leader_election": false }"#, isolate, "");
        assert!(!possible(&elr_only).contains(&"unclean-election"));
        let unclean = scenario(3, r#"{ "unclean_leader_election": true }"#, isolate, "");
        assert!(possible(&unclean).contains(&"unclean-election"));
        let acks0 = scenario(3, r#"{ "acks": "0" }"#, crash, "");
        assert!(!possible(&acks0).contains(&"producer-retry"));
    }

    #[test]
    fn power_loss_needs_a_flush_that_leaves_data_unflushed() {
        let faults = r#"[ { "at_ms": 1000, "power_loss": 2 } ]"#;
        let never = scenario(3, r#"{ "flush": "never" }"#, faults, "");
        assert_eq!(
            Mark::PowerLossUnflushed.possible(&never).as_deref(),
            Some("power_loss faults with flush=never")
        );
        assert!(Mark::TruncationBelowHw.possible(&never).is_some());
        let every = scenario(3, r#"{ "flush": "every-message" }"#, faults, "");
        assert_eq!(Mark::PowerLossUnflushed.possible(&every), None);
        assert_eq!(Mark::TruncationBelowHw.possible(&every), None);
        let controller = r#"[ { "at_ms": 1000, "power_loss": "controller" } ]"#;
        let s = scenario(3, "{}", controller, "");
        assert_eq!(Mark::PowerLossUnflushed.possible(&s), None);
    }

    #[test]
    fn a_nemesis_makes_repeated_faults_possible() {
        let nemesis = r#"{ "kinds": ["crash", "latency"], "interval_ms": 1000 }"#;
        let s = scenario(3, r#"{ "eligible_leader_replicas": false }"#, "[]", nemesis);
        assert_eq!(
            possible(&s),
            vec![
                "leader-change",
                "isr-shrank-to-one",
                "follower-truncated",
                "empty-leader-epoch",
                "producer-retry"
            ]
        );
        let elr = scenario(3, r#"{ "eligible_leader_replicas": true }"#, "[]", nemesis);
        assert_eq!(
            Mark::UncleanElection.possible(&elr).as_deref(),
            Some("eligible_leader_replicas' last-known-leader fallback, crash faults")
        );
        let unclean = scenario(
            3,
            r#"{ "unclean_leader_election": true, "eligible_leader_replicas": false }"#,
            "[]",
            nemesis,
        );
        assert!(
            Mark::TruncationBelowHw
                .possible(&unclean)
                .is_some_and(|why| why.contains("unclean_leader_election=true"))
        );
        // Latency and packet loss alone stop no broker, but loss makes retries possible.
        let loss = r#"{ "kinds": ["latency", "packet_loss"], "interval_ms": 1000 }"#;
        assert_eq!(
            possible(&scenario(3, "{}", "[]", loss)),
            vec!["producer-retry"]
        );
        // A nemesis whose first action comes after the run ends does nothing.
        let late = r#"{ "kinds": ["crash"], "interval_ms": 20000 }"#;
        let one_in_flight = r#"{ "max_in_flight": 1 }"#;
        assert!(possible(&scenario(3, one_in_flight, "[]", late)).is_empty());
    }

    #[test]
    fn high_watermark_truncation_makes_truncation_below_hw_possible() {
        let crash = r#"[ { "at_ms": 1000, "crash": 1 } ]"#;
        let leo = scenario(3, r#"{ "truncation": "leader-epoch" }"#, crash, "");
        assert_eq!(Mark::TruncationBelowHw.possible(&leo), None);
        let hw = scenario(3, r#"{ "truncation": "high-watermark" }"#, crash, "");
        assert!(Mark::TruncationBelowHw.possible(&hw).is_some());
    }
}
