//! A run's report: the contract's result JSON (`run --json`) and the readable summary.

use serde::Serialize;

use crate::availability::{Availability, Outage, Percentiles};
use crate::coverage::Coverage;
use crate::explain::{Explanation, explain};
use crate::harness::{RunReport, Stats};
use crate::history::History;
use crate::violation::Violation;

/// One violation as the result JSON shows it.
#[derive(Serialize)]
struct ViolationJson<'a> {
    kind: &'static str,
    partition: Option<&'a str>,
    offsets: &'a [u64],
    values: &'a [String],
    message: &'a str,
    permitted_by: Option<&'a str>,
    known_bug: Option<&'a str>,
    /// Neither `permitted_by` nor `known_bug`: a bug in kafkasim's model.
    unexplained: bool,
    evidence: Vec<String>,
}

#[derive(Serialize)]
struct StatsJson {
    produced: u64,
    acked: u64,
    consumed: u64,
    leader_changes: u64,
    isr_changes: u64,
    produce_latency_ms: LatencyJson,
}

/// Produce latency of acknowledged sends, in ms (`null` when none was acknowledged).
#[derive(Serialize)]
struct LatencyJson {
    p50: Option<f64>,
    p99: Option<f64>,
    max: Option<f64>,
}

/// One outage (contract fields `partition`, `from_ms`, `to_ms`, `cause`; the rest added).
#[derive(Serialize)]
struct OutageJson<'a> {
    partition: &'a str,
    from_ms: u64,
    to_ms: u64,
    length_ms: u64,
    /// Still unacknowledged when the workload ended (`to_ms` is its end).
    open: bool,
    cause: &'a str,
    /// When the cause happened (simulated ms), if it is a history event.
    cause_ms: Option<u64>,
    kind: &'static str,
}

/// The result object (field names fixed by scenario-format.md).
#[derive(Serialize)]
struct ResultJson<'a> {
    scenario: &'a str,
    seed: u64,
    outcome: &'static str,
    violations: Vec<ViolationJson<'a>>,
    trace_hash: String,
    sim_ms: u64,
    stats: StatsJson,
    outages: Vec<OutageJson<'a>>,
    reproduce: &'a str,
    messages_delivered: u64,
    coverage: Coverage,
    /// The first violation in plain words (`null` when there is none).
    explanation: Option<Explanation>,
}

fn stats_json(stats: &Stats, availability: &Availability) -> StatsJson {
    let latency = &availability.produce_latency;
    StatsJson {
        produced: stats.produced,
        acked: stats.acked,
        consumed: stats.consumed,
        leader_changes: stats.leader_changes,
        isr_changes: stats.isr_changes,
        produce_latency_ms: LatencyJson {
            p50: latency.p50_us.map(us_to_ms),
            p99: latency.p99_us.map(us_to_ms),
            max: latency.max_us.map(us_to_ms),
        },
    }
}

/// Microseconds as milliseconds (three decimals, exact).
pub fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn outages_json<'a>(history: &'a History, outages: &'a [Outage]) -> Vec<OutageJson<'a>> {
    outages
        .iter()
        .map(|o| OutageJson {
            partition: history.partition_name(o.partition),
            from_ms: o.from.as_ms(),
            to_ms: o.to.as_ms(),
            length_ms: o.length_ms(),
            open: o.open,
            cause: &o.cause,
            cause_ms: o
                .cause_event
                .and_then(|i| history.events.get(i))
                .map(|e| e.time.as_ms()),
            kind: o.kind.as_str(),
        })
        .collect()
}

/// The rendered evidence events of a violation.
pub fn evidence_lines(history: &History, violation: &Violation) -> Vec<String> {
    violation
        .evidence
        .iter()
        .filter(|i| **i < history.events.len())
        .map(|i| history.render(*i))
        .collect()
}

/// The result JSON, one line.
pub fn to_json(name: &str, report: &RunReport, reproduce: &str) -> String {
    let violations = report
        .violations
        .iter()
        .map(|v| ViolationJson {
            kind: v.kind.as_str(),
            partition: v.partition.as_deref(),
            offsets: &v.offsets,
            values: &v.values,
            message: &v.message,
            permitted_by: v.permitted_by.as_deref(),
            known_bug: v.known_bug.as_deref(),
            unexplained: v.unexplained(),
            evidence: evidence_lines(&report.history, v),
        })
        .collect();
    let result = ResultJson {
        scenario: name,
        seed: report.seed,
        outcome: if report.matched { "pass" } else { "fail" },
        violations,
        trace_hash: format!("{:016x}", report.trace_hash),
        sim_ms: report.sim_ms,
        stats: stats_json(&report.stats, &report.availability),
        outages: outages_json(&report.history, &report.availability.outages),
        reproduce,
        messages_delivered: report.messages_delivered,
        coverage: report.coverage,
        explanation: report
            .violations
            .first()
            .map(|v| explain(&report.history, v)),
    };
    serde_json::to_string(&result).expect("plain data serializes")
}

/// The readable summary.
pub fn to_text(name: &str, expect: &str, report: &RunReport, reproduce: &str) -> String {
    let s = &report.stats;
    let mut text = format!(
        "scenario      {name}\nseed          {}\nsimulated     {:.3} s\nmessages      produced {}, acked {}, consumed {}\n\
         leadership    {} leader changes, {} ISR changes\nnetwork       {} datagrams delivered\n",
        report.seed,
        report.sim_ms as f64 / 1000.0,
        s.produced,
        s.acked,
        s.consumed,
        s.leader_changes,
        s.isr_changes,
        report.messages_delivered
    );
    text.push_str(&format!(
        "latency       {}\n",
        latency_line(&report.availability.produce_latency)
    ));
    text.push_str(&outages_text(&report.history, &report.availability));
    text.push_str(&format!(
        "coverage      {}\n",
        coverage_line(&report.coverage)
    ));
    if report.violations.is_empty() {
        text.push_str("violations    none\n");
    } else {
        text.push_str(&format!("violations    {}\n", report.violations.len()));
        for v in &report.violations {
            let partition = v.partition.as_deref().unwrap_or("-");
            text.push_str(&format!("  {} on {partition}: {}\n", v.kind, v.message));
            if let Some(setting) = &v.permitted_by {
                text.push_str(&format!("    permitted by the configuration: {setting}\n"));
            }
            if let Some(bug) = &v.known_bug {
                text.push_str(&format!("    known bug of this protocol version: {bug}\n"));
            }
            if v.unexplained() {
                text.push_str(
                    "    NOT EXPLAINED: neither the configuration nor a known Kafka bug permits \
                     this; it is a bug in kafkasim's model (please report it with the \
                     reproduce line)\n",
                );
            }
            for line in evidence_lines(&report.history, v) {
                text.push_str(&format!("    {line}\n"));
            }
        }
        text.push_str(&explanation_text(report));
    }
    let verdict = if report.matched {
        "PASS (matches expect)"
    } else {
        "FAIL (does not match expect)"
    };
    text.push_str(&format!("expect        {expect}\nverdict       {verdict}\ntrace hash    {:016x}\nreproduce     {reproduce}\n", report.trace_hash));
    text
}

/// The `explanation` block: the first violation in plain words (`explain`), indented
/// under its heading.
fn explanation_text(report: &RunReport) -> String {
    let Some(first) = report.violations.first() else {
        return String::new();
    };
    let explanation = explain(&report.history, first);
    let mut text = String::from("explanation   (of the first violation)\n");
    for line in explanation.render().lines() {
        text.push_str(&format!("  {line}\n"));
    }
    text
}

/// The marks a run reached, e.g. `leader-change 2, follower-truncated 1`, or `no mark
/// reached`.
pub fn coverage_line(coverage: &Coverage) -> String {
    let reached: Vec<String> = coverage
        .reached()
        .map(|(mark, n)| format!("{mark} {n}"))
        .collect();
    if reached.is_empty() {
        "no mark reached".to_string()
    } else {
        reached.join(", ")
    }
}

/// `produce p50 12.3 ms, p99 450.1 ms, max 1502.0 ms (1800 acknowledged sends)`.
pub fn latency_line(latency: &Percentiles) -> String {
    match (latency.p50_us, latency.p99_us, latency.max_us) {
        (Some(p50), Some(p99), Some(max)) => format!(
            "produce p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} acknowledged sends)",
            us_to_ms(p50),
            us_to_ms(p99),
            us_to_ms(max),
            latency.count
        ),
        _ => "produce: no send acknowledged".to_string(),
    }
}

/// The `outages` line and one line per outage: partition, from-to, length, cause.
fn outages_text(history: &History, availability: &Availability) -> String {
    let outages = &availability.outages;
    if outages.is_empty() {
        return format!(
            "outages       none (no partition went {} ms without an acknowledgement)\n",
            crate::availability::MIN_OUTAGE_MS
        );
    }
    let mut text = format!(
        "outages       {} (>= {} ms without an acknowledgement while writes were outstanding)\n",
        outages.len(),
        crate::availability::MIN_OUTAGE_MS
    );
    for o in outages {
        let since = o
            .cause_event
            .and_then(|i| history.events.get(i))
            .map(|e| format!(" at {} ms", e.time.as_ms()))
            .unwrap_or_default();
        let open = if o.open {
            ", open at the workload's end"
        } else {
            ""
        };
        let span = format!("{}-{} ms", o.from.as_ms(), o.to.as_ms());
        text.push_str(&format!(
            "  {:<10} {span:>17} {:>8.3} s  {}{since} [{}{open}]\n",
            history.partition_name(o.partition),
            o.length_us() as f64 / 1e6,
            o.cause,
            o.kind
        ));
    }
    text
}
