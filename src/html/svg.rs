//! Static SVG for the reports' plots, written on the Rust side so a page needs no
//! plotting library and its content can be tested without a browser: a string builder
//! for elements, linear and logarithmic scales, "nice" ticks and readable durations.
//! Coordinates are viewBox units; a plot is drawn `width` units wide and scaled to its
//! box by the browser.

use std::fmt::Write;

/// `&`, `<`, `>` and `"` escaped, for text and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate with at most one decimal (`12`, `12.5`), to keep pages small.
pub fn num(v: f64) -> String {
    let tenths = (v * 10.0).round() + 0.0; // no `-0`
    if tenths % 10.0 == 0.0 {
        format!("{:.0}", tenths / 10.0)
    } else {
        format!("{:.1}", tenths / 10.0)
    }
}

/// A duration for people: `850 µs`, `12 ms`, `1.5 s`, `2 min`.
pub fn duration(us: f64) -> String {
    let trim = |v: f64, unit: &str| {
        let text = if v >= 100.0 || v.fract() == 0.0 {
            format!("{v:.0}")
        } else if v >= 10.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.2}")
        };
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        };
        format!("{text} {unit}")
    };
    match us {
        0.0 => "0".to_string(),
        u if u < 1000.0 => trim(u, "µs"),
        u if u < 1_000_000.0 => trim(u / 1000.0, "ms"),
        u if u < 120_000_000.0 => trim(u / 1_000_000.0, "s"),
        u => trim(u / 60_000_000.0, "min"),
    }
}

/// The smallest of 1, 2 or 5 times a power of ten that cuts `span` into at most
/// `max_ticks` steps.
pub fn nice_step(span: f64, max_ticks: usize) -> f64 {
    let rough = (span / max_ticks.max(1) as f64).max(f64::MIN_POSITIVE);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * power)
}

/// Multiples of [`nice_step`] from 0 (or above `lo`) up to `hi`.
pub fn ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<f64> {
    let step = nice_step(hi - lo, max_ticks);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Maps `domain` onto `range` linearly.
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    /// Values.
    pub domain: (f64, f64),
    /// Coordinates.
    pub range: (f64, f64),
}

impl Linear {
    /// The coordinate of `v` (the range's start for an empty domain).
    pub fn at(&self, v: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if d1 == d0 {
            return r0;
        }
        r0 + (v - d0) / (d1 - d0) * (r1 - r0)
    }
}

/// Maps a positive `domain` onto `range` by the logarithm; values below the domain go
/// to its start.
#[derive(Clone, Copy, Debug)]
pub struct Log {
    /// Values, both positive.
    pub domain: (f64, f64),
    /// Coordinates.
    pub range: (f64, f64),
}

impl Log {
    /// The coordinate of `v`.
    pub fn at(&self, v: f64) -> f64 {
        let linear = Linear {
            domain: (self.domain.0.log10(), self.domain.1.log10()),
            range: self.range,
        };
        linear.at(v.max(self.domain.0).log10())
    }

    /// The powers of ten from the domain's start to its end.
    pub fn decades(&self) -> Vec<f64> {
        let (lo, hi) = (self.domain.0.log10().ceil(), self.domain.1.log10().floor());
        (lo as i32..=hi as i32).map(|e| 10f64.powi(e)).collect()
    }
}

/// One SVG element's markup, built up as a string.
pub struct Svg {
    out: String,
}

impl Svg {
    /// An `<svg>` `width` × `height` units, drawn at the full width of its box, with
    /// `id` and extra attributes (`data-*`, already escaped values).
    pub fn new(id: &str, width: f64, height: f64, attributes: &[(&str, String)]) -> Svg {
        let mut out = format!(
            "<svg id=\"{id}\" class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" width=\"100%\"",
            num(width),
            num(height)
        );
        for (name, value) in attributes {
            let _ = write!(out, " {name}=\"{value}\"");
        }
        out.push('>');
        Svg { out }
    }

    /// A rectangle, with a tooltip when `title` is given.
    pub fn rect(&mut self, class: &str, xywh: (f64, f64, f64, f64), title: Option<&str>) {
        let (x, y, w, h) = xywh;
        let _ = write!(
            self.out,
            "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
            num(x),
            num(y),
            num(w.max(0.5)),
            num(h.max(0.0))
        );
        self.close("rect", title);
    }

    /// A line from `(x1, y1)` to `(x2, y2)`.
    pub fn line(&mut self, class: &str, from: (f64, f64), to: (f64, f64)) {
        let _ = write!(
            self.out,
            "<line class=\"{class}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            num(from.0),
            num(from.1),
            num(to.0),
            num(to.1)
        );
    }

    /// A path `d` standing for `n` things (`data-n`), with a tooltip.
    pub fn path(&mut self, class: &str, d: &str, n: usize, title: &str) {
        let _ = write!(
            self.out,
            "<path class=\"{class}\" data-n=\"{n}\" d=\"{d}\"><title>{}</title></path>",
            esc(title)
        );
    }

    /// Text at `(x, y)`; `anchor` is `start`, `middle` or `end`.
    pub fn text(&mut self, class: &str, at: (f64, f64), anchor: &str, text: &str) {
        self.text_titled(class, at, anchor, text, None);
    }

    /// Text with a tooltip.
    pub fn text_titled(
        &mut self,
        class: &str,
        at: (f64, f64),
        anchor: &str,
        text: &str,
        title: Option<&str>,
    ) {
        let _ = write!(
            self.out,
            "<text class=\"{class}\" x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{}",
            num(at.0),
            num(at.1),
            esc(text)
        );
        if let Some(title) = title {
            let _ = write!(self.out, "<title>{}</title>", esc(title));
        }
        self.out.push_str("</text>");
    }

    fn close(&mut self, tag: &str, title: Option<&str>) {
        match title {
            Some(title) => {
                let _ = write!(self.out, "><title>{}</title></{tag}>", esc(title));
            }
            None => self.out.push_str("/>"),
        }
    }

    /// The markup.
    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_durations_read_well() {
        assert_eq!(
            (num(12.0), num(12.46), num(-0.04), num(3.06)),
            ("12".into(), "12.5".into(), "0".into(), "3.1".into())
        );
        let d = |us: f64| duration(us);
        assert_eq!(d(0.0), "0");
        assert_eq!(d(850.0), "850 µs");
        assert_eq!(d(1000.0), "1 ms");
        assert_eq!(d(12_300.0), "12.3 ms");
        assert_eq!(d(250_000.0), "250 ms");
        assert_eq!(d(1_500_000.0), "1.5 s");
        assert_eq!(d(2_787_000.0), "2.79 s");
        assert_eq!(d(180_000_000.0), "3 min");
        assert_eq!(esc("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }

    #[test]
    fn ticks_are_round_and_within_the_span() {
        assert_eq!(nice_step(21_300.0, 10), 5000.0);
        assert_eq!(nice_step(1.0, 10), 0.1);
        assert_eq!(nice_step(7.0, 7), 1.0);
        assert_eq!(
            ticks(0.0, 21_300.0, 10),
            vec![0.0, 5000.0, 10_000.0, 15_000.0, 20_000.0]
        );
        assert_eq!(ticks(3.0, 9.0, 3), vec![4.0, 6.0, 8.0]);
    }

    #[test]
    fn scales_map_their_domain_onto_their_range() {
        let x = Linear {
            domain: (0.0, 100.0),
            range: (50.0, 250.0),
        };
        assert_eq!((x.at(0.0), x.at(50.0), x.at(100.0)), (50.0, 150.0, 250.0));
        let y = Log {
            domain: (1000.0, 1_000_000.0),
            range: (300.0, 0.0),
        };
        assert_eq!((y.at(1000.0), y.at(1_000_000.0)), (300.0, 0.0));
        assert!((y.at(10_000.0) - 200.0).abs() < 1e-9);
        assert_eq!(y.at(1.0), 300.0, "below the domain: its start");
        assert_eq!(y.decades(), vec![1000.0, 10_000.0, 100_000.0, 1_000_000.0]);
    }

    #[test]
    fn elements_are_escaped_and_closed() {
        let mut svg = Svg::new("p", 100.0, 50.0, &[("data-dots", "2".into())]);
        svg.rect("band", (1.0, 2.0, 3.0, 4.0), Some("crash <b>"));
        svg.path("dots ok", "M5 6.3h0", 1, "1 <send>");
        svg.text("label", (0.0, 9.0), "end", "a&b");
        let text = svg.finish();
        assert!(text.starts_with("<svg id=\"p\" class=\"plot\""), "{text}");
        assert!(text.contains("viewBox=\"0 0 100 50\" width=\"100%\" data-dots=\"2\">"));
        assert!(
            text.contains("<title>crash &lt;b&gt;</title></rect>"),
            "{text}"
        );
        assert!(text.contains(
            "<path class=\"dots ok\" data-n=\"1\" d=\"M5 6.3h0\"><title>1 &lt;send&gt;</title></path>"
        ));
        assert!(text.contains(">a&amp;b</text></svg>"), "{text}");
    }
}
