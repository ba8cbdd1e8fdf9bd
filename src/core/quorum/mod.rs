//! The controller quorum: the metadata records and the state they build, the controller
//! that writes them, and the election rules it applies.

pub mod controller;
pub mod partition_change;
pub mod raft;
pub mod records;
