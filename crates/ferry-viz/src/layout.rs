//! A layered (Sugiyama-style) layout of one scene, top to bottom.
//!
//! 1. rows: longest-path layering (`rank`);
//! 2. long edges are split into chains of zero-width bend points, one per row they cross;
//! 3. rows are ordered to reduce crossings (`order`);
//! 4. boxes and bend points get x positions (`place`, `bk`), rows get y positions;
//! 5. each edge becomes a polyline from its source port through its bend points to its target
//!    port; the SVG writer draws it as vertical runs joined by smooth curves.
//!
//! Boxes with children carry their children's layouts (see `measure`), so nesting costs
//! nothing here: a box is a box, whatever is drawn in it.

use crate::measure::{Measured, measure};
use crate::text::width as text_width;
use crate::view::Scene;
use crate::{order, place, rank};
use std::collections::BTreeSet;

pub const MARGIN: f64 = 12.0;
/// Vertical room between rows, for curves and the edge labels at their start.
pub const GAP_Y: f64 = 44.0;
pub const EDGE_LABEL_SIZE: f64 = 9.5;

/// One end of an edge as seen from a node of the layered graph.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub other: usize,
    /// Horizontal offset of the port on `other`, from its centre.
    pub at_other: f64,
    /// Horizontal offset of the port on this node, from its centre.
    pub at_self: f64,
}

/// The layered graph: the scene's items first, then bend points.
#[derive(Debug, Default)]
pub struct Net {
    pub items: usize,
    pub width: Vec<f64>,
    pub preds: Vec<Vec<Link>>,
    pub succs: Vec<Vec<Link>>,
}

impl Net {
    pub fn is_dummy(&self, v: usize) -> bool {
        v >= self.items
    }

    fn add_node(&mut self, w: f64) -> usize {
        self.width.push(w);
        self.preds.push(Vec::new());
        self.succs.push(Vec::new());
        self.width.len() - 1
    }

    fn link(&mut self, a: usize, at_a: f64, b: usize, at_b: f64) {
        self.succs[a].push(Link { other: b, at_other: at_b, at_self: at_a });
        self.preds[b].push(Link { other: a, at_other: at_a, at_self: at_b });
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// The path of one scene edge (by index in `Scene::edges`), source end first.
#[derive(Clone, Debug)]
pub struct Route {
    pub edge: usize,
    pub points: Vec<(f64, f64)>,
}

#[derive(Clone, Debug)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    /// Per item of the scene.
    pub boxes: Vec<Rect>,
    pub measured: Vec<Measured>,
    pub routes: Vec<Route>,
}

/// Horizontal offset from a box's centre of port `rank` out of `count`: spread over the middle
/// of the box, at most 28 px apart, so edges into a wide box still meet near its middle.
fn port_offset(rank: usize, count: usize, w: f64) -> f64 {
    if count <= 1 {
        return 0.0;
    }
    let span = (w - 16.0).max(0.0).min(28.0 * (count - 1) as f64);
    -span / 2.0 + span * rank as f64 / (count - 1) as f64
}

pub fn layout(scene: &Scene) -> Layout {
    let n = scene.items.len();
    let measured: Vec<Measured> = scene.items.iter().map(measure).collect();
    // Ports actually drawn on each item, in port order (implicit reads last).
    let mut outs: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut ins: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for e in &scene.edges {
        outs[e.from].insert(e.from_port);
        ins[e.to].insert(e.to_port.unwrap_or(usize::MAX));
    }
    let out_at = |item: usize, port: usize| {
        let rank = outs[item].iter().position(|&p| p == port).unwrap_or(0);
        port_offset(rank, outs[item].len(), measured[item].w)
    };
    let in_at = |item: usize, port: Option<usize>| {
        let key = port.unwrap_or(usize::MAX);
        let rank = ins[item].iter().position(|&p| p == key).unwrap_or(0);
        port_offset(rank, ins[item].len(), measured[item].w)
    };

    let pairs: Vec<(usize, usize)> =
        scene.edges.iter().filter(|e| e.from != e.to).map(|e| (e.from, e.to)).collect();
    let order = rank::topo_order(n, &pairs);
    let mut pos = vec![0usize; n];
    for (i, &v) in order.iter().enumerate() {
        pos[v] = i;
    }
    // Edges pointing backwards in the order (cycles only) are laid out reversed.
    let forward: Vec<(usize, usize)> =
        pairs.iter().map(|&(u, v)| if pos[u] <= pos[v] { (u, v) } else { (v, u) }).collect();
    let mut layer = rank::layers(n, &forward, &order);
    // Drop empty rows that pulling sources down may have left.
    let used: BTreeSet<usize> = layer.iter().copied().collect();
    let renumber: Vec<usize> = {
        let mut r = vec![0; used.iter().next_back().map_or(0, |m| m + 1)];
        for (i, &l) in used.iter().enumerate() {
            r[l] = i;
        }
        r
    };
    for l in &mut layer {
        *l = renumber[*l];
    }
    let rows = used.len();

    let mut net = Net { items: n, ..Net::default() };
    for m in &measured {
        net.add_node(m.w);
    }
    let mut node_layer = layer.clone();
    // Per scene edge: the chain of nodes it passes through, upper end first, and whether the
    // chain runs against the edge.
    let mut chains: Vec<Option<(Vec<usize>, bool)>> = Vec::with_capacity(scene.edges.len());
    for e in &scene.edges {
        if e.from == e.to {
            chains.push(None);
            continue;
        }
        let reversed = pos[e.from] > pos[e.to];
        let (top, bottom) = if reversed { (e.to, e.from) } else { (e.from, e.to) };
        let (at_top, at_bottom) = if reversed {
            (0.0, 0.0)
        } else {
            (out_at(e.from, e.from_port), in_at(e.to, e.to_port))
        };
        let mut chain = vec![top];
        let mut prev = (top, at_top);
        for l in layer[top] + 1..layer[bottom] {
            let d = net.add_node(0.0);
            node_layer.push(l);
            net.link(prev.0, prev.1, d, 0.0);
            chain.push(d);
            prev = (d, 0.0);
        }
        net.link(prev.0, prev.1, bottom, at_bottom);
        chain.push(bottom);
        chains.push(Some((chain, reversed)));
    }

    // Initial order: items by graph order, bend points by their edge's source.
    let mut key = vec![0.0; net.width.len()];
    for v in 0..n {
        key[v] = pos[v] as f64;
    }
    for (chain, _) in chains.iter().flatten() {
        let base =
            pos[chain[0]] as f64 + 0.5 + pos[*chain.last().unwrap_or(&chain[0])] as f64 * 1e-6;
        for &d in &chain[1..chain.len() - 1] {
            key[d] = base;
        }
    }
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); rows];
    for v in 0..net.width.len() {
        layers[node_layer[v]].push(v);
    }
    for l in &mut layers {
        l.sort_by(|a, b| key[*a].total_cmp(&key[*b]));
    }
    order::reduce_crossings(&net, &mut layers);
    let x = place::place(&net, &layers);

    // Rows: as tall as their tallest box; boxes centred in their row.
    let mut row_h = vec![0.0f64; rows];
    for v in 0..n {
        row_h[layer[v]] = row_h[layer[v]].max(measured[v].h);
    }
    let mut row_top = vec![0.0; rows];
    let mut y = MARGIN;
    for l in 0..rows {
        row_top[l] = y;
        y += row_h[l] + GAP_Y;
    }
    let height = if rows == 0 { 2.0 * MARGIN } else { y - GAP_Y + MARGIN };
    let boxes: Vec<Rect> = (0..n)
        .map(|v| {
            let (w, h) = (measured[v].w, measured[v].h);
            let top = row_top[layer[v]] + (row_h[layer[v]] - h) / 2.0;
            Rect { x: MARGIN + x[v] - w / 2.0, y: top, w, h }
        })
        .collect();

    let mut routes = Vec::new();
    let mut right: f64 = boxes.iter().map(|b| b.x + b.w).fold(0.0, f64::max);
    for (i, chain) in chains.iter().enumerate() {
        let Some((chain, reversed)) = chain else { continue };
        let e = &scene.edges[i];
        let mut points = Vec::with_capacity(2 * chain.len());
        let first = chain[0];
        let top_box = boxes[first];
        let at_top = if *reversed { 0.0 } else { out_at(e.from, e.from_port) };
        points.push((top_box.x + top_box.w / 2.0 + at_top, top_box.y + top_box.h));
        for &d in &chain[1..chain.len() - 1] {
            let l = node_layer[d];
            points.push((MARGIN + x[d], row_top[l]));
            points.push((MARGIN + x[d], row_top[l] + row_h[l]));
        }
        let last = *chain.last().unwrap_or(&first);
        let bottom_box = boxes[last];
        let at_bottom = if *reversed { 0.0 } else { in_at(e.to, e.to_port) };
        points.push((bottom_box.x + bottom_box.w / 2.0 + at_bottom, bottom_box.y));
        if *reversed {
            points.reverse();
        }
        right = right.max(points[0].0 + 4.0 + text_width(&e.label, EDGE_LABEL_SIZE));
        routes.push(Route { edge: i, points });
    }
    Layout { width: right + MARGIN, height, boxes, measured, routes }
}
