//! The controller quorum: the metadata records and the state they build, the controller
//! that writes them and the election rules it applies, the Raft core of the metadata log,
//! and a controller node of a quorum.

pub mod controller;
pub mod metadata_log;
pub mod node;
pub mod partition_change;
pub mod quorum_controller;
pub mod raft;
pub mod records;
