//! `config`: the protocol settings, Kafka's defaults for every field the file leaves out.

use super::raw::{RawConfig, RawIsrUpdate, RawReadLimit, RawTruncation};
use super::{ScenarioError, invalid, millis};
use crate::config::{Config, ConsumerReadLimit, FlushPolicy, IsrUpdate, Truncation};
use crate::kafka_version::KafkaVersion;

/// `config`: the defaults of `kafka_version` (Kafka 4.1 when absent) for every missing
/// field, then the cross-field rules.
pub(super) fn config(raw: RawConfig) -> Result<Config, ScenarioError> {
    let mut c = match &raw.kafka_version {
        None => Config::default(),
        Some(name) => match KafkaVersion::parse(name) {
            Some(version) => version.config(),
            None => {
                let known: Vec<&str> = KafkaVersion::ALL.iter().map(|v| v.as_str()).collect();
                return Err(invalid(
                    "config.kafka_version",
                    format!("unknown version \"{name}\"; known: {}", known.join(", ")),
                ));
            }
        },
    };
    if let Some(acks) = raw.acks {
        c.acks = acks.0;
    }
    if let Some(min_isr) = raw.min_insync_replicas {
        if !(1..=u64::from(u8::MAX)).contains(&min_isr) {
            return Err(invalid(
                "config.min_insync_replicas",
                format!("must be between 1 and 255, got {min_isr}"),
            ));
        }
        c.min_insync_replicas = min_isr as u8;
    }
    if let Some(flush) = raw.flush {
        if let FlushPolicy::IntervalMs(ms) = flush.0 {
            if ms == 0 {
                return Err(invalid(
                    "config.flush.interval_ms",
                    "a period must be > 0, got 0",
                ));
            }
            millis("config.flush.interval_ms", ms)?;
        }
        c.flush = flush.0;
    }
    if let Some(t) = raw.truncation {
        c.truncation = match t.0 {
            RawTruncation::LeaderEpoch => Truncation::LeaderEpoch,
            RawTruncation::LeaderEpochV0 => Truncation::LeaderEpochV0,
            RawTruncation::HighWatermark => Truncation::HighWatermark,
        };
    }
    if let Some(update) = raw.isr_update {
        c.isr_update = match update.0 {
            RawIsrUpdate::AlterPartition => IsrUpdate::AlterPartition,
            RawIsrUpdate::Zookeeper => IsrUpdate::Zookeeper,
        };
    }
    if let Some(limit) = raw.consumer_read_limit {
        c.consumer_read_limit = match limit.0 {
            RawReadLimit::HighWatermark => ConsumerReadLimit::HighWatermark,
            RawReadLimit::LogEnd => ConsumerReadLimit::LogEnd,
        };
    }
    let flags = [
        (raw.unclean_leader_election, &mut c.unclean_leader_election),
        (raw.idempotent_producer, &mut c.idempotent_producer),
        (
            raw.eligible_leader_replicas,
            &mut c.eligible_leader_replicas,
        ),
        (raw.hw_requires_min_isr, &mut c.hw_requires_min_isr),
        (raw.idempotent_epoch_bump, &mut c.idempotent_epoch_bump),
        (
            raw.isr_join_requires_epoch_start,
            &mut c.isr_join_requires_epoch_start,
        ),
        (
            raw.alter_partition_checks_broker_epoch,
            &mut c.alter_partition_checks_broker_epoch,
        ),
        (raw.check_quorum, &mut c.quorum.check_quorum),
        (raw.pre_vote, &mut c.quorum.pre_vote),
        (
            raw.restart_leader_resigned,
            &mut c.quorum.restart_leader_resigned,
        ),
        (
            raw.hw_requires_current_epoch,
            &mut c.quorum.hw_requires_current_epoch,
        ),
        (
            raw.voters_flush_before_fetch,
            &mut c.quorum.voters_flush_before_fetch,
        ),
        (
            raw.activate_after_replay,
            &mut c.quorum.activate_after_replay,
        ),
    ];
    for (value, slot) in flags {
        if let Some(value) = value {
            *slot = value;
        }
    }
    if let Some(retries) = raw.producer_retries {
        c.producer_retries = retries;
    }
    if let Some(n) = raw.max_in_flight {
        if !(1..=u64::from(u8::MAX)).contains(&n) {
            return Err(invalid(
                "config.max_in_flight",
                format!("must be between 1 and 255, got {n}"),
            ));
        }
        c.max_in_flight = n as u8;
    }
    // Kafka's producer refuses more than 5 in flight with idempotence (ConfigException):
    // the broker remembers only the last 5 batches per producer.
    if c.idempotent_producer && c.max_in_flight > 5 {
        return Err(invalid(
            "config.max_in_flight",
            format!(
                "at most 5 with idempotent_producer (as Kafka requires), got {}",
                c.max_in_flight
            ),
        ));
    }
    // And an idempotent producer must retry ("Must set retries to non-zero when using the
    // idempotent producer", ProducerConfig): presets before 2.1 have retries 0.
    if c.idempotent_producer && c.producer_retries == 0 {
        return Err(invalid(
            "config.producer_retries",
            "must be > 0 with idempotent_producer (as Kafka requires; presets before 2.1 \
             set 0, so give it with idempotence)",
        ));
    }
    // Periods and timeouts: a timer of 0 ms would fire in a loop without time passing.
    let periods = [
        (
            "replica_lag_time_max_ms",
            raw.replica_lag_time_max_ms,
            &mut c.replica_lag_time_max_ms,
        ),
        (
            "broker_session_timeout_ms",
            raw.broker_session_timeout_ms,
            &mut c.broker_session_timeout_ms,
        ),
        (
            "broker_heartbeat_interval_ms",
            raw.broker_heartbeat_interval_ms,
            &mut c.broker_heartbeat_interval_ms,
        ),
        (
            "request_timeout_ms",
            raw.request_timeout_ms,
            &mut c.request_timeout_ms,
        ),
        (
            "controller_socket_timeout_ms",
            raw.controller_socket_timeout_ms,
            &mut c.controller_socket_timeout_ms,
        ),
        (
            "delivery_timeout_ms",
            raw.delivery_timeout_ms,
            &mut c.delivery_timeout_ms,
        ),
        (
            "retry_backoff_ms",
            raw.retry_backoff_ms,
            &mut c.retry_backoff_ms,
        ),
        (
            "replica_fetch_backoff_ms",
            raw.replica_fetch_backoff_ms,
            &mut c.replica_fetch_backoff_ms,
        ),
        (
            "replica_high_watermark_checkpoint_interval_ms",
            raw.replica_high_watermark_checkpoint_interval_ms,
            &mut c.replica_high_watermark_checkpoint_interval_ms,
        ),
        (
            "metadata_max_age_ms",
            raw.metadata_max_age_ms,
            &mut c.metadata_max_age_ms,
        ),
        (
            "reconnect_backoff_ms",
            raw.reconnect_backoff_ms,
            &mut c.reconnect_backoff_ms,
        ),
        (
            "controller_quorum_election_timeout_ms",
            raw.controller_quorum_election_timeout_ms,
            &mut c.controller_quorum_election_timeout_ms,
        ),
        (
            "controller_quorum_fetch_timeout_ms",
            raw.controller_quorum_fetch_timeout_ms,
            &mut c.controller_quorum_fetch_timeout_ms,
        ),
    ];
    for (name, value, slot) in periods {
        if let Some(ms) = value {
            if ms == 0 {
                return Err(invalid(
                    format!("config.{name}"),
                    "a period must be > 0, got 0",
                ));
            }
            *slot = millis(&format!("config.{name}"), ms)?;
        }
    }
    // Waits bounded by a network round trip: 0 is a valid Kafka setting.
    let waits = [
        ("linger_ms", raw.linger_ms, &mut c.linger_ms),
        (
            "replica_fetch_wait_max_ms",
            raw.replica_fetch_wait_max_ms,
            &mut c.replica_fetch_wait_max_ms,
        ),
        (
            "fetch_max_wait_ms",
            raw.fetch_max_wait_ms,
            &mut c.fetch_max_wait_ms,
        ),
    ];
    for (name, value, slot) in waits {
        if let Some(ms) = value {
            *slot = millis(&format!("config.{name}"), ms)?;
        }
    }
    if c.broker_heartbeat_interval_ms >= c.broker_session_timeout_ms {
        let (field, note) = if raw.broker_heartbeat_interval_ms.is_some() {
            ("config.broker_heartbeat_interval_ms", "")
        } else {
            (
                "config.broker_session_timeout_ms",
                " (heartbeat interval not set: Kafka's default)",
            )
        };
        return Err(invalid(
            field,
            format!(
                "broker_heartbeat_interval_ms ({}) must be less than broker_session_timeout_ms \
                 ({}){note}",
                c.broker_heartbeat_interval_ms, c.broker_session_timeout_ms
            ),
        ));
    }
    Ok(c)
}
