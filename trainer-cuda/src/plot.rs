//! SVG line charts (plotters): schedules, range-test curves, training curves.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;

use crate::atomic::write_atomic;

/// One named line on a chart.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// `(x, y)` points in drawing order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Vertical bars `(x, low, high)` in the line's colour (e.g. the min-max over seeds).
    pub spread: Vec<(f64, f64, f64)>,
    /// Draw every point as a dot too (e.g. each evaluation of a training curve).
    pub dots: bool,
    /// Palette index (lines of one family share a colour); default: the series' index.
    pub color: Option<usize>,
    /// Dashed-looking thin line (targets and other reference levels).
    pub thin: bool,
}

/// A point to highlight (e.g. a learning-rate suggestion).
#[derive(Clone, Debug)]
pub struct Marker {
    /// Legend text.
    pub name: String,
    /// Position.
    pub at: (f64, f64),
}

/// A line chart with one y axis.
#[derive(Clone, Debug, Default)]
pub struct Chart {
    /// Caption above the plot area.
    pub title: String,
    /// x-axis description.
    pub x_label: String,
    /// y-axis description.
    pub y_label: String,
    /// Logarithmic x axis (all x must be > 0).
    pub log_x: bool,
    /// Logarithmic y axis (all y must be > 0).
    pub log_y: bool,
    /// The lines.
    pub series: Vec<Series>,
    /// Highlighted points.
    pub markers: Vec<Marker>,
    /// Lowest y shown (points below are left out): puts the axis on the region where
    /// the lines differ.
    pub y_floor: Option<f64>,
    /// The legend in a column right of the plot, never over the data.
    pub legend_outside: bool,
    /// Where a logarithmic x axis puts its labelled ticks (e.g. the budgets of a ladder);
    /// empty: plotters chooses.
    pub x_ticks: Vec<f64>,
}

/// Width of the legend column of a chart with `legend_outside`.
const LEGEND_WIDTH: u32 = 250;

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

fn usable(v: f64, log: bool) -> bool {
    v.is_finite() && (!log || v > 0.0)
}

fn padded_range(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if log {
        if lo == hi {
            (lo / 2.0, hi * 2.0)
        } else {
            (lo, hi)
        }
    } else if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        (lo - pad, hi + pad)
    } else {
        let pad = (hi - lo) * 0.03;
        (lo - pad, hi + pad)
    }
}

impl Chart {
    fn bounds(&self) -> Option<((f64, f64), (f64, f64))> {
        let pts = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .chain(
                self.series
                    .iter()
                    .flat_map(|s| s.spread.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)])),
            )
            .chain(self.markers.iter().map(|m| m.at))
            .filter(|&(x, y)| usable(x, self.log_x) && usable(y, self.log_y))
            .filter(|&(_, y)| self.y_floor.is_none_or(|f| y >= f));
        let mut b: Option<((f64, f64), (f64, f64))> = None;
        for (x, y) in pts {
            b = Some(match b {
                None => ((x, x), (y, y)),
                Some(((x0, x1), (y0, y1))) => ((x0.min(x), x1.max(x)), (y0.min(y), y1.max(y))),
            });
        }
        b.map(|((x0, x1), (y0, y1))| {
            let (lo, hi) = padded_range(y0, y1, self.log_y);
            (
                padded_range(x0, x1, self.log_x),
                (self.y_floor.map_or(lo, |f| f.max(lo)), hi),
            )
        })
    }

    /// Renders the chart to an SVG string.
    ///
    /// # Errors
    /// Fails when there is no finite point to draw.
    pub fn to_svg(&self, width: u32, height: u32) -> Result<String> {
        let ((x0, x1), (y0, y1)) = self
            .bounds()
            .ok_or_else(|| anyhow!("nothing to plot for '{}': no finite points", self.title))?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            root.fill(&WHITE).map_err(plot_err)?;
            // The title spans the whole width (legend column included), so a long one is
            // not cut at the plot's edges.
            let body = root
                .titled(&self.title, ("sans-serif", 18))
                .map_err(plot_err)?;
            let (plot, legend) = if self.legend_outside && width > 2 * LEGEND_WIDTH {
                let (p, l) = body.split_horizontally(width - LEGEND_WIDTH);
                (p, Some(l))
            } else {
                (body.clone(), None)
            };
            if let Some(area) = &legend {
                self.draw_legend(area)?;
            }
            let mut builder = ChartBuilder::on(&plot);
            builder
                .margin(12)
                .x_label_area_size(42)
                .y_label_area_size(72);
            match (self.log_x, self.log_y) {
                (false, false) => {
                    let chart = builder
                        .build_cartesian_2d(x0..x1, y0..y1)
                        .map_err(plot_err)?;
                    self.draw_into(chart)?;
                }
                (true, false) if !self.x_ticks.is_empty() => {
                    let mut ticks: Vec<f64> = self
                        .x_ticks
                        .iter()
                        .copied()
                        .filter(|t| (x0..=x1).contains(t))
                        .collect();
                    ticks.sort_by(f64::total_cmp);
                    ticks.dedup();
                    let chart = builder
                        .build_cartesian_2d((x0..x1).log_scale().with_key_points(ticks), y0..y1)
                        .map_err(plot_err)?;
                    self.draw_into(chart)?;
                }
                (true, false) => {
                    let chart = builder
                        .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                        .map_err(plot_err)?;
                    self.draw_into(chart)?;
                }
                (false, true) => {
                    let chart = builder
                        .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                        .map_err(plot_err)?;
                    self.draw_into(chart)?;
                }
                (true, true) => {
                    let chart = builder
                        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                        .map_err(plot_err)?;
                    self.draw_into(chart)?;
                }
            }
            root.present().map_err(plot_err)?;
        }
        Ok(svg)
    }

    fn draw_into<'a, X, Y>(
        &self,
        mut chart: ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    ) -> Result<()>
    where
        X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
        Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    {
        // Tick labels like "0.5", "2", "16" (the ticks are the caller's round numbers).
        let compact = |x: &f64| {
            let s = format!("{x:.3}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        };
        let mut mesh = chart.configure_mesh();
        if self.log_x && !self.x_ticks.is_empty() {
            mesh.x_label_formatter(&compact);
        }
        mesh.x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(plot_err)?;
        for (i, s) in self.series.iter().enumerate() {
            let color = self.color_of(i);
            let width = if s.thin { 1 } else { 2 };
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|&(x, y)| usable(x, self.log_x) && usable(y, self.log_y))
                .filter(|&(_, y)| self.y_floor.is_none_or(|f| y >= f))
                .collect();
            let drawn = chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(width)))
                .map_err(plot_err)?;
            if !self.legend_outside && !s.name.is_empty() {
                drawn.label(s.name.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            }
            if s.dots {
                chart
                    .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                    .map_err(plot_err)?;
            }
            let bars = s.spread.iter().copied().filter(|&(x, lo, hi)| {
                usable(x, self.log_x) && usable(lo, self.log_y) && usable(hi, self.log_y)
            });
            chart
                .draw_series(
                    bars.map(|(x, lo, hi)| PathElement::new(vec![(x, lo), (x, hi)], color)),
                )
                .map_err(plot_err)?;
        }
        for (i, m) in self.markers.iter().enumerate() {
            if !(usable(m.at.0, self.log_x) && usable(m.at.1, self.log_y)) {
                continue;
            }
            let color = PALETTE[(self.series.len() + i) % PALETTE.len()];
            chart
                .draw_series(std::iter::once(Circle::new(m.at, 6, color.filled())))
                .map_err(plot_err)?
                .label(m.name.as_str())
                .legend(move |(x, y)| Circle::new((x + 9, y), 5, color.filled()));
        }
        if !self.legend_outside && self.series.len() + self.markers.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(plot_err)?;
        }
        Ok(())
    }

    fn color_of(&self, series: usize) -> RGBColor {
        let i = self.series[series].color.unwrap_or(series);
        PALETTE[i % PALETTE.len()]
    }

    /// The legend as a column in `area`: one row per named series, then the markers.
    fn draw_legend(
        &self,
        area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ) -> Result<()> {
        let font = ("sans-serif", 14).into_font();
        let mut y = 24;
        for (i, s) in self.series.iter().enumerate() {
            if s.name.is_empty() {
                continue;
            }
            let color = self.color_of(i);
            let width = if s.thin { 1 } else { 2 };
            area.draw(&PathElement::new(
                vec![(6, y), (30, y)],
                color.stroke_width(width),
            ))
            .map_err(plot_err)?;
            if s.dots {
                area.draw(&Circle::new((18, y), 3, color.filled()))
                    .map_err(plot_err)?;
            }
            area.draw(&Text::new(s.name.as_str(), (36, y - 7), font.clone()))
                .map_err(plot_err)?;
            y += 20;
        }
        for (i, m) in self.markers.iter().enumerate() {
            let color = PALETTE[(self.series.len() + i) % PALETTE.len()];
            area.draw(&Circle::new((18, y), 5, color.filled()))
                .map_err(plot_err)?;
            area.draw(&Text::new(m.name.as_str(), (36, y - 7), font.clone()))
                .map_err(plot_err)?;
            y += 20;
        }
        Ok(())
    }

    /// Renders the chart and writes it to `path` atomically.
    ///
    /// # Errors
    /// Fails when there is nothing to draw or the file cannot be written.
    pub fn save_svg(&self, path: &Path) -> Result<()> {
        let svg = self.to_svg(900, 540)?;
        write_atomic(path, svg.as_bytes())
            .with_context(|| format!("cannot write plot {}", path.display()))
    }
}

fn plot_err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plotting failed: {e}")
}

/// Stacks several charts vertically into one SVG document (each `width`×`height`).
///
/// # Errors
/// Fails when any chart has nothing to draw or the file cannot be written.
pub fn save_stacked_svg(charts: &[Chart], path: &Path) -> Result<()> {
    let (w, h) = (900u32, 420u32);
    let mut out = format!(
        "<svg width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\" xmlns=\"http://www.w3.org/2000/svg\">\n",
        h * charts.len() as u32,
        h * charts.len() as u32
    );
    for (i, c) in charts.iter().enumerate() {
        let inner = c.to_svg(w, h)?;
        out.push_str(&format!(
            "<g transform=\"translate(0,{})\">\n",
            h * i as u32
        ));
        out.push_str(&inner);
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    write_atomic(path, out.as_bytes())
        .with_context(|| format!("cannot write plot {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(log_x: bool) -> Chart {
        Chart {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            log_x,
            series: vec![Series {
                name: "line".into(),
                points: vec![(1.0, 2.0), (10.0, 3.0), (f64::NAN, 1.0), (100.0, 1.5)],
                spread: vec![(10.0, 2.5, 3.5)],
                ..Series::default()
            }],
            markers: vec![Marker {
                name: "best".into(),
                at: (10.0, 3.0),
            }],
            ..Chart::default()
        }
    }

    #[test]
    fn svg_has_the_line_the_marker_and_the_legend() {
        let svg = chart(true).to_svg(400, 300).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<polyline"), "no line drawn");
        assert!(svg.contains("<circle"), "no marker drawn");
        assert!(
            svg.contains("best") && svg.contains("line"),
            "legend missing"
        );
    }

    #[test]
    fn legend_outside_sits_right_of_the_plot_and_the_floor_hides_low_points() {
        let mut c = chart(false);
        c.series[0].dots = true;
        c.legend_outside = true;
        c.y_floor = Some(1.8);
        let svg = c.to_svg(900, 400).unwrap();
        // The legend's text starts in the right-hand column, past the plot.
        let x_of = |needle: &str| -> u32 {
            let at = svg.find(needle).expect(needle);
            let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
            let x = tag.split("x=\"").nth(1).unwrap().split('"').next().unwrap();
            x.parse().unwrap()
        };
        assert!(
            x_of(">\nline\n<") >= 900 - LEGEND_WIDTH,
            "legend over the plot"
        );
        // Circles: a dot for each of the 2 points at or above the floor, the marker, and
        // in the legend the series' dot and the marker's.
        assert_eq!(svg.matches("<circle").count(), 2 + 1 + 2, "{svg}");
    }

    #[test]
    fn empty_chart_is_an_error_not_a_panic() {
        let c = Chart {
            title: "empty".into(),
            ..Chart::default()
        };
        let err = c.to_svg(400, 300).unwrap_err();
        assert!(err.to_string().contains("nothing to plot"));
    }

    #[test]
    fn non_positive_values_are_skipped_on_log_axes() {
        let mut c = chart(true);
        c.series[0].points.push((-1.0, 1.0));
        assert!(c.to_svg(400, 300).is_ok());
    }
}
