//! The self-contained HTML report of one run (`kafkasim run --report`): a space-time
//! diagram, every replica's log as it evolves, and the verdict, in one file that needs
//! no network (inline CSS, script and SVG).
//!
//! The page is `templates/report.html` with `report.css` and `report.js` inlined,
//! compiled into the binary (`include_str!`) so it works from any directory, rendered
//! with minijinja; the run's data goes in as
//! one JSON document ([`data::build`]) that the page's script reads.
//!
//! Architecture invariant: like [`crate::view`], this reads a finished run and writes
//! nothing; `cli` writes the file.

pub mod data;

use minijinja::value::Serde;
use minijinja::{Environment, Value, context};

use crate::harness::RunReport;
use crate::scenario::Scenario;

/// The page's templates: the markup, and the style and script it includes inline.
const TEMPLATES: [(&str, &str); 3] = [
    ("report.html", include_str!("../../templates/report.html")),
    ("report.css", include_str!("../../templates/report.css")),
    ("report.js", include_str!("../../templates/report.js")),
];

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
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    let workload = &page.scenario.workload;
    let data = data::build(
        page.report,
        &page.scenario.layout,
        workload.producers,
        workload.consumers,
    );
    let report = page.report;
    let stats = &report.stats;
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
    })
}
