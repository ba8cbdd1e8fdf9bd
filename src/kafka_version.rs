//! Version presets: `config.kafka_version` sets every protocol knob as that Kafka release
//! had it, so a scenario can say "0.10" instead of listing which fixes are missing.
//! Explicit knobs in the same `config` override the preset.
//!
//! What changed when (known-failures.md cites each):
//! - 0.11: KIP-101 leader-epoch truncation (first version: one round, no iteration),
//!   KIP-106 unclean election off by default, KIP-98 idempotent producer available.
//! - 2.0: KIP-279 (iterate to a common epoch).
//! - 2.1: KAFKA-7128 (ISR join needs the leader epoch start offset), KIP-91
//!   (`retries` effectively unbounded, bounded by `delivery.timeout.ms`).
//! - 2.7: KIP-497 (the leader asks the controller to change the ISR instead of writing
//!   it to ZooKeeper while it handles the fetch). No preset sits between 2.1 and 3.5.
//! - 3.0: KIP-679 (`acks=all` and `enable.idempotence=true` by default).
//! - 3.7: KAFKA-15583 (HW frozen while the ISR is below min.insync).
//! - 4.1: KIP-966 eligible leader replicas on by default for new clusters.
//! - The controller quorum (KRaft, 2.8+): 3.5 has the fixes of KAFKA-10527 (2.7),
//!   KAFKA-12619 (3.0) and KAFKA-13884 (3.5); 3.6 adds KAFKA-15345's (the active
//!   controller acts only once it has replayed the log), 3.7 check-quorum (KAFKA-15489),
//!   4.1 pre-votes (KIP-996, 4.0). 3.5 is 3.6 for replication.
//!
//! `max.in.flight.requests.per.connection` has been 5 throughout, and
//! `min.insync.replicas` 1. The 0.8 preset means 0.8.2 with the Java producer (acks=1);
//! the older Scala producer defaulted to acks=0.

use crate::config::{Acks, Config, IsrUpdate, Truncation};

/// A Kafka release whose replication behaviour a preset reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KafkaVersion {
    /// 0.8.2: HW truncation, unclean election on, acks=1, no idempotence, no retries.
    V0_8,
    /// 0.10: as 0.8 for replication.
    V0_10,
    /// 0.11: KIP-101 as first shipped, unclean election off.
    V0_11,
    /// 2.0: KIP-279.
    V2_0,
    /// 2.1: KAFKA-7128, unbounded retries.
    V2_1,
    /// 3.5: as 3.6 for replication; its active controller may act before it has
    /// replayed the metadata log (KAFKA-15345).
    V3_5,
    /// 3.6: acks=all and idempotence by default (since 3.0); HW moves below min.insync.
    V3_6,
    /// 3.7: KAFKA-15583.
    V3_7,
    /// 4.1: eligible leader replicas (KIP-966). The default.
    V4_1,
}

impl KafkaVersion {
    /// Every preset, oldest first.
    pub const ALL: [KafkaVersion; 9] = [
        KafkaVersion::V0_8,
        KafkaVersion::V0_10,
        KafkaVersion::V0_11,
        KafkaVersion::V2_0,
        KafkaVersion::V2_1,
        KafkaVersion::V3_5,
        KafkaVersion::V3_6,
        KafkaVersion::V3_7,
        KafkaVersion::V4_1,
    ];

    /// The name a scenario writes, e.g. `"0.11"`.
    pub fn as_str(self) -> &'static str {
        match self {
            KafkaVersion::V0_8 => "0.8",
            KafkaVersion::V0_10 => "0.10",
            KafkaVersion::V0_11 => "0.11",
            KafkaVersion::V2_0 => "2.0",
            KafkaVersion::V2_1 => "2.1",
            KafkaVersion::V3_5 => "3.5",
            KafkaVersion::V3_6 => "3.6",
            KafkaVersion::V3_7 => "3.7",
            KafkaVersion::V4_1 => "4.1",
        }
    }

    /// Parses a preset name.
    pub fn parse(name: &str) -> Option<KafkaVersion> {
        KafkaVersion::ALL.into_iter().find(|v| v.as_str() == name)
    }

    /// The default configuration of this release: [`Config::default`] (4.1) with every
    /// replication knob set as the release had it.
    pub fn config(self) -> Config {
        let mut c = Config::default();
        let at_least = |v: KafkaVersion| self >= v;
        c.truncation = if at_least(KafkaVersion::V2_0) {
            Truncation::LeaderEpoch
        } else if at_least(KafkaVersion::V0_11) {
            Truncation::LeaderEpochV0
        } else {
            Truncation::HighWatermark
        };
        c.unclean_leader_election = !at_least(KafkaVersion::V0_11);
        c.isr_join_requires_epoch_start = at_least(KafkaVersion::V2_1);
        c.producer_retries = if at_least(KafkaVersion::V2_1) {
            i32::MAX as u32
        } else {
            0
        };
        c.isr_update = if at_least(KafkaVersion::V3_5) {
            IsrUpdate::AlterPartition
        } else {
            IsrUpdate::Zookeeper
        };
        let modern_producer = at_least(KafkaVersion::V3_5);
        c.acks = if modern_producer {
            Acks::All
        } else {
            Acks::One
        };
        c.idempotent_producer = modern_producer;
        c.hw_requires_min_isr = at_least(KafkaVersion::V3_7);
        // KIP-360 shipped in 2.5; no preset sits between 2.1 and 3.5.
        c.idempotent_epoch_bump = at_least(KafkaVersion::V3_5);
        c.eligible_leader_replicas = at_least(KafkaVersion::V4_1);
        // The controller quorum's fixes (they matter only with `cluster.controllers` > 1;
        // KRaft did not exist before 2.8, so the older presets simply lack them all).
        c.quorum.restart_leader_resigned = at_least(KafkaVersion::V3_5); // KAFKA-10527, 2.7
        c.quorum.hw_requires_current_epoch = at_least(KafkaVersion::V3_5); // KAFKA-12619, 3.0
        c.quorum.voters_flush_before_fetch = at_least(KafkaVersion::V3_5); // KAFKA-13884, 3.5
        c.quorum.activate_after_replay = at_least(KafkaVersion::V3_6); // KAFKA-15345, 3.6
        c.quorum.check_quorum = at_least(KafkaVersion::V3_7); // KAFKA-15489, 3.7
        c.quorum.pre_vote = at_least(KafkaVersion::V4_1); // KIP-996, 4.0
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's preset table row for `v`, from the preset itself.
    fn readme_row(v: KafkaVersion) -> String {
        let c = v.config();
        let yes = |b: bool| if b { "yes" } else { "no" };
        let name = match v {
            KafkaVersion::V0_8 => "`\"0.8\"` (0.8.2, Java producer)".to_string(),
            KafkaVersion::V4_1 => "`\"4.1\"` (default)".to_string(),
            _ => format!("`\"{}\"`", v.as_str()),
        };
        let retries = if c.producer_retries == 0 {
            "0"
        } else {
            "unbounded"
        };
        format!(
            "| {name} | {} | {} | {} | {} | {} | {retries} | {} | {} | {} | {} | {} | {} | {} |",
            c.truncation.as_str(),
            if c.unclean_leader_election {
                "on"
            } else {
                "off"
            },
            c.acks.as_str(),
            yes(c.idempotent_producer),
            yes(c.idempotent_epoch_bump),
            c.isr_update.as_str(),
            yes(c.isr_join_requires_epoch_start),
            yes(c.hw_requires_min_isr),
            yes(c.eligible_leader_replicas),
            yes(c.quorum.activate_after_replay),
            yes(c.quorum.check_quorum),
            yes(c.quorum.pre_vote),
        )
    }

    #[test]
    fn the_readme_table_shows_what_each_preset_sets() {
        let readme = include_str!("../README.md");
        for v in KafkaVersion::ALL {
            let row = readme_row(v);
            assert!(readme.contains(&row), "README lacks the row {row}");
        }
    }

    #[test]
    fn the_latest_preset_is_the_default() {
        assert_eq!(KafkaVersion::V4_1.config(), Config::default());
    }

    #[test]
    fn names_round_trip() {
        for v in KafkaVersion::ALL {
            assert_eq!(KafkaVersion::parse(v.as_str()), Some(v));
        }
        assert_eq!(KafkaVersion::parse("1.0"), None);
    }

    #[test]
    fn each_fix_arrives_with_its_release() {
        let c = |v: KafkaVersion| v.config();
        assert_eq!(c(KafkaVersion::V0_10).truncation, Truncation::HighWatermark);
        assert_eq!(c(KafkaVersion::V0_11).truncation, Truncation::LeaderEpochV0);
        assert_eq!(c(KafkaVersion::V2_0).truncation, Truncation::LeaderEpoch);
        assert!(!c(KafkaVersion::V2_0).isr_join_requires_epoch_start);
        assert!(c(KafkaVersion::V2_1).isr_join_requires_epoch_start);
        assert!(!c(KafkaVersion::V3_5).quorum.activate_after_replay);
        assert!(c(KafkaVersion::V3_5).quorum.voters_flush_before_fetch);
        assert!(c(KafkaVersion::V3_6).quorum.activate_after_replay);
        assert!(!c(KafkaVersion::V3_6).quorum.check_quorum);
        assert!(c(KafkaVersion::V3_7).quorum.check_quorum);
        assert!(!c(KafkaVersion::V3_6).hw_requires_min_isr);
        assert!(c(KafkaVersion::V3_7).hw_requires_min_isr);
        assert!(!c(KafkaVersion::V3_7).eligible_leader_replicas);
        assert!(c(KafkaVersion::V0_10).unclean_leader_election);
        assert!(!c(KafkaVersion::V0_11).unclean_leader_election);
    }
}
