//! Drawing a laid-out scene as SVG.
//!
//! Self-contained SVG 1.1: styles in a `<style>` element, one arrow marker, no scripts and no
//! external references, so the file opens in browsers, `rsvg-convert` and image viewers alike.
//! Every box carries a `<title>` with everything known about it (node name, all attributes,
//! input and output names and types), which browsers show on hover.

use crate::layout::{EDGE_LABEL_SIZE, Layout};
use crate::measure::{
    FRAME_LABEL_H, FRAME_PAD, LINE_H, LINE_SIZE, PAD_Y, PILL_SIZE, TITLE_H, TITLE_SIZE, is_pill,
    pill_text,
};
use crate::text::xml;
use crate::view::{Item, ItemKind, Scene};
use std::collections::HashSet;
use std::fmt::Write as _;

const STYLE: &str = "
  text { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; fill: #1d2330; }
  .title { font-size: 12px; font-weight: bold; }
  .line { font-size: 10px; fill: #3b4252; }
  .pill { font-size: 11px; }
  .elabel { font-size: 9.5px; fill: #5b6478; }
  .flabel { font-size: 10px; font-style: italic; fill: #5b6478; }
  .block { font-size: 13px; font-weight: bold; fill: #7a3e00; }
  .edge { fill: none; stroke: #6b7487; stroke-width: 1.1; }
  .implicit { stroke-dasharray: 4 3; }
  .box { stroke: #4c566a; stroke-width: 1; }
  .frame { fill: #fbfbfd; stroke: #9aa3b5; stroke-width: 1; stroke-dasharray: 5 3; }
  .blockbox { fill: #fff7ec; stroke: #c27a2c; stroke-width: 2.2; }
";

/// The whole picture.
pub fn render(scene: &Scene, layout: &Layout) -> String {
    let mut out = String::new();
    let (w, h) = (layout.width.ceil(), layout.height.ceil());
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\">"
    );
    let _ = writeln!(out, "<style>{STYLE}</style>");
    out.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#6b7487\"/></marker></defs>\n",
    );
    let _ = writeln!(out, "<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>");
    draw_scene(&mut out, scene, layout, 0.0, 0.0);
    out.push_str("</svg>\n");
    out
}

fn draw_scene(out: &mut String, scene: &Scene, layout: &Layout, dx: f64, dy: f64) {
    let _ = writeln!(out, "<g transform=\"translate({dx:.1},{dy:.1})\">");
    for route in &layout.routes {
        let e = &scene.edges[route.edge];
        let class = if e.to_port.is_none() { "edge implicit" } else { "edge" };
        let _ = writeln!(
            out,
            "<path class=\"{class}\" d=\"{}\" marker-end=\"url(#arrow)\"/>",
            path(&route.points)
        );
    }
    // One label per value, where its edges leave the producer; several outputs of one box
    // are stacked so their labels do not overprint.
    let mut labelled = HashSet::new();
    for route in &layout.routes {
        let e = &scene.edges[route.edge];
        if e.label.is_empty() || !labelled.insert((e.from, e.from_port)) {
            continue;
        }
        let rank = scene
            .edges
            .iter()
            .filter(|o| o.from == e.from)
            .map(|o| o.from_port)
            .collect::<std::collections::BTreeSet<_>>()
            .iter()
            .position(|&p| p == e.from_port)
            .unwrap_or(0);
        let (x, y) = route.points[0];
        // The full type on hover when the label had to shorten it.
        let title = if e.detail != e.label && !e.detail.is_empty() {
            format!("<title>{}</title>", xml(&e.detail))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<text class=\"elabel\" x=\"{:.1}\" y=\"{:.1}\">{title}{}</text>",
            x + 4.0,
            y + EDGE_LABEL_SIZE + 1.0 + 10.0 * rank as f64,
            xml(&e.label)
        );
    }
    for (i, item) in scene.items.iter().enumerate() {
        draw_item(out, item, layout, i);
    }
    out.push_str("</g>\n");
}

/// Vertical runs through rows stay straight; hops between rows are smooth S-curves.
fn path(points: &[(f64, f64)]) -> String {
    let mut d = String::new();
    let Some(&(x0, y0)) = points.first() else { return d };
    let _ = write!(d, "M{x0:.1},{y0:.1}");
    for pair in points.windows(2) {
        let ((xa, ya), (xb, yb)) = (pair[0], pair[1]);
        if (xa - xb).abs() < 0.05 {
            let _ = write!(d, " L{xb:.1},{yb:.1}");
        } else {
            let mid = (ya + yb) / 2.0;
            let _ = write!(d, " C{xa:.1},{mid:.1} {xb:.1},{mid:.1} {xb:.1},{yb:.1}");
        }
    }
    d
}

fn draw_item(out: &mut String, item: &Item, layout: &Layout, i: usize) {
    let b = layout.boxes[i];
    let m = &layout.measured[i];
    let _ = writeln!(out, "<g><title>{}</title>", xml(&item.tooltip));
    let cx = b.x + b.w / 2.0;
    if is_pill(item) {
        let fill = match item.kind {
            ItemKind::Input => "#dff3e4",
            ItemKind::Output => "#fde2e1",
            ItemKind::Capture => "#e4ecfb",
            _ => "#eeeeee",
        };
        let _ = writeln!(
            out,
            "<rect class=\"box\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" \
             rx=\"{:.1}\" fill=\"{fill}\"/>",
            b.x,
            b.y,
            b.w,
            b.h,
            b.h / 2.0
        );
        let _ = writeln!(
            out,
            "<text class=\"pill\" x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            b.y + b.h / 2.0 + PILL_SIZE * 0.35,
            xml(&pill_text(item))
        );
        out.push_str("</g>\n");
        return;
    }
    let (class, fill, title_class) = match item.kind {
        ItemKind::Block { .. } => ("blockbox", "#fff7ec", "block"),
        _ => ("box", fill_for(&item.title), "title"),
    };
    let _ = writeln!(
        out,
        "<rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" \
         rx=\"4\" fill=\"{fill}\"/>",
        b.x, b.y, b.w, b.h
    );
    let mut y = b.y + PAD_Y + TITLE_SIZE;
    let _ = writeln!(
        out,
        "<text class=\"{title_class}\" x=\"{cx:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{}</text>",
        xml(&item.title)
    );
    y += TITLE_H - TITLE_SIZE + LINE_SIZE;
    for line in &item.lines {
        let _ = writeln!(
            out,
            "<text class=\"line\" x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            y + 1.0,
            xml(line)
        );
        y += LINE_H;
    }
    out.push_str("</g>\n");
    for (c, placed) in item.children.iter().zip(&m.children) {
        let (fx, fy) = (b.x + placed.frame_x, b.y + placed.frame_y);
        let _ = writeln!(
            out,
            "<rect class=\"frame\" x=\"{fx:.1}\" y=\"{fy:.1}\" width=\"{:.1}\" height=\"{:.1}\" \
             rx=\"3\"/>",
            placed.frame_w, placed.frame_h
        );
        let mut inner_y = fy + FRAME_PAD;
        if !placed.label.is_empty() {
            let _ = writeln!(
                out,
                "<text class=\"flabel\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                fx + FRAME_PAD,
                fy + FRAME_PAD + LINE_SIZE,
                xml(&placed.label)
            );
            inner_y += FRAME_LABEL_H;
        }
        draw_scene(out, &c.scene, &placed.layout, fx + FRAME_PAD, inner_y);
    }
}

/// Box colours by what an op does, so the eye finds the convolutions, the matrix products and
/// the shape plumbing without reading every title.
fn fill_for(op: &str) -> &'static str {
    match op {
        "Conv" | "ConvTranspose" | "ConvInteger" | "QLinearConv" | "DeformConv" => "#d6e6fb",
        "MatMul" | "Gemm" | "MatMulInteger" | "QLinearMatMul" | "Einsum" | "Attention"
        | "MultiHeadAttention" => "#e6dcf7",
        "Relu" | "LeakyRelu" | "PRelu" | "Sigmoid" | "Tanh" | "Gelu" | "Elu" | "Selu"
        | "HardSigmoid" | "HardSwish" | "Softplus" | "Mish" | "Erf" | "Clip" | "Softmax"
        | "LogSoftmax" => "#fde9d2",
        "BatchNormalization"
        | "LayerNormalization"
        | "InstanceNormalization"
        | "GroupNormalization"
        | "LpNormalization"
        | "SimplifiedLayerNormalization"
        | "SkipLayerNormalization"
        | "RMSNormalization" => "#d8f0dc",
        "MaxPool" | "AveragePool" | "GlobalAveragePool" | "GlobalMaxPool" | "LpPool" | "Resize"
        | "Upsample" => "#d5f1f3",
        "Reshape" | "Transpose" | "Shape" | "Gather" | "GatherElements" | "GatherND" | "Concat"
        | "Slice" | "Squeeze" | "Unsqueeze" | "Flatten" | "Split" | "Expand" | "Size"
        | "Constant" | "ConstantOfShape" | "Range" | "Cast" | "Identity" | "Tile" | "Pad" => {
            "#eceef2"
        }
        "If" | "Loop" | "Scan" => "#ffffff",
        _ => "#fff9d9",
    }
}
