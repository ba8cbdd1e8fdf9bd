//! Static SVG of [`Histogram`]s for the exploration page: one bar per bucket on a
//! logarithmic duration axis (the buckets' own bounds, [`bounds`]), several histograms
//! stacked by series (outage lengths by fault kind), with marker lines (p50, p99, max).

use crate::availability::Histogram;
use crate::availability::histogram::bounds;
use crate::html::svg::{Linear, Log, Svg, duration, num, ticks};

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 22.0;
const PLOT: f64 = 200.0;
const HEIGHT: f64 = TOP + PLOT + 30.0;

/// One stacked layer: its CSS class (`f-crash`), its name, its values.
pub struct Series<'a> {
    /// The bars' class.
    pub class: String,
    /// The name tooltips use.
    pub name: String,
    /// The values.
    pub histogram: &'a Histogram,
}

/// A histogram plot: `id`, what the counts are (`sends`, `outages`), the stacked series
/// and the marker lines `(label, µs)`.
pub struct HistogramPlot<'a> {
    /// The `<svg>` id.
    pub id: &'a str,
    /// What one count is, plural.
    pub unit: &'a str,
    /// Bottom to top.
    pub series: Vec<Series<'a>>,
    /// Vertical lines with a label, at a duration.
    pub markers: Vec<(String, u64)>,
}

/// Per bucket index (ascending), the count of each series.
fn stacks(series: &[Series]) -> Vec<(u16, Vec<u64>)> {
    let mut indices: Vec<u16> = series
        .iter()
        .flat_map(|s| s.histogram.buckets.iter().map(|(i, _)| *i))
        .collect();
    indices.sort_unstable();
    indices.dedup();
    indices
        .into_iter()
        .map(|index| {
            let counts = series
                .iter()
                .map(|s| {
                    let b = &s.histogram.buckets;
                    b.binary_search_by_key(&index, |(i, _)| *i)
                        .map_or(0, |at| b[at].1)
                })
                .collect();
            (index, counts)
        })
        .collect()
}

/// The duration axis: whole decades around every bucket (at least 1 µs).
fn x_scale(columns: &[(u16, Vec<u64>)]) -> Log {
    let low = columns.first().map_or(1000, |(i, _)| bounds(*i).0).max(1) as f64;
    let high = columns
        .last()
        .map_or(1_000_000, |(i, _)| bounds(*i).1)
        .max(2) as f64;
    let lo = 10f64.powf(low.log10().floor());
    let hi = 10f64.powf(high.log10().ceil()).max(lo * 10.0);
    Log {
        domain: (lo, hi),
        range: (LEFT, WIDTH - RIGHT),
    }
}

/// The plot's markup; `data-bars` is the number of bars drawn.
pub fn histogram_svg(plot: &HistogramPlot) -> String {
    let columns = stacks(&plot.series);
    let x = x_scale(&columns);
    let top = columns
        .iter()
        .map(|(_, c)| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0);
    let y = Linear {
        domain: (0.0, top.max(1) as f64 * 1.05),
        range: (TOP + PLOT, TOP),
    };
    let drawn: usize = columns
        .iter()
        .map(|(_, c)| c.iter().filter(|n| **n > 0).count())
        .sum();
    let attributes = [("data-bars", drawn.to_string())];
    let mut svg = Svg::new(plot.id, WIDTH, HEIGHT, &attributes);
    svg.rect("plot-area", (LEFT, TOP, WIDTH - LEFT - RIGHT, PLOT), None);
    axes(&mut svg, &x, &y);
    for (index, counts) in &columns {
        let (low, high) = bounds(*index);
        let (x0, x1) = (x.at(low as f64), x.at(high as f64));
        let title = bucket_title(plot, (low, high), counts);
        let mut base = 0u64;
        for (series, n) in plot.series.iter().zip(counts) {
            if *n == 0 {
                continue;
            }
            let (y0, y1) = (y.at((base + n) as f64), y.at(base as f64));
            let class = format!("bar {}", series.class);
            svg.rect(
                &class,
                (x0, y0, (x1 - x0 - 0.3).max(0.8), y1 - y0),
                Some(&title),
            );
            base += n;
        }
    }
    for (i, (label, us)) in plot.markers.iter().enumerate() {
        let at = x.at(*us as f64);
        svg.line("marker", (at, TOP), (at, TOP + PLOT));
        let text = format!("{label} {}", duration(*us as f64));
        let anchor = if at > WIDTH - 160.0 { "end" } else { "start" };
        let dx = if anchor == "end" { -3.0 } else { 3.0 };
        svg.text(
            "marker-label",
            (at + dx, TOP + 12.0 + 12.0 * i as f64),
            anchor,
            &text,
        );
    }
    svg.text("tick", (LEFT, TOP - 8.0), "start", plot.unit);
    svg.finish()
}

/// `1.2 s to 1.35 s: 14 outages (crash 10, pause 4)`.
fn bucket_title(plot: &HistogramPlot, (low, high): (u64, u64), counts: &[u64]) -> String {
    let total: u64 = counts.iter().sum();
    let parts: Vec<String> = plot
        .series
        .iter()
        .zip(counts)
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{} {n}", s.name))
        .collect();
    let by = if plot.series.len() > 1 {
        format!(" ({})", parts.join(", "))
    } else {
        String::new()
    };
    let range = format!("{} to {}", duration(low as f64), duration(high as f64));
    format!("{range}: {total} {}{by}", plot.unit)
}

/// Grid and labels: every 1, 2 and 5 of each decade on x, round counts on y.
fn axes(svg: &mut Svg, x: &Log, y: &Linear) {
    for decade in x.decades() {
        for m in [1.0, 2.0, 5.0] {
            let v = decade * m;
            if v > x.domain.1 {
                continue;
            }
            let class = if m == 1.0 { "grid major" } else { "grid" };
            svg.line(class, (x.at(v), TOP), (x.at(v), TOP + PLOT));
            svg.text("tick", (x.at(v), TOP + PLOT + 16.0), "middle", &duration(v));
        }
    }
    for tick in ticks(0.0, y.domain.1, 5) {
        svg.line("grid", (LEFT, y.at(tick)), (WIDTH - RIGHT, y.at(tick)));
        svg.text("tick", (LEFT - 6.0, y.at(tick) + 4.0), "end", &num(tick));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(values_ms: &[u64]) -> Histogram {
        let mut h = Histogram::default();
        for ms in values_ms {
            h.record(ms * 1000);
        }
        h
    }

    fn count(text: &str, needle: &str) -> usize {
        text.matches(needle).count()
    }

    #[test]
    fn one_bar_per_bucket_and_series_stacked_with_markers() {
        let crash = histogram(&[1200, 1210, 1250, 3000]);
        let pause = histogram(&[1220, 800]);
        let plot = HistogramPlot {
            id: "outage-histogram",
            unit: "outages",
            series: vec![
                Series {
                    class: "f-crash".into(),
                    name: "crash".into(),
                    histogram: &crash,
                },
                Series {
                    class: "f-pause".into(),
                    name: "pause".into(),
                    histogram: &pause,
                },
            ],
            markers: vec![("max".into(), 3_000_000)],
        };
        let columns = stacks(&plot.series);
        // 1200, 1210, 1220, 1250 ms share the bucket [1179.6, 1310.7) ms.
        assert_eq!(columns.len(), 3, "{columns:?}");
        assert_eq!(columns[1].1, vec![3, 1]);
        let svg = histogram_svg(&plot);
        assert!(svg.contains("data-bars=\"4\""), "{svg}");
        assert_eq!(count(&svg, "<rect class=\"bar f-crash\""), 2);
        assert_eq!(count(&svg, "<rect class=\"bar f-pause\""), 2);
        assert!(
            svg.contains("4 outages (crash 3, pause 1)</title>"),
            "{svg}"
        );
        assert!(svg.contains(">max 3 s</text>"));
        for label in [">100 ms<", ">1 s<", ">2 s<", ">5 s<", ">10 s<"] {
            assert!(svg.contains(label), "{label}");
        }
    }

    #[test]
    fn an_empty_histogram_draws_an_empty_plot() {
        let empty = Histogram::default();
        let plot = HistogramPlot {
            id: "h",
            unit: "sends",
            series: vec![Series {
                class: "ok".into(),
                name: "ok".into(),
                histogram: &empty,
            }],
            markers: Vec::new(),
        };
        let svg = histogram_svg(&plot);
        assert!(svg.contains("data-bars=\"0\"") && svg.ends_with("</svg>"));
    }
}
