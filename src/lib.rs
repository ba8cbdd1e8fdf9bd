//! kafkasim: a deterministic simulation testbed for Kafka-style replicated logs.
//!
//! Brokers, the controller, producers and consumers are sans-IO state machines
//! ([`core`]); a thin madsim shell ([`shell`]) moves their messages and timers over a
//! simulated network and clock; the [`harness`] runs a [`scenario`] for one seed, injects
//! faults and records a [`history`]; [`checkers`] read that history and report
//! [`violation`]s. One seed is one exact, replayable execution.

#[cfg(not(madsim))]
compile_error!(
    "build with --cfg madsim (see .cargo/config.toml); a RUSTFLAGS env var overrides it"
);

pub mod availability;
pub mod catalogue;
pub mod checkers;
pub mod cli;
pub mod config;
pub mod core;
pub mod coverage;
pub mod explain;
pub mod explore;
pub mod export;
pub mod fault_mark;
pub mod group_event;
pub mod harness;
pub mod history;
pub mod html;
pub mod kafka_version;
pub mod layout;
pub mod quorum_event;
pub mod scenario;
pub mod shell;
pub mod shrink;
pub mod trace_hasher;
pub mod types;
pub mod view;
pub mod violation;
