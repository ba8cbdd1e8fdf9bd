//! The run report's two plots, in the spirit of Jepsen's: produce latency over time (one
//! dot per send, by outcome, log scale) and throughput over time (completions per
//! bucket), both with the faults as bands from start to end and the outages of each
//! partition as shaded rows under the plot. Static SVG ([`super::svg`]) from a
//! [`Timeline`]; the page's script only moves the current-step marker and turns a click
//! into a step.

use crate::availability::{FaultKind, SendOutcome};
use crate::html::svg::{Linear, Log, Svg, duration, num, ticks};
use crate::html::timeline::{Dot, FaultSpan, Throughput, Timeline};

/// Plot width in viewBox units.
pub const WIDTH: f64 = 1200.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 14.0;
/// One lane of fault bars above the plot.
const FAULT_LANE: f64 = 14.0;
const OUTAGE_ROW: f64 = 13.0;
const AXIS: f64 = 26.0;
const LATENCY_HEIGHT: f64 = 240.0;
const THROUGHPUT_HEIGHT: f64 = 150.0;

/// The two plots' markup.
pub struct Plots {
    /// `<svg id="latency-plot">`.
    pub latency: String,
    /// `<svg id="throughput-plot">`.
    pub throughput: String,
}

/// Draws both plots.
pub fn plots(t: &Timeline) -> Plots {
    Plots {
        latency: latency_plot(t),
        throughput: throughput_plot(t),
    }
}

fn x_scale(t: &Timeline) -> Linear {
    Linear {
        domain: (0.0, t.end_us.max(1) as f64),
        range: (LEFT, WIDTH - RIGHT),
    }
}

/// The attributes the page's script reads: the time axis, and what was drawn (the
/// self-test compares them with the elements it finds).
fn attributes(t: &Timeline, drawn: (&'static str, usize)) -> Vec<(&'static str, String)> {
    vec![
        ("data-t1", t.end_us.to_string()),
        ("data-x0", num(LEFT)),
        ("data-x1", num(WIDTH - RIGHT)),
        ("data-width", num(WIDTH)),
        (drawn.0, drawn.1.to_string()),
        ("data-faults", t.faults.len().to_string()),
        ("data-outages", t.outages.len().to_string()),
    ]
}

/// The fault kinds in lane order.
const FAULT_LANES: [FaultKind; 7] = FaultKind::ALL;

/// A glyph for a kind of fault.
fn glyph(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::Crash => "✕",
        FaultKind::PowerLoss => "⚡",
        FaultKind::Pause => "❚❚",
        FaultKind::Isolation => "◎",
        FaultKind::Partition => "✂",
        _ => "~",
    }
}

/// `✕ b3`: the glyph and a short name of the targets.
fn fault_label(text: &str, kind: FaultKind) -> String {
    let short = match kind {
        FaultKind::Partition => text.replace("partition ", ""),
        FaultKind::Network => text.replace("packet_loss", "loss"),
        _ => text
            .split_once(' ')
            .map_or(text, |(_, nodes)| nodes)
            .to_string(),
    };
    let short = short.replace("broker-", "b").replace("controller", "ctl");
    format!("{} {short}", glyph(kind))
}

/// The kinds of fault the run had, in lane order: one lane each above the plot.
fn fault_lanes(t: &Timeline) -> Vec<FaultKind> {
    FAULT_LANES
        .into_iter()
        .filter(|k| t.faults.iter().any(|f| f.kind == *k))
        .collect()
}

/// How far down the plot area starts: the fault lanes and a gap.
fn lanes_height(t: &Timeline) -> f64 {
    fault_lanes(t).len() as f64 * FAULT_LANE + 6.0
}

/// `crash broker-2 at 1000 ms, until 3000 ms (2 s)`.
fn fault_title(f: &FaultSpan) -> String {
    let end = if f.open {
        "still in effect at the end".to_string()
    } else {
        format!("until {} ms", f.to.as_ms())
    };
    let length = duration((f.to.0 - f.from.0) as f64);
    format!("{} at {} ms, {end} ({length})", f.text, f.from.as_ms())
}

/// The faults: a bar from start to end in the lane of its kind, labelled where the
/// label fits before the lane's next fault; a faint band over `area` (top, bottom) with
/// a line at its start for those that take nodes or links out (network spells, which
/// often last most of a run, keep to their lane).
fn fault_layer(svg: &mut Svg, t: &Timeline, x: &Linear, area: (f64, f64)) {
    let lanes = fault_lanes(t);
    for (row, kind) in lanes.iter().enumerate() {
        let y = row as f64 * FAULT_LANE + 2.0;
        svg.text(
            "row-label",
            (LEFT - 6.0, y + FAULT_LANE - 3.0),
            "end",
            kind.as_str(),
        );
        let in_lane: Vec<&FaultSpan> = t.faults.iter().filter(|f| f.kind == *kind).collect();
        for (i, f) in in_lane.iter().enumerate() {
            let (x0, x1) = (x.at(f.from.0 as f64), x.at(f.to.0 as f64));
            let class = format!("f-{}", kind.as_str());
            let title = fault_title(f);
            let bar = (x0, y + 1.0, x1 - x0, FAULT_LANE - 2.0);
            svg.rect(&format!("fault-bar {class}"), bar, Some(&title));
            if *kind != FaultKind::Network {
                svg.rect(
                    &format!("fault {class}"),
                    (x0, area.0, x1 - x0, area.1 - area.0),
                    Some(&title),
                );
                svg.line(&format!("fault-start {class}"), (x0, y), (x0, area.1));
            }
            let room = in_lane
                .get(i + 1)
                .map_or(WIDTH - RIGHT, |n| x.at(n.from.0 as f64))
                - x0;
            let label = fault_label(&f.text, *kind);
            let text = if label.chars().count() as f64 * 6.2 + 4.0 <= room {
                label
            } else if room >= 14.0 {
                glyph(*kind).to_string()
            } else {
                continue;
            };
            svg.text_titled(
                &format!("fault-label {class}"),
                (x0 + 3.0, y + FAULT_LANE - 3.0),
                "start",
                &text,
                Some(&title),
            );
        }
    }
}

/// One row per partition from `top`, its outages shaded; returns the rows' bottom.
fn outage_rows(svg: &mut Svg, t: &Timeline, x: &Linear, top: f64) -> f64 {
    for (p, name) in t.partitions.iter().enumerate() {
        let y = top + p as f64 * OUTAGE_ROW;
        svg.rect(
            "outage-lane",
            (LEFT, y + 1.0, WIDTH - RIGHT - LEFT, OUTAGE_ROW - 2.0),
            None,
        );
        svg.text("row-label", (LEFT - 6.0, y + OUTAGE_ROW - 3.0), "end", name);
        for o in t.outages.iter().filter(|o| o.partition.0 as usize == p) {
            let (x0, x1) = (x.at(o.from.0 as f64), x.at(o.to.0 as f64));
            let open = if o.open {
                ", open at the workload's end"
            } else {
                ""
            };
            let title = format!(
                "{name} outage {}-{} ms ({}): {} [{}{open}]",
                o.from.as_ms(),
                o.to.as_ms(),
                duration(o.length_us() as f64),
                o.cause,
                o.kind
            );
            let class = if o.open { "outage open" } else { "outage" };
            svg.rect(
                class,
                (x0, y + 1.0, x1 - x0, OUTAGE_ROW - 2.0),
                Some(&title),
            );
        }
    }
    top + t.partitions.len() as f64 * OUTAGE_ROW
}

/// Vertical grid lines over `area` and their labels under `label_y`, the finale's
/// start, and the current-step marker the script moves.
fn time_axis(svg: &mut Svg, t: &Timeline, x: &Linear, area: (f64, f64), label_y: f64) {
    for tick in ticks(0.0, t.end_us as f64, 12) {
        svg.line("grid", (x.at(tick), area.0), (x.at(tick), area.1));
        svg.text("tick", (x.at(tick), label_y), "middle", &duration(tick));
    }
    if t.workload_end_us > 0 && t.workload_end_us < t.end_us {
        let xe = x.at(t.workload_end_us as f64);
        svg.line("finale", (xe, area.0), (xe, area.1));
        svg.text(
            "tick finale-label",
            (xe + 3.0, area.0 + 10.0),
            "start",
            "finale",
        );
    }
    svg.line("plot-now", (-10.0, area.0), (-10.0, area.1));
}

/// The latency axis: from the power of ten at or below the fastest send (at least
/// 100 µs) to the one above the slowest.
fn latency_scale(dots: &[Dot], area: (f64, f64)) -> Log {
    let latencies = || dots.iter().filter_map(|d| d.latency_us);
    let low = latencies().min().unwrap_or(1000).max(100) as f64;
    let high = latencies().max().unwrap_or(1_000_000).max(1) as f64;
    let lo = 10f64.powf(low.log10().floor());
    let hi = 10f64.powf(high.log10().ceil()).max(lo * 10.0);
    Log {
        domain: (lo, hi),
        range: (area.1, area.0),
    }
}

/// The outcomes in drawing order (the rarer on top), with their class and name.
const OUTCOMES: [(SendOutcome, &str, &str); 4] = [
    (SendOutcome::Ok, "ok", "acknowledged"),
    (SendOutcome::Indeterminate, "info", "indeterminate"),
    (SendOutcome::Fail, "fail", "failed"),
    (SendOutcome::Pending, "pending", "never completed"),
];

/// The dots, one `<path>` per outcome: a zero-length segment per send, which round line
/// caps draw as a dot (four elements instead of thousands keep the page quick to open);
/// sends that never completed are short ticks in the row at `pending_y`.
fn dot_paths(svg: &mut Svg, dots: &[Dot], x: &Linear, y: &Log, pending_y: f64) {
    for (outcome, class, name) in OUTCOMES {
        let mut d = String::new();
        let mut n = 0;
        for dot in dots.iter().filter(|d| d.outcome == outcome) {
            let cx = num(x.at(dot.invoked_us as f64));
            match dot.latency_us {
                Some(us) => d.push_str(&format!("M{cx} {}h0", num(y.at(us as f64)))),
                None => d.push_str(&format!("M{cx} {}v8", num(pending_y - 4.0))),
            }
            n += 1;
        }
        if n > 0 {
            let title = format!("{name}: {n} sends drawn");
            svg.path(&format!("dots {class}"), &d, n, &title);
        }
    }
}

/// Produce latency over time.
fn latency_plot(t: &Timeline) -> String {
    let pending = t.dots.totals[3] > 0;
    let strip = if pending { 18.0 } else { 0.0 };
    let top = lanes_height(t);
    let area = (top + strip, top + strip + LATENCY_HEIGHT);
    let rows_bottom = area.1 + 6.0 + t.partitions.len() as f64 * OUTAGE_ROW;
    let height = rows_bottom + AXIS;
    let x = x_scale(t);
    let y = latency_scale(&t.dots.shown, area);
    let drawn = ("data-dots", t.dots.shown.len());
    let mut svg = Svg::new("latency-plot", WIDTH, height, &attributes(t, drawn));
    svg.rect(
        "plot-area",
        (LEFT, area.0, WIDTH - RIGHT - LEFT, area.1 - area.0),
        None,
    );
    for decade in y.decades() {
        svg.line("grid", (LEFT, y.at(decade)), (WIDTH - RIGHT, y.at(decade)));
        svg.text(
            "tick",
            (LEFT - 6.0, y.at(decade) + 4.0),
            "end",
            &duration(decade),
        );
    }
    time_axis(&mut svg, t, &x, (area.0, rows_bottom), height - 8.0);
    fault_layer(&mut svg, t, &x, (area.0 - strip, rows_bottom));
    if pending {
        let mid = top + strip / 2.0;
        svg.text("row-label", (LEFT - 6.0, mid + 4.0), "end", "pending");
        svg.line("grid", (LEFT, area.0 - 1.0), (WIDTH - RIGHT, area.0 - 1.0));
    }
    dot_paths(&mut svg, &t.dots.shown, &x, &y, top + strip / 2.0);
    outage_rows(&mut svg, t, &x, area.1 + 6.0);
    svg.finish()
}

/// Completions per bucket over time: acknowledged, with failed and indeterminate ones
/// stacked on top.
fn throughput_plot(t: &Timeline) -> String {
    let top = lanes_height(t);
    let area = (top, top + THROUGHPUT_HEIGHT);
    let rows_bottom = area.1 + 6.0 + t.partitions.len() as f64 * OUTAGE_ROW;
    let height = rows_bottom + AXIS;
    let x = x_scale(t);
    let tp = &t.throughput;
    let top = tp
        .ok
        .iter()
        .zip(&tp.not_ok)
        .map(|(a, b)| a + b)
        .max()
        .unwrap_or(0);
    let y = Linear {
        domain: (0.0, f64::from(top.max(1)) * 1.05),
        range: (area.1, area.0),
    };
    let drawn = tp.ok.iter().chain(&tp.not_ok).filter(|n| **n > 0).count();
    let mut svg = Svg::new(
        "throughput-plot",
        WIDTH,
        height,
        &attributes(t, ("data-bars", drawn)),
    );
    svg.rect(
        "plot-area",
        (LEFT, area.0, WIDTH - RIGHT - LEFT, area.1 - area.0),
        None,
    );
    for tick in ticks(0.0, y.domain.1, 4) {
        svg.line("grid", (LEFT, y.at(tick)), (WIDTH - RIGHT, y.at(tick)));
        svg.text(
            "tick",
            (LEFT - 6.0, y.at(tick) + 4.0),
            "end",
            &format!("{tick}"),
        );
    }
    let unit = format!("completions per {}", duration(tp.bucket_ms as f64 * 1000.0));
    svg.text("tick", (LEFT + 4.0, area.0 + 12.0), "start", &unit);
    time_axis(&mut svg, t, &x, (area.0, rows_bottom), height - 8.0);
    fault_layer(&mut svg, t, &x, (area.0, rows_bottom));
    bars(&mut svg, tp, &x, &y);
    outage_rows(&mut svg, t, &x, area.1 + 6.0);
    svg.finish()
}

/// One bar per bucket: acknowledged from the axis up, the others stacked on top.
fn bars(svg: &mut Svg, tp: &Throughput, x: &Linear, y: &Linear) {
    let base = y.at(0.0);
    let bucket_us = tp.bucket_ms as f64 * 1000.0;
    for (i, (ok, not_ok)) in tp.ok.iter().zip(&tp.not_ok).enumerate() {
        let x0 = x.at(i as f64 * bucket_us);
        let w = (x.at((i + 1) as f64 * bucket_us) - x0 - 0.4).max(0.5);
        let from_ms = i as u64 * tp.bucket_ms;
        let title = format!(
            "{from_ms}-{} ms: {ok} acknowledged, {not_ok} failed or indeterminate",
            from_ms + tp.bucket_ms
        );
        let (ok, not_ok) = (f64::from(*ok), f64::from(*not_ok));
        if ok > 0.0 {
            svg.rect("bar ok", (x0, y.at(ok), w, base - y.at(ok)), Some(&title));
        }
        if not_ok > 0.0 {
            let h = y.at(0.0) - y.at(not_ok);
            svg.rect("bar not-ok", (x0, y.at(ok) - h, w, h), Some(&title));
        }
    }
}

#[cfg(test)]
mod tests;
