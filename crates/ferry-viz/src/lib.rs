//! Pictures of ferry models.
//!
//! - [`svg`]: a self-contained SVG, laid out by ferry itself (layered layout: longest-path rows,
//!   barycenter ordering, Brandes-Köpf placement), so no Graphviz is needed;
//! - [`dot`]: Graphviz DOT with the same content, for those who have Graphviz.
//!
//! One box per node shows the op type, its key attributes and the constant inputs folded into
//! it; edges are labelled with the declared element type and shape of the value they carry;
//! subgraphs (If/Loop/Scan bodies) are drawn inside their node's box. With
//! [`Options::collapse`], runs of alike consecutive blocks (transformer layers, residual
//! blocks) are drawn once, in a box marked `×N`.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let model = ferry_onnx::load("model.onnx")?;
//! let picture = ferry_viz::svg(&model, &ferry_viz::Options { collapse: true })?;
//! std::fs::write("model.svg", picture)?;
//! # Ok(()) }
//! ```

mod bk;
mod block;
mod collapse;
mod dot;
mod label;
mod layout;
mod measure;
mod order;
mod place;
mod rank;
mod svg;
mod text;
mod view;

pub use view::{Child, Edge, Item, ItemKind, Scene};

use ferry_ir::Model;

/// What to draw.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Fold runs of consecutive blocks that are alike (same ops, attributes, weight shapes and
    /// wiring) and chained into one box marked `×N`.
    pub collapse: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the model has no graph to draw")]
    NoGraph,
}

/// The picture's content (boxes, edges, nesting) without geometry, for callers that render it
/// their own way.
pub fn scene(model: &Model, opts: &Options) -> Result<Scene, Error> {
    let g = model.graph.as_ref().ok_or(Error::NoGraph)?;
    let mut s = view::scene(g, view::Opsets::of(model));
    if opts.collapse {
        collapse::collapse(&mut s);
    }
    Ok(s)
}

/// The model's main graph as an SVG document.
pub fn svg(model: &Model, opts: &Options) -> Result<String, Error> {
    let s = scene(model, opts)?;
    Ok(svg::render(&s, &layout::layout(&s)))
}

/// The model's main graph as a Graphviz DOT document.
pub fn dot(model: &Model, opts: &Options) -> Result<String, Error> {
    Ok(dot::render(&scene(model, opts)?))
}
