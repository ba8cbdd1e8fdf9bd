//! The compact text table of one partition's state, as `kafkasim step` prints it after
//! each step.

use std::fmt::Write as _;

use crate::history::render_brokers;
use crate::types::{LeaderEpoch, MessageId, NodeId};
use crate::view::state::{ClusterView, PartitionView, Role};

/// Most epoch runs shown per log; older runs are summarised as `…`.
const RUNS_SHOWN_MAX: usize = 6;

/// The table for partition `index` named `name`, each line indented by two spaces.
pub fn partition_table(state: &ClusterView, index: usize, name: &str) -> String {
    let Some(p) = state.partitions.get(index) else {
        return String::new();
    };
    let leader = match p.leader {
        Some(b) => format!("broker-{b}"),
        None => "none".to_string(),
    };
    let mut text = format!(
        "  {name}: the controller says leader {leader} in {}, isr {}",
        p.epoch,
        render_brokers(&p.isr)
    );
    if !p.elr.is_empty() {
        let _ = write!(text, ", elr {}", render_brokers(&p.elr));
    }
    if !state.network.is_empty() {
        let _ = write!(text, "; network: {}", state.network);
    }
    text.push('\n');
    text.push_str(
        "    replica   process  role          isr   leo    hw  log (offsets@epoch, | = hw)\n",
    );
    for (broker, replica) in &p.replicas {
        let in_isr = if p.isr.contains(broker) { "yes" } else { "no" };
        let _ = writeln!(
            text,
            "    {:<9} {:<8} {:<13} {:<3} {:>5} {:>5}  {}",
            format!("broker-{broker}"),
            state.status(NodeId::Broker(*broker)).as_str(),
            role_text(replica.role),
            in_isr,
            replica.leo().0,
            replica.hw.0,
            log_text(&replica.log, replica.hw.0)
        );
    }
    text.push_str(&consumers_line(p));
    text.push_str(&quorum_line(state));
    text
}

/// `    quorum: controller-2 active in epoch 3; metadata log end/hw: controller-1 24/24, …`
/// (nothing with a single controller).
pub fn quorum_line(state: &ClusterView) -> String {
    let quorum = &state.quorum;
    if quorum.nodes.is_empty() {
        return String::new();
    }
    let active = match quorum.active {
        Some((node, epoch)) => format!("{node} active in epoch {epoch}"),
        None => "no active controller".to_string(),
    };
    let logs: Vec<String> = quorum
        .nodes
        .iter()
        .map(|(node, log)| format!("{node} {}/{}", log.log_end.0, log.hw.0))
        .collect();
    format!(
        "    quorum: {active}; metadata log end/hw: {}\n",
        logs.join(", ")
    )
}

fn consumers_line(p: &PartitionView) -> String {
    if p.consumers.is_empty() {
        return "    consumers: none has read yet\n".to_string();
    }
    let parts: Vec<String> = p
        .consumers
        .iter()
        .map(|(c, upto)| format!("consumer-{c} read up to {}", upto.0))
        .collect();
    format!("    consumers: {}\n", parts.join(", "))
}

fn role_text(role: Role) -> String {
    match role {
        Role::Unknown => "-".to_string(),
        Role::Leader(epoch) => format!("leader {epoch}"),
        Role::Follower(epoch, _) => format!("follower {epoch}"),
    }
}

/// `0-41@e1 42-44@e2 | 45-46@e2`: runs of one epoch, split where the HW falls.
pub fn log_text(log: &[(LeaderEpoch, MessageId)], hw: u64) -> String {
    if log.is_empty() {
        return if hw == 0 {
            "(empty) |".to_string()
        } else {
            "(empty)".to_string()
        };
    }
    let mut runs: Vec<(u64, u64, LeaderEpoch)> = Vec::new();
    for (offset, (epoch, _)) in log.iter().enumerate() {
        let offset = offset as u64;
        match runs.last_mut() {
            Some((_, end, e)) if *e == *epoch && offset != hw => *end = offset,
            _ => runs.push((offset, offset, *epoch)),
        }
    }
    let mut parts: Vec<String> = Vec::new();
    let skipped = runs.len().saturating_sub(RUNS_SHOWN_MAX);
    if skipped > 0 {
        parts.push("…".to_string());
    }
    for (start, end, epoch) in &runs[skipped..] {
        if *start == hw {
            parts.push("|".to_string());
        }
        if start == end {
            parts.push(format!("{start}@{epoch}"));
        } else {
            parts.push(format!("{start}-{end}@{epoch}"));
        }
    }
    if hw >= log.len() as u64 {
        parts.push("|".to_string());
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(epochs: &[u32]) -> Vec<(LeaderEpoch, MessageId)> {
        epochs
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let value = MessageId {
                    producer: 1,
                    index: i as u32,
                };
                (LeaderEpoch(*e), value)
            })
            .collect()
    }

    #[test]
    fn log_runs_split_at_epochs_and_at_the_hw() {
        assert_eq!(log_text(&log(&[1, 1, 1, 2, 2]), 4), "0-2@e1 3@e2 | 4@e2");
        assert_eq!(log_text(&log(&[1, 1]), 2), "0-1@e1 |");
        assert_eq!(log_text(&log(&[1, 1]), 0), "| 0-1@e1");
        assert_eq!(log_text(&[], 0), "(empty) |");
    }
}
