//! The self-contained HTML pages: the report of one run (`kafkasim run --report`: the
//! verdict, produce latency and throughput plots, a space-time diagram, every replica's
//! log as it evolves) and the summary of an exploration ([`explore`]), each one file
//! that needs no network (inline CSS, script and SVG).
//!
//! The run page is `templates/report.html` with `report.css`, `report.js` and the plots'
//! `report-plots.html`/`.css` inlined, compiled into the binary (`include_str!`) so it
//! works from any directory, rendered with minijinja; the run's data goes in as one JSON
//! document ([`data::build`]) that the page's script reads, and the plots as static SVG
//! ([`plots`], from a [`timeline::Timeline`]; [`svg`] has the drawing helpers).
//!
//! Architecture invariant: like [`crate::view`], this reads a finished run and writes
//! nothing; `cli` writes the file.

pub mod data;
pub mod explore;
pub mod histograms;
pub mod plots;
pub mod svg;
pub mod timeline;

use minijinja::value::Serde;
use minijinja::{Environment, Value, context};

use crate::harness::RunReport;
use crate::scenario::Scenario;
use timeline::Timeline;

/// The pages' templates: the markup, and the style and script they include inline.
const TEMPLATES: [(&str, &str); 6] = [
    ("report.html", include_str!("../../templates/report.html")),
    ("report.css", include_str!("../../templates/report.css")),
    ("report.js", include_str!("../../templates/report.js")),
    (
        "report-plots.html",
        include_str!("../../templates/report-plots.html"),
    ),
    (
        "report-plots.css",
        include_str!("../../templates/report-plots.css"),
    ),
    ("explore.html", include_str!("../../templates/explore.html")),
];

/// An environment with every template of the pages.
pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
}

/// SVG markup for a template, not escaped again.
pub fn markup(svg: String) -> Value {
    Value::from_safe_string(svg)
}

/// Everything a report shows.
pub struct Page<'a> {
    /// The scenario that ran.
    pub scenario: &'a Scenario,
    /// What the run produced.
    pub report: &'a RunReport,
    /// `kafkasim run <file> --seed N`.
    pub reproduce: &'a str,
    /// The scenario's `expect`, as text.
    pub expect: &'a str,
}

/// The HTML text of the report.
pub fn render(page: &Page) -> Result<String, minijinja::Error> {
    let env = environment()?;
    let workload = &page.scenario.workload;
    let data = data::build(
        page.report,
        &page.scenario.layout,
        workload.producers,
        workload.consumers,
    );
    let report = page.report;
    let stats = &report.stats;
    let timeline = Timeline::of(&report.history, &report.availability);
    let drawn = plots::plots(&timeline);
    env.get_template("report.html")?.render(context! {
        scenario => &page.scenario.name,
        description => &page.scenario.description,
        seed => report.seed,
        reproduce => page.reproduce,
        expect => page.expect,
        matched => report.matched,
        trace_hash => format!("{:016x}", report.trace_hash),
        sim_s => format!("{:.3}", report.sim_ms as f64 / 1000.0),
        produced => stats.produced,
        acked => stats.acked,
        consumed => stats.consumed,
        leader_changes => stats.leader_changes,
        isr_changes => stats.isr_changes,
        violation_total => report.violations.len(),
        violations => Value::from(Serde(&data["violations"])),
        violation_counts => Value::from(Serde(&data["violation_counts"])),
        data => Value::from(Serde(&data)),
        latency_plot => markup(drawn.latency),
        throughput_plot => markup(drawn.throughput),
        plot => plot_facts(&timeline),
    })
}

/// The figures the plots' legends state: sends per outcome and how many are drawn,
/// the throughput bucket, faults and outages.
fn plot_facts(t: &Timeline) -> Value {
    let [ok, fail, info, pending] = t.dots.totals;
    context! {
        ok => ok,
        fail => fail,
        info => info,
        pending => pending,
        ok_shown => t.dots.ok_shown,
        not_ok_shown => t.dots.not_ok_shown,
        not_ok => fail + info + pending,
        dots_max => timeline::DOTS_MAX,
        bucket => svg::duration(t.throughput.bucket_ms as f64 * 1000.0),
        faults => t.faults.len(),
        outages => t.outages.len(),
    }
}
