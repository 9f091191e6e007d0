//! Box sizes: how big each item is drawn, children included.
//!
//! Sizes come from character counts (see `text`), so the layout needs no font engine. A box
//! with children (an If's branches, a Loop's body, a folded block) is a header followed by the
//! children's own layouts side by side, each in a labelled frame.

use crate::layout::{Layout, layout};
use crate::text::{clip_end, width};
use crate::view::{Item, ItemKind};

pub const TITLE_SIZE: f64 = 12.0;
pub const LINE_SIZE: f64 = 10.0;
pub const PILL_SIZE: f64 = 11.0;
pub const TITLE_H: f64 = 16.0;
pub const LINE_H: f64 = 13.0;
pub const PAD_X: f64 = 8.0;
pub const PAD_Y: f64 = 6.0;
pub const PILL_H: f64 = 22.0;
/// Room for a child frame's label.
pub const FRAME_LABEL_H: f64 = 15.0;
pub const FRAME_PAD: f64 = 8.0;
pub const FRAME_GAP: f64 = 14.0;
/// Longest value name drawn in a pill.
pub const PILL_CHARS: usize = 32;

/// A child scene's layout and where its frame sits, relative to the owning box's top left.
#[derive(Clone, Debug)]
pub struct Placed {
    pub label: String,
    pub frame_x: f64,
    pub frame_y: f64,
    pub frame_w: f64,
    pub frame_h: f64,
    pub layout: Layout,
}

/// An item's drawn size and its children's placement.
#[derive(Clone, Debug)]
pub struct Measured {
    pub w: f64,
    pub h: f64,
    pub children: Vec<Placed>,
}

/// The text a pill shows.
pub fn pill_text(item: &Item) -> String {
    clip_end(&item.title, PILL_CHARS)
}

pub fn is_pill(item: &Item) -> bool {
    matches!(item.kind, ItemKind::Input | ItemKind::Output | ItemKind::Capture | ItemKind::Other)
}

pub fn measure(item: &Item) -> Measured {
    if is_pill(item) {
        let w = width(&pill_text(item), PILL_SIZE) + 2.0 * PAD_X + 8.0;
        return Measured { w, h: PILL_H, children: Vec::new() };
    }
    let mut w = width(&item.title, TITLE_SIZE);
    for l in &item.lines {
        w = w.max(width(l, LINE_SIZE));
    }
    w += 2.0 * PAD_X;
    let header_h = PAD_Y + TITLE_H + LINE_H * item.lines.len() as f64 + PAD_Y;
    if item.children.is_empty() {
        return Measured { w: w.max(48.0), h: header_h, children: Vec::new() };
    }
    let mut children = Vec::new();
    let mut x = FRAME_PAD;
    let mut tallest: f64 = 0.0;
    for c in &item.children {
        let inner = layout(&c.scene);
        let label_h = if c.label.is_empty() { 0.0 } else { FRAME_LABEL_H };
        let frame_w =
            (inner.width + 2.0 * FRAME_PAD).max(width(&c.label, LINE_SIZE) + 2.0 * FRAME_PAD);
        let frame_h = label_h + inner.height + 2.0 * FRAME_PAD;
        children.push(Placed {
            label: c.label.clone(),
            frame_x: x,
            frame_y: header_h,
            frame_w,
            frame_h,
            layout: inner,
        });
        x += frame_w + FRAME_GAP;
        tallest = tallest.max(frame_h);
    }
    let inner_w = x - FRAME_GAP + FRAME_PAD;
    let total_w = w.max(inner_w);
    // Centre the frames under the header when the header is wider.
    let shift = (total_w - inner_w) / 2.0;
    for c in &mut children {
        c.frame_x += shift;
    }
    Measured { w: total_w, h: header_h + tallest + FRAME_PAD, children }
}
