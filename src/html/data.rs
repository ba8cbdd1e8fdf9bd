//! The data a report page embeds (as JSON) and draws from: lanes, steps with their state
//! changes, message arrows, fault marks, network cuts and violations, all built from the
//! replay in [`crate::view`]. Compact arrays instead of objects keep a 20-second run's
//! page small; `templates/report.html` documents each array's layout where it reads it.

use serde_json::{Value, json};

use crate::fault_mark::{FaultMark, parse};
use crate::harness::RunReport;
use crate::history::{EventKind, History};
use crate::layout::Layout;
use crate::types::NodeId;
use crate::view::arrows::{Arrow, arrows};
use crate::view::state::{Op, Role};
use crate::view::violations::place;
use crate::view::{Step, steps};

/// Most violations listed one by one; the rest are counted by kind.
pub const VIOLATIONS_LISTED_MAX: usize = 40;

/// Every node lane, top to bottom: the controllers, brokers, producers, consumers.
pub fn lanes(layout: &Layout, producers: u8, consumers: u8) -> Vec<NodeId> {
    let mut lanes = layout.controllers.clone();
    lanes.extend(layout.brokers.iter().map(|b| NodeId::Broker(*b)));
    lanes.extend((1..=producers).map(NodeId::Producer));
    lanes.extend((1..=consumers).map(NodeId::Consumer));
    lanes
}

/// Lane index of a node, or -1 when it has none.
fn lane_of(lanes: &[NodeId], node: Option<NodeId>) -> i64 {
    node.and_then(|n| lanes.iter().position(|l| *l == n))
        .map_or(-1, |i| i as i64)
}

/// Index of the first step at or after history event `event` (the last step if none).
pub fn step_of_event(steps: &[Step], event: usize) -> usize {
    steps
        .partition_point(|s| s.index < event)
        .min(steps.len().saturating_sub(1))
}

fn op_json(lanes: &[NodeId], op: &Op) -> Value {
    match op {
        Op::Append {
            partition,
            broker,
            base,
            records,
        } => {
            let records: Vec<Value> = records
                .iter()
                .map(|(e, v)| json!([e.0, v.to_string()]))
                .collect();
            json!(["a", partition.0, broker.0, base.0, records])
        }
        Op::Truncate {
            partition,
            broker,
            to,
        } => json!(["t", partition.0, broker.0, to.0]),
        Op::Hw {
            partition,
            broker,
            hw,
        } => json!(["h", partition.0, broker.0, hw.0]),
        Op::Leader {
            partition,
            leader,
            epoch,
        } => json!(["l", partition.0, leader.map(|b| b.0), epoch.0]),
        Op::Isr {
            partition,
            isr,
            elr,
        } => {
            let ids = |v: &[crate::types::BrokerId]| v.iter().map(|b| b.0).collect::<Vec<u8>>();
            json!(["i", partition.0, ids(isr), ids(elr)])
        }
        Op::Role {
            partition,
            broker,
            role,
        } => {
            let text = match role {
                Role::Unknown => "-".to_string(),
                Role::Leader(e) => format!("leader {e}"),
                Role::Follower(e, _) => format!("follower {e}"),
            };
            json!(["r", partition.0, broker.0, text])
        }
        Op::Consumer {
            partition,
            consumer,
            upto,
        } => json!(["c", partition.0, consumer, upto.0]),
        Op::Node { node, status } => json!(["n", lane_of(lanes, Some(*node)), status.as_str()]),
        Op::Network { cut } => json!(["w", cut]),
        Op::Quorum(event) => quorum_json(event),
    }
}

/// `["q", what, node, number]`: a controller led the metadata log, activated (in an epoch) or renounced, its
/// metadata log end or HW moved.
fn quorum_json(event: &crate::quorum_event::QuorumEvent) -> Value {
    use crate::quorum_event::QuorumEvent::*;
    let node = event.node().to_string();
    match event {
        Activated { epoch, .. } => json!(["q", "act", node, epoch]),
        Led { epoch, .. } => json!(["q", "led", node, epoch]),
        Renounced { epoch, .. } => json!(["q", "ren", node, epoch]),
        Appended {
            base_offset,
            records,
            ..
        } => json!(["q", "end", node, base_offset.0 + records.len() as u64]),
        Truncated { to, .. } => json!(["q", "end", node, to.0]),
        HighWatermark { hw, .. } => json!(["q", "hw", node, hw.0]),
    }
}

/// `[t_us, lane, partition, label, text, ops]` per step.
fn steps_json(history: &History, lanes: &[NodeId], steps: &[Step]) -> Vec<Value> {
    steps
        .iter()
        .map(|s| {
            let m = &s.meaning;
            let ops: Vec<Value> = m.ops.iter().map(|op| op_json(lanes, op)).collect();
            json!([
                s.time.0,
                lane_of(lanes, m.node),
                m.partition.map_or(-1, |p| i64::from(p.0)),
                m.label,
                history.describe(&history.events[s.index].kind),
                ops
            ])
        })
        .collect()
}

/// `[from_lane, to_lane, sent_us, received_us, kind, step]` per arrow.
fn arrows_json(lanes: &[NodeId], steps: &[Step], arrows: &[Arrow]) -> Vec<Value> {
    arrows
        .iter()
        .map(|a| {
            json!([
                lane_of(lanes, Some(a.from)),
                lane_of(lanes, Some(a.to)),
                a.sent.0,
                a.received.0,
                a.kind.as_str(),
                step_of_event(steps, a.event)
            ])
        })
        .collect()
}

/// Fault marks `[lane, t_us, kind, step]`, network cuts
/// `[from_us, to_us, text, [[lanes]...], step]` and phases `[t_us, name]`.
fn faults_json(
    history: &History,
    lanes: &[NodeId],
    steps: &[Step],
    end_us: u64,
) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let (mut marks, mut cuts, mut phases) = (Vec::new(), Vec::new(), Vec::new());
    let mut open: Option<(u64, String, Vec<Vec<i64>>, usize)> = None;
    let mut close = |open: &mut Option<(u64, String, Vec<Vec<i64>>, usize)>, t: u64| {
        if let Some((from, text, groups, step)) = open.take() {
            cuts.push(json!([from, t, text, groups, step]));
        }
    };
    for (index, event) in history.events.iter().enumerate() {
        let t = event.time.0;
        let step = step_of_event(steps, index);
        let lanes_of = |nodes: &[NodeId]| -> Vec<i64> {
            nodes.iter().map(|n| lane_of(lanes, Some(*n))).collect()
        };
        let description = match &event.kind {
            EventKind::Fault { description } => description,
            EventKind::Disconnected { node, refused, .. } => {
                let kind = if *refused {
                    "connection refused"
                } else {
                    "connection reset"
                };
                let text = history.describe(&event.kind);
                marks.push(json!([lane_of(lanes, Some(*node)), t, kind, step, text]));
                continue;
            }
            EventKind::Phase { name } => {
                if name == "heal" {
                    close(&mut open, t);
                }
                phases.push(json!([t, name]));
                continue;
            }
            _ => continue,
        };
        let (kind, nodes) = match parse(description) {
            Some(FaultMark::Crash(n)) => ("crash", n),
            Some(FaultMark::PowerLoss(n)) => ("power loss", n),
            Some(FaultMark::Restart(n)) => ("restart", n),
            Some(FaultMark::DiskWipe(n)) => ("disk wipe", n),
            Some(FaultMark::Pause(n)) => ("pause", n),
            Some(FaultMark::Resume(n)) => ("resume", n),
            Some(FaultMark::Isolate(n)) => {
                close(&mut open, t);
                let others: Vec<i64> = (0..lanes.len() as i64)
                    .filter(|l| !lanes_of(&n).contains(l))
                    .collect();
                open = Some((t, description.clone(), vec![lanes_of(&n), others], step));
                continue;
            }
            Some(FaultMark::Partition(groups)) => {
                close(&mut open, t);
                let groups = groups.iter().map(|g| lanes_of(g)).collect();
                open = Some((t, description.clone(), groups, step));
                continue;
            }
            Some(FaultMark::Heal) => {
                close(&mut open, t);
                continue;
            }
            Some(FaultMark::PacketLoss(_) | FaultMark::Latency(..)) | None => {
                ("network", vec![NodeId::CONTROLLER])
            }
        };
        for lane in lanes_of(&nodes) {
            marks.push(json!([lane, t, kind, step, description]));
        }
    }
    close(&mut open, end_us);
    (marks, cuts, phases)
}

/// The violations: `{kind, partition, message, permitted_by, values, offsets, step,
/// causes: [[step, text]]}`, at most [`VIOLATIONS_LISTED_MAX`], plus counts by kind.
fn violations_json(report: &RunReport, steps: &[Step]) -> (Vec<Value>, Vec<Value>) {
    let history = &report.history;
    let listed = report
        .violations
        .iter()
        .take(VIOLATIONS_LISTED_MAX)
        .map(|v| {
            let placement = place(history, v);
            let visible = placement.visible_at.map(|i| step_of_event(steps, i));
            let causes: Vec<Value> = placement
                .causes
                .iter()
                .map(|i| json!([step_of_event(steps, *i), history.render(*i)]))
                .collect();
            let visible_text = placement.visible_at.map(|i| history.render(i));
            json!({
                "kind": v.kind.as_str(),
                "partition": v.partition,
                "message": v.message,
                "permitted_by": v.permitted_by,
                "values": v.values,
                "offsets": v.offsets,
                "step": visible,
                "visible": visible_text,
                "causes": causes,
            })
        })
        .collect();
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for v in &report.violations {
        match counts.iter_mut().find(|(k, _)| *k == v.kind.as_str()) {
            Some((_, n)) => *n += 1,
            None => counts.push((v.kind.as_str(), 1)),
        }
    }
    let counts = counts.iter().map(|(k, n)| json!([k, n])).collect();
    (listed, counts)
}

/// The whole embedded document.
pub fn build(report: &RunReport, layout: &Layout, producers: u8, consumers: u8) -> Value {
    let history = &report.history;
    let lanes = lanes(layout, producers, consumers);
    let steps = steps(history, layout);
    let end_us = history.events.last().map_or(0, |e| e.time.0);
    let (marks, cuts, phases) = faults_json(history, &lanes, &steps, end_us);
    let (violations, counts) = violations_json(report, &steps);
    let partitions: Vec<Value> = layout
        .partition_ids()
        .map(|p| {
            let replicas: Vec<u8> = layout.partition(p).replicas.iter().map(|b| b.0).collect();
            json!({"name": layout.partition_name(p), "replicas": replicas})
        })
        .collect();
    let lane_names: Vec<String> = lanes.iter().map(|n| n.to_string()).collect();
    json!({
        "lanes": lane_names,
        "partitions": partitions,
        "end_us": end_us,
        "steps": steps_json(history, &lanes, &steps),
        "arrows": arrows_json(&lanes, &steps, &arrows(history)),
        "marks": marks,
        "cuts": cuts,
        "phases": phases,
        "violations": violations,
        "violation_counts": counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::EventKind;
    use crate::types::SimTime;
    use crate::view::Meaning;

    fn step(index: usize) -> Step {
        Step {
            index,
            time: SimTime(index as u64),
            meaning: Meaning {
                label: "x",
                partition: None,
                node: None,
                ops: vec![],
            },
        }
    }

    #[test]
    fn events_map_to_the_first_step_at_or_after_them() {
        let steps = vec![step(2), step(5), step(9)];
        assert_eq!(step_of_event(&steps, 0), 0);
        assert_eq!(step_of_event(&steps, 5), 1);
        assert_eq!(step_of_event(&steps, 6), 2);
        assert_eq!(step_of_event(&steps, 99), 2);
        assert_eq!(step_of_event(&[], 3), 0);
    }

    #[test]
    fn a_partition_is_a_cut_until_the_heal() {
        let layout = Layout::new(2, &[("t".to_string(), 1, 2)]);
        let mut history = History::new(vec!["t-0".into()]);
        let fault = |d: &str| EventKind::Fault {
            description: d.into(),
        };
        history.push(
            SimTime(10),
            fault("partition [broker-1] | [broker-2, controller]"),
        );
        history.push(SimTime(20), fault("crash broker-2"));
        history.push(SimTime(30), fault("heal"));
        let lanes = lanes(&layout, 1, 1);
        let steps = steps(&history, &layout);
        let (marks, cuts, _) = faults_json(&history, &lanes, &steps, 40);
        assert_eq!(marks, vec![json!([2, 20, "crash", 1, "crash broker-2"])]);
        assert_eq!(
            cuts,
            vec![json!([
                10,
                30,
                "partition [broker-1] | [broker-2, controller]",
                [[1], [2, 0]],
                0
            ])]
        );
    }

    #[test]
    fn a_disconnect_is_a_mark_on_the_lane_of_the_node_that_heard_it() {
        let layout = Layout::new(2, &[("t".to_string(), 1, 2)]);
        let mut history = History::new(vec!["t-0".into()]);
        let (node, peer) = (
            NodeId::Producer(1),
            NodeId::Broker(crate::types::BrokerId(2)),
        );
        for (t, refused) in [(10, false), (20, true)] {
            let kind = EventKind::Disconnected {
                node,
                peer,
                refused,
            };
            history.push(SimTime(t), kind);
        }
        let lanes = lanes(&layout, 1, 1);
        let steps = steps(&history, &layout);
        let (marks, _, _) = faults_json(&history, &lanes, &steps, 40);
        let lane = lane_of(&lanes, Some(node));
        let kinds: Vec<(i64, &str)> = marks
            .iter()
            .map(|m| (m[0].as_i64().expect("lane"), m[2].as_str().expect("kind")))
            .collect();
        assert_eq!(
            kinds,
            vec![(lane, "connection reset"), (lane, "connection refused")]
        );
    }
}
