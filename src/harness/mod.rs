//! Runs one scenario for one seed: builds the cluster in a fresh madsim runtime, fires
//! the timed faults and the nemesis, runs the finale, and checks the history.
//!
//! Architecture invariant: the harness never calls core methods directly; it goes through
//! the shell's cluster handle, as a real operator or client would. It prints nothing and
//! touches no files: `cli` does that.

pub mod faults;
pub mod finale;
pub mod nemesis;
pub mod report;
pub mod unroll;

use crate::availability::Availability;
use crate::checkers;
use crate::core::producer::{Partitioner as CorePartitioner, ProducerWorkload};
use crate::coverage::Coverage;
use crate::history::{EventKind, History, StartNetwork};
use crate::scenario::{Expect, Partitioner, Scenario, TimedFault};
use crate::shell::cluster::{ClientPlan, Cluster, latency_range};
use crate::shell::{now, sleep_until};
use crate::types::SimTime;
use crate::violation::{Violation, ViolationKind};

/// Counts over one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Sends invoked.
    pub produced: u64,
    /// Sends acknowledged (definite success).
    pub acked: u64,
    /// Records delivered to consumers.
    pub consumed: u64,
    /// Leader elections (including to "no leader").
    pub leader_changes: u64,
    /// ISR changes without a leader change.
    pub isr_changes: u64,
}

impl Stats {
    /// Counts from a history.
    pub fn of(history: &History) -> Stats {
        let mut stats = Stats::default();
        for event in &history.events {
            match &event.kind {
                EventKind::SendInvoke { .. } => stats.produced += 1,
                EventKind::SendOk { .. } => stats.acked += 1,
                EventKind::Poll { records, .. } => stats.consumed += records.len() as u64,
                EventKind::LeaderElected { .. } => stats.leader_changes += 1,
                EventKind::IsrChanged { .. } => stats.isr_changes += 1,
                _ => {}
            }
        }
        stats
    }
}

/// Everything one run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The seed that was run.
    pub seed: u64,
    /// The recorded history.
    pub history: History,
    /// What the checkers found.
    pub violations: Vec<Violation>,
    /// Whether the outcome matched the scenario's `expect`.
    pub matched: bool,
    /// Counts.
    pub stats: Stats,
    /// How often the run reached each coverage mark.
    pub coverage: Coverage,
    /// Every send's latency and the outages, with their causes.
    pub availability: Availability,
    /// Simulated milliseconds.
    pub sim_ms: u64,
    /// A hash over every event of the history ([`History::trace_hash`]).
    pub trace_hash: u64,
    /// Datagrams the simulated network delivered.
    pub messages_delivered: u64,
    /// Every fault action applied before the finale, scripted and the nemesis', in the
    /// order applied: the explicit fault list that `run --unroll` writes.
    pub faults_applied: Vec<TimedFault>,
    /// The times (ms) the harness woke and applied nothing: the scenario's
    /// `nemesis_looks_ms` and the nemesis' looks that acted on nothing. `run --unroll`
    /// writes them so that its replay wakes alike.
    pub looks_ms: Vec<u64>,
}

/// What one simulation produced, before the checkers.
struct Simulated {
    history: History,
    sim_ms: u64,
    messages: u64,
    faults_applied: Vec<TimedFault>,
    looks_ms: Vec<u64>,
}

/// Whether `violations` satisfy `expect`.
pub fn matches_expect(expect: &Expect, violations: &[Violation]) -> bool {
    match expect {
        Expect::Pass => violations.is_empty(),
        Expect::Violations(kinds) => kinds
            .iter()
            .all(|k| violations.iter().any(|v| v.kind == *k)),
    }
}

/// Runs `scenario` with `seed` in a new madsim runtime on the current thread. Call it on
/// a fresh thread per seed (madsim seeds std's hasher only for a thread's first runtime).
/// A panic inside the simulation (a broken core assertion) becomes a `model-invariant`
/// violation instead of unwinding further.
pub fn run(scenario: &Scenario, seed: u64) -> RunReport {
    let mut net = madsim::Config::default();
    let (low, high) = scenario.network.latency_ms;
    net.net.send_latency = latency_range(low, high);
    net.net.packet_loss_rate = scenario.network.packet_loss;
    let runtime = madsim::runtime::Runtime::with_seed_and_config(seed, net);
    let scenario_for_run = scenario.clone();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(simulate(scenario_for_run, seed))
    }));
    let (simulated, mut violations) = match result {
        Ok(simulated) => (simulated, Vec::new()),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            let violation = Violation {
                kind: ViolationKind::ModelInvariant,
                partition: None,
                offsets: Vec::new(),
                values: Vec::new(),
                message: format!("the simulation panicked (a bug in kafkasim's model): {message}"),
                evidence: Vec::new(),
                known_bug: None,
                permitted_by: None,
            };
            let nothing = Simulated {
                history: History::default(),
                sim_ms: 0,
                messages: 0,
                faults_applied: Vec::new(),
                looks_ms: Vec::new(),
            };
            (nothing, vec![violation])
        }
    };
    let Simulated {
        history,
        sim_ms,
        messages: messages_delivered,
        faults_applied,
        looks_ms,
    } = simulated;
    if violations.is_empty() {
        violations = checkers::check_all(&history, &scenario.config);
    }
    let matched = matches_expect(&scenario.expect, &violations);
    RunReport {
        seed,
        stats: Stats::of(&history),
        coverage: Coverage::of(&history),
        availability: Availability::of(&history),
        trace_hash: history.trace_hash(),
        history,
        violations,
        matched,
        sim_ms,
        messages_delivered,
        faults_applied,
        looks_ms,
    }
}

async fn simulate(scenario: Scenario, seed: u64) -> Simulated {
    let duration = SimTime::from_ms(scenario.workload.duration_ms);
    let partitioner = match scenario.workload.partitioner {
        Partitioner::RoundRobin => CorePartitioner::RoundRobin,
        Partitioner::KeyHash => CorePartitioner::KeyHash,
    };
    let clients = ClientPlan {
        producers: scenario.workload.producers,
        consumers: scenario.workload.consumers,
        groups: scenario.workload.groups.clone(),
        workload: ProducerWorkload {
            produce_interval_ms: scenario.workload.produce_interval_ms,
            stop_at: duration,
            partitioner,
        },
    };
    let mut cluster = Cluster::start(
        &scenario.layout,
        &scenario.config,
        &clients,
        scenario.network.latency_ms,
    );
    let mut faults: Vec<_> = scenario.faults.iter().collect();
    faults.sort_by_key(|f| f.at_ms); // stable: same at_ms keeps file order
    let mut nemesis = scenario
        .nemesis
        .as_ref()
        .map(|spec| nemesis::Nemesis::new(spec, &scenario.network, now(), seed));
    let mut next_fault = 0;
    let mut faults_applied = Vec::new();
    let mut next_look = 0;
    let mut looks_ms = Vec::new();
    loop {
        let fault_at = faults.get(next_fault).map(|f| SimTime::from_ms(f.at_ms));
        let look_at = scenario
            .looks_ms
            .get(next_look)
            .map(|t| SimTime::from_ms(*t));
        let nemesis_at = nemesis
            .as_ref()
            .and_then(|n| n.next_wakeup())
            .filter(|t| *t < duration);
        let next = [fault_at, nemesis_at, look_at, Some(duration)]
            .into_iter()
            .flatten()
            .min();
        let next = next.expect("duration is always present");
        if next > now() {
            sleep_until(next).await;
        }
        if fault_at == Some(next) {
            faults::apply(&mut cluster, &faults[next_fault].action);
            faults_applied.push(faults[next_fault].clone());
            next_fault += 1;
        } else if nemesis_at == Some(next) {
            let n = nemesis.as_mut().expect("scheduled only with a nemesis");
            let seen = n.applied().len();
            n.step(next, &mut cluster);
            if n.applied().len() == seen {
                looks_ms.push(next.as_ms());
            }
            faults_applied.extend_from_slice(&n.applied()[seen..]);
        } else if look_at == Some(next) {
            looks_ms.push(next.as_ms());
            next_look += 1;
        } else {
            break;
        }
    }
    if let Some(n) = nemesis.as_mut() {
        let seen = n.applied().len();
        n.finish(&mut cluster);
        faults_applied.extend_from_slice(&n.applied()[seen..]);
    }
    finale::run(&mut cluster, &scenario.config, scenario.workload.producers).await;
    let sim_ms = now().as_ms();
    let messages = cluster.messages_delivered();
    let mut history = cluster.shutdown().await;
    history.network = StartNetwork {
        latency_ms: scenario.network.latency_ms,
        packet_loss: scenario.network.packet_loss,
    };
    Simulated {
        history,
        sim_ms,
        messages,
        faults_applied,
        looks_ms,
    }
}
