//! Small SVG charts shared by the pages. Every chart is a picture of
//! numbers the page also writes as text (a table, a list or a caption),
//! so nothing is said by shape or colour alone (WCAG 1.1.1, 1.4.1).

use crate::lang::{decimal, Lang};
use maud::{html, Markup};

/// The lines' colours, in order (`.swatch.c0` … in the stylesheet).
pub const LINE_COLOURS: [&str; 6] = [
    "#1f5f8b", "#8a3b00", "#2e7d32", "#6b2a8a", "#4a4a4a", "#b00020",
];

/// One series over `labels` (a point per label; None leaves a gap) on a
/// fixed scale from `low` to `high`, each point marked and its value
/// written beside it. `label` is the chart's text alternative.
pub fn line(
    values: &[Option<f64>],
    labels: &[String],
    (low, high): (f64, f64),
    decimals: usize,
    label: &str,
    lang: Lang,
) -> Markup {
    let n = values.len().max(1);
    let (w, h, pad) = (400.0, 170.0, 34.0);
    let sx = |i: usize| {
        if n == 1 {
            w / 2.0
        } else {
            pad + i as f64 / (n - 1) as f64 * (w - 2.0 * pad)
        }
    };
    let span = (high - low).max(f64::EPSILON);
    let sy = |v: f64| h - 28.0 - (v - low) / span * (h - 48.0);
    let points: Vec<(f64, f64, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (sx(i), sy(v), v)))
        .collect();
    // Runs of consecutive points, so a hidden value is a gap, not a line.
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut last: Option<usize> = None;
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v {
            if last != Some(i.wrapping_sub(1)) || runs.is_empty() {
                runs.push(Vec::new());
            }
            runs.last_mut().expect("a run").push((sx(i), sy(*v)));
            last = Some(i);
        }
    }
    let every = (n / 6).max(1);
    html! {
        svg.chart.trend viewBox={ "0 0 400 " (h) } role="img" aria-label=(label) focusable="false" {
            rect x="0" y="0" width="400" height=(h) fill="#ffffff" {}
            line x1=(pad) x2=(w - pad) y1=(sy(low)) y2=(sy(low)) stroke="#4a4a4a" {}
            text x="2" y=(sy(high) + 4.0) font-size="11" fill="#1a1a1a" { (decimal(high, decimals.min(1), lang)) }
            text x="2" y=(sy(low) + 4.0) font-size="11" fill="#1a1a1a" { (decimal(low, decimals.min(1), lang)) }
            @for (i, l) in labels.iter().enumerate() {
                @if i % every == 0 || i + 1 == labels.len() {
                    text x=(format!("{:.1}", sx(i))) y=(h - 8.0) font-size="11" fill="#1a1a1a" text-anchor="middle" { (l) }
                }
            }
            @for run in &runs {
                @if run.len() > 1 {
                    polyline fill="none" stroke=(LINE_COLOURS[0]) stroke-width="2"
                        points=(run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ")) {}
                }
            }
            @for (x, y, v) in &points {
                circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="3.5" fill=(LINE_COLOURS[0]) {}
                @if n <= 8 {
                    text x=(format!("{x:.1}")) y=(format!("{:.1}", y - 8.0)) font-size="11" fill="#1a1a1a" text-anchor="middle" { (decimal(*v, decimals, lang)) }
                }
            }
        }
    }
}
