//! The one-page summary of an exploration (`kafkasim explore ... --report`): the verdict
//! over the seed range, violations by kind with the seeds that found each, histograms of
//! produce latency and outage length (merged from the seeds' histograms), the time to
//! recover per fault kind, the coverage marks, and every failing seed with the line that
//! replays it. `templates/explore.html`, compiled in like the run report; it reads only
//! the [`Exploration`] (what `explore --json` writes).

use std::collections::BTreeMap;

use minijinja::value::Serde;
use minijinja::{Value, context};

use crate::availability::{FaultKind, Histogram};
use crate::coverage::Mark;
use crate::explore::availability::RECOVERY_KINDS;
use crate::explore::summary::Exploration;
use crate::html::histograms::{HistogramPlot, Series, histogram_svg};
use crate::html::svg::duration;
use crate::html::{environment, markup};

/// Most failing seeds listed; `explore --json` has them all.
pub const FAILURES_LISTED_MAX: usize = 500;
/// Most seeds named per violation kind.
pub const SEEDS_NAMED_MAX: usize = 30;

/// The seeds' histograms merged: produce latency, and outage lengths per fault kind.
fn merged(e: &Exploration) -> (Histogram, BTreeMap<String, Histogram>) {
    let mut latency = Histogram::default();
    let mut outages: BTreeMap<String, Histogram> = BTreeMap::new();
    for seed in &e.seeds {
        latency.merge(&seed.availability.produce_latency);
        for (kind, h) in &seed.availability.outage_lengths {
            outages.entry(kind.clone()).or_default().merge(h);
        }
    }
    (latency, outages)
}

/// The fault kinds in report order: the five always listed, then `network` and `other`.
fn kinds_in_order() -> impl Iterator<Item = FaultKind> {
    RECOVERY_KINDS
        .into_iter()
        .chain([FaultKind::Network, FaultKind::Other])
}

fn latency_plot(latency: &Histogram) -> String {
    let markers = [("p50", 50.0), ("p99", 99.0)]
        .into_iter()
        .filter_map(|(label, p)| Some((label.to_string(), latency.percentile(p)?)))
        .chain((!latency.is_empty()).then(|| ("max".to_string(), latency.max_us)))
        .collect();
    histogram_svg(&HistogramPlot {
        id: "latency-histogram",
        unit: "acknowledged sends",
        series: vec![Series {
            class: "ok".into(),
            name: "acknowledged".into(),
            histogram: latency,
        }],
        markers,
    })
}

fn outage_plot(outages: &BTreeMap<String, Histogram>) -> String {
    let series = kinds_in_order()
        .filter_map(|kind| {
            let h = outages.get(kind.as_str())?;
            Some(Series {
                class: format!("f-{}", kind.as_str()),
                name: kind.as_str().to_string(),
                histogram: h,
            })
        })
        .collect();
    let longest = outages.values().map(|h| h.max_us).max().filter(|m| *m > 0);
    histogram_svg(&HistogramPlot {
        id: "outage-histogram",
        unit: "outages",
        series,
        markers: longest
            .map(|m| ("longest".to_string(), m))
            .into_iter()
            .collect(),
    })
}

/// Per violation kind: the seeds that found it, the first few named.
fn kinds(e: &Exploration) -> Vec<Value> {
    let most = e
        .summary
        .by_kind
        .values()
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    e.summary
        .by_kind
        .iter()
        .map(|(kind, n)| {
            let seeds: Vec<String> = e
                .seeds
                .iter()
                .filter(|s| s.violations.contains(kind))
                .take(SEEDS_NAMED_MAX)
                .map(|s| s.seed.to_string())
                .collect();
            context! {
                kind => kind,
                seeds => n,
                percent => format!("{:.1}", *n as f64 * 100.0 / e.summary.seeds_run.max(1) as f64),
                width => format!("{:.1}", *n as f64 * 100.0 / most as f64),
                named => seeds.join(", "),
                more => n.saturating_sub(seeds.len() as u64),
            }
        })
        .collect()
}

fn recovery(e: &Exploration) -> Vec<Value> {
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |ms| duration(ms * 1000.0));
    kinds_in_order()
        .filter_map(|kind| {
            let r = e.summary.availability.recovery_ms.get(kind.as_str())?;
            Some(context! {
                kind => kind.as_str(),
                outages => r.outages,
                p50 => ms(r.p50),
                max => ms(r.max),
            })
        })
        .collect()
}

fn coverage(e: &Exploration) -> Vec<Value> {
    Mark::ALL
        .into_iter()
        .filter_map(|mark| {
            let t = e.summary.coverage.get(mark.as_str())?;
            let status = match (&t.possible, t.seeds) {
                (None, 0) => "impossible",
                (Some(_), 0) => "unreached",
                _ => "reached",
            };
            Some(context! {
                mark => mark.as_str(),
                count => t.count,
                seeds => t.seeds,
                possible => &t.possible,
                status => status,
            })
        })
        .collect()
}

/// `kafkasim explore FILE --seeds A..B [--shard K/N]`, as the summary describes it.
pub fn command_line(e: &Exploration) -> String {
    let s = &e.summary;
    let file = if s.scenario_file.is_empty() {
        String::new()
    } else {
        format!(" {}", s.scenario_file)
    };
    let shard = if s.shard == "1/1" {
        String::new()
    } else {
        format!(" --shard {}", s.shard)
    };
    let shrink = if s.shrunk.is_some() { " --shrink" } else { "" };
    format!("kafkasim explore{file} --seeds {}{shard}{shrink}", s.seeds)
}

/// The page's HTML.
pub fn render(e: &Exploration) -> Result<String, minijinja::Error> {
    let env = environment()?;
    let s = &e.summary;
    let (latency, outages) = merged(e);
    let a = &s.availability;
    let l = &a.produce_latency_ms;
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |ms| duration(ms * 1000.0));
    let failures = &s.failures[..s.failures.len().min(FAILURES_LISTED_MAX)];
    env.get_template("explore.html")?.render(context! {
        s => Value::from(Serde(s)),
        command => command_line(e),
        passed => e.all_passed(),
        sim_wall => format!("{:.1} simulated s in {:.2} wall s ({:.0}x real time)", s.sim_s, s.wall_s, s.sim_to_wall_total),
        kinds => kinds(e),
        latency => context! { count => l.count, p50 => ms(l.p50), p99 => ms(l.p99), max => ms(l.max) },
        latency_plot => markup(latency_plot(&latency)),
        outage_plot => markup(outage_plot(&outages)),
        worst => a.worst_outage.as_ref().map(|w| context! {
            seed => w.seed,
            partition => &w.outage.partition,
            from_ms => w.outage.from_ms,
            to_ms => w.outage.to_ms,
            length => duration(w.outage.length_ms as f64 * 1000.0),
            cause => &w.outage.cause,
            kind => &w.outage.kind,
        }),
        recovery => recovery(e),
        coverage => coverage(e),
        failures => Value::from(Serde(failures)),
        failures_more => s.failures.len() - failures.len(),
    })
}

#[cfg(test)]
mod tests;
