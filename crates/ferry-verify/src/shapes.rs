//! Which inputs the check feeds, with which element type and shape, and `--input-shape`.
//!
//! A model's inputs often have symbolic or unknown dims (`float[N,3,H,W]`); random inputs need
//! numbers. The rule, in order:
//!
//! 1. a dim given by `--input-shape` (`name:1,3,224,224`; a bare `1,3,224,224` when the model
//!    has exactly one input to feed);
//! 2. a symbol already bound: a symbol named in one input's pinned shape takes the same value in
//!    every other input (ONNX symbols are model-wide);
//! 3. otherwise [`BATCH_DIM`] (1) on axis 0, where an open dim is almost always the batch, and
//!    [`OTHER_DIM`] (32) elsewhere: open inner dims are image sizes, sequence lengths or sample
//!    counts, and 1 there breaks real models (a detector downsampling a 1x1 image by 32 fails
//!    in its upsampling `Concat`), while 32 is a multiple of every usual stride and still
//!    cheap. The first input that mentions a symbol decides its value.
//!
//! A negative dim in the file (some exporters write -1 for "dynamic") counts as open.
//!
//! A dim the model fixes (`3`) cannot be changed by `--input-shape`: the weights were made for
//! it, and a different value is a usage error naming the input and axis.
//!
//! Initializers that are also graph inputs are defaults a caller *may* override; the check keeps
//! the defaults (it feeds only the inputs without one), as every runtime does when nothing is fed.

use crate::Error;
use ferry_ir::{DataType, DeclSite, DimValue, Graph, Model, Type, TypeKind, ValueInfo};
use std::collections::HashMap;

/// The value an open dim on axis 0 gets when nothing pins it.
pub const BATCH_DIM: i64 = 1;
/// The value an open dim on any other axis gets when nothing pins it.
pub const OTHER_DIM: i64 = 32;

/// The default for an open dim on `axis`.
fn default_dim(axis: usize) -> i64 {
    if axis == 0 { BATCH_DIM } else { OTHER_DIM }
}

/// Shapes pinned by the user (`--input-shape`), by input name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputShapes {
    /// `(None, dims)` is the bare form, for a model with one input.
    entries: Vec<(Option<String>, Vec<i64>)>,
}

/// One input as the check feeds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSpec {
    pub name: String,
    pub elem: DataType,
    pub shape: Vec<usize>,
}

impl InputShapes {
    /// Parses `name:d1,d2,...` items (the name may itself contain `:`; the last one separates
    /// it, as in TensorFlow's `input:0`), or one bare `d1,d2,...`. `name:` alone is a scalar.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<InputShapes, Error> {
        let mut entries: Vec<(Option<String>, Vec<i64>)> = Vec::new();
        for item in items {
            let item = item.as_ref().trim();
            let (name, dims) = match item.rsplit_once(':') {
                Some((n, d)) if !n.is_empty() => (Some(n.to_string()), d),
                Some(_) => return Err(bad(item, "the input name before ':' is empty")),
                None => (None, item),
            };
            let dims = parse_dims(item, dims)?;
            if entries.iter().any(|(n, _)| n == &name) {
                let what = name.as_deref().unwrap_or("(unnamed)");
                return Err(bad(item, &format!("input {what} is given twice")));
            }
            entries.push((name, dims));
        }
        if entries.iter().any(|(n, _)| n.is_none()) && entries.len() > 1 {
            return Err(Error::InputShape(
                "a shape without a name is only allowed alone (for a model with one input); \
                 write NAME:D1,D2,..."
                    .into(),
            ));
        }
        Ok(InputShapes { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every input pinned to the shape the check feeds it.
    pub fn from_specs(specs: &[InputSpec]) -> InputShapes {
        let entries = specs
            .iter()
            .map(|s| (Some(s.name.clone()), s.shape.iter().map(|&d| d as i64).collect()))
            .collect();
        InputShapes { entries }
    }

    /// The pinned dims for `name` (or the bare shape, for the only feedable input).
    fn get(&self, name: &str, only_input: bool) -> Option<&[i64]> {
        self.entries
            .iter()
            .find(|(n, _)| n.as_deref() == Some(name) || (n.is_none() && only_input))
            .map(|(_, d)| d.as_slice())
    }
}

fn bad(item: &str, why: &str) -> Error {
    Error::InputShape(format!("--input-shape '{item}': {why}"))
}

fn parse_dims(item: &str, dims: &str) -> Result<Vec<i64>, Error> {
    let dims = dims.trim();
    if dims.is_empty() {
        return Ok(Vec::new());
    }
    dims.split(',')
        .map(|d| match d.trim().parse::<i64>() {
            Ok(v) if v >= 0 => Ok(v),
            _ => Err(bad(item, &format!("'{d}' is not a dimension (a number >= 0)"))),
        })
        .collect()
}

/// The graph inputs a caller feeds (those without an initializer as default), in order.
fn fed_inputs(g: &Graph) -> Vec<ferry_ir::ValueId> {
    g.inputs().iter().copied().filter(|&v| g.value(v).initializer.is_none()).collect()
}

/// The pinned shapes of the inputs they name, and the symbol values they fix; errors for names
/// that are no fed input, ranks that differ, and fixed dims they would change.
struct Binding {
    /// Per fed input: the pinned dims, when `--input-shape` names it.
    pinned: Vec<Option<Vec<i64>>>,
    symbols: HashMap<String, i64>,
}

fn tensor_type(info: &ValueInfo) -> Option<&ferry_ir::TensorType> {
    info.ty.as_ref().and_then(Type::as_tensor)
}

fn bind(g: &Graph, shapes: &InputShapes) -> Result<Binding, Error> {
    let fed = fed_inputs(g);
    let names: Vec<&str> = fed.iter().map(|&v| g.value(v).name.as_str()).collect();
    for (n, _) in &shapes.entries {
        match n {
            Some(n) if !names.contains(&n.as_str()) => {
                return Err(Error::InputShape(format!(
                    "--input-shape names '{n}', but the model's inputs are: {}",
                    names.join(", ")
                )));
            }
            None if fed.len() != 1 => {
                return Err(Error::InputShape(format!(
                    "--input-shape without a name needs a model with one input; this one has {} \
                     ({}): write NAME:D1,D2,...",
                    fed.len(),
                    names.join(", ")
                )));
            }
            _ => {}
        }
    }
    let mut symbols: HashMap<String, i64> = HashMap::new();
    let mut pinned = Vec::with_capacity(fed.len());
    for &v in &fed {
        let val = g.value(v);
        let Some(dims) = shapes.get(&val.name, fed.len() == 1) else {
            pinned.push(None);
            continue;
        };
        let declared = tensor_type(&val.info).and_then(|t| t.shape.as_ref());
        if let Some(shape) = declared {
            if shape.rank() != dims.len() {
                return Err(Error::InputShape(format!(
                    "--input-shape {}: {} dims given, but the input has rank {} ({shape})",
                    val.name,
                    dims.len(),
                    shape.rank()
                )));
            }
            for (axis, (d, &want)) in shape.dims.iter().zip(dims).enumerate() {
                match &d.value {
                    DimValue::Known(k) if *k >= 0 && *k != want => {
                        return Err(Error::InputShape(format!(
                            "--input-shape {}: axis {axis} is fixed to {k} by the model, not {want}",
                            val.name
                        )));
                    }
                    DimValue::Symbol(s) => match symbols.get(s) {
                        Some(&prev) if prev != want => {
                            return Err(Error::InputShape(format!(
                                "--input-shape {}: axis {axis} is the model's '{s}', already \
                                 pinned to {prev} by another input, not {want}",
                                val.name
                            )));
                        }
                        _ => {
                            symbols.insert(s.clone(), want);
                        }
                    },
                    _ => {}
                }
            }
        }
        pinned.push(Some(dims.to_vec()));
    }
    Ok(Binding { pinned, symbols })
}

/// The inputs to feed, with concrete shapes (see the module documentation for the rule).
/// `Ok(Err(reason))`: the model has an input the check cannot make up (not a tensor, no element
/// type, no rank); `Err`: `shapes` does not fit the model.
pub fn input_specs(
    model: &Model,
    shapes: &InputShapes,
) -> Result<Result<Vec<InputSpec>, String>, Error> {
    let Some(g) = &model.graph else {
        return Ok(Err("the model has no graph".into()));
    };
    let Binding { pinned, mut symbols } = bind(g, shapes)?;
    let mut specs = Vec::new();
    for (&v, pin) in fed_inputs(g).iter().zip(pinned) {
        let val = g.value(v);
        let Some(t) = tensor_type(&val.info) else {
            let ty = val.info.ty.as_ref().map_or("no type".to_string(), |t| t.to_string());
            return Ok(Err(format!("input {} is not a tensor ({ty})", val.name)));
        };
        let Some(elem) = t.elem else {
            return Ok(Err(format!("input {} has no element type", val.name)));
        };
        let dims: Vec<i64> = match (pin, &t.shape) {
            (Some(p), _) => p,
            (None, None) => {
                return Ok(Err(format!(
                    "input {} has no shape; give one with --input-shape {}:D1,D2,...",
                    val.name, val.name
                )));
            }
            (None, Some(shape)) => shape
                .dims
                .iter()
                .enumerate()
                .map(|(axis, d)| match &d.value {
                    DimValue::Known(k) if *k >= 0 => *k,
                    DimValue::Symbol(s) => *symbols.entry(s.clone()).or_insert(default_dim(axis)),
                    _ => default_dim(axis),
                })
                .collect(),
        };
        let mut shape = Vec::with_capacity(dims.len());
        for (axis, d) in dims.iter().enumerate() {
            let Ok(d) = usize::try_from(*d) else {
                return Ok(Err(format!("input {} declares dim {d} at axis {axis}", val.name)));
            };
            shape.push(d);
        }
        specs.push(InputSpec { name: val.name.clone(), elem, shape });
    }
    Ok(Ok(specs))
}

/// Writes the pinned shapes into the model: each named input gets its concrete dims, and every
/// symbol they fix is replaced by its value wherever the main graph declares a type (inputs,
/// outputs, `value_info`), so the declarations stay consistent. Symbols nothing pins stay.
pub fn pin_input_shapes(model: &mut Model, shapes: &InputShapes) -> Result<(), Error> {
    if shapes.is_empty() {
        return Ok(());
    }
    let Some(g) = &mut model.graph else {
        return Err(Error::InputShape("--input-shape: the model has no graph".into()));
    };
    let Binding { pinned, symbols } = bind(g, shapes)?;
    let fed = fed_inputs(g);
    for (&v, pin) in fed.iter().zip(&pinned) {
        let Some(dims) = pin else { continue };
        let info = &mut g.value_mut(v).info;
        set_dims(info, dims);
        if let Some(pos) = g.inputs().iter().position(|&i| i == v)
            && let Some(mut over) = g.decl_override(DeclSite::Input, pos).cloned()
        {
            set_dims(&mut over, dims);
            g.set_decl_override(DeclSite::Input, pos, over);
        }
    }
    if symbols.is_empty() {
        return Ok(());
    }
    let declared: Vec<(DeclSite, Vec<ferry_ir::ValueId>)> = vec![
        (DeclSite::Input, g.inputs().to_vec()),
        (DeclSite::Output, g.outputs().to_vec()),
        (DeclSite::ValueInfo, g.value_info().to_vec()),
    ];
    for (site, list) in declared {
        for (pos, v) in list.into_iter().enumerate() {
            substitute(&mut g.value_mut(v).info, &symbols);
            if let Some(mut over) = g.decl_override(site, pos).cloned() {
                substitute(&mut over, &symbols);
                g.set_decl_override(site, pos, over);
            }
        }
    }
    Ok(())
}

/// Gives a tensor declaration these concrete dims (keeping its element type and denotations).
fn set_dims(info: &mut ValueInfo, dims: &[i64]) {
    let Some(Type { kind: Some(TypeKind::Tensor(t)), .. }) = &mut info.ty else { return };
    match &mut t.shape {
        Some(shape) if shape.rank() == dims.len() => {
            for (d, &v) in shape.dims.iter_mut().zip(dims) {
                d.value = DimValue::Known(v);
            }
        }
        _ => t.shape = Some(ferry_ir::Shape::new(dims.iter().map(|&d| DimValue::Known(d)))),
    }
}

/// Replaces pinned symbols by their values in a declaration (tensor types, possibly nested in
/// sequences/optionals).
fn substitute(info: &mut ValueInfo, symbols: &HashMap<String, i64>) {
    fn walk(ty: &mut Type, symbols: &HashMap<String, i64>) {
        match &mut ty.kind {
            Some(TypeKind::Tensor(t)) | Some(TypeKind::SparseTensor(t)) => {
                for d in t.shape.iter_mut().flat_map(|s| s.dims.iter_mut()) {
                    if let DimValue::Symbol(s) = &d.value
                        && let Some(&v) = symbols.get(s)
                    {
                        d.value = DimValue::Known(v);
                    }
                }
            }
            Some(TypeKind::Sequence(Some(inner))) | Some(TypeKind::Optional(Some(inner))) => {
                walk(inner, symbols)
            }
            Some(TypeKind::Map { value: Some(inner), .. }) => walk(inner, symbols),
            _ => {}
        }
    }
    if let Some(ty) = &mut info.ty {
        walk(ty, symbols);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(text: &str) -> Model {
        ferry_text::parse_model(text).unwrap()
    }

    const TWO: &str = r#"
        <ir_version: 10, opset_import: ["" : 21]>
        g (float[N,3,H,W] x, int64[N,S] ids, float[2] w) => (float[N,5] y) {
           y = Foo (x, ids, w)
        }"#;

    #[test]
    fn parses_named_bare_and_scalar_forms() {
        let s = InputShapes::parse(&["input:0:1,3", "b:"]).unwrap();
        assert_eq!(s.get("input:0", false), Some(&[1i64, 3][..]));
        assert_eq!(s.get("b", false), Some(&[][..]));
        let s = InputShapes::parse(&["1, 3,224"]).unwrap();
        assert_eq!(s.get("anything", true), Some(&[1i64, 3, 224][..]));
        for bad in [&["x:1,-2"][..], &["x:1,a"], &[":1"], &["1,2", "x:3"], &["x:1", "x:2"]] {
            assert!(InputShapes::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn symbols_default_to_one_and_follow_pins() {
        let m = model(TWO);
        let specs = input_specs(&m, &InputShapes::default()).unwrap().unwrap();
        let shapes: Vec<_> = specs.iter().map(|s| s.shape.clone()).collect();
        assert_eq!(shapes, [vec![1, 3, 32, 32], vec![1, 32], vec![2]]);
        let pins = InputShapes::parse(&["x:4,3,8,8"]).unwrap();
        let specs = input_specs(&m, &pins).unwrap().unwrap();
        // N is pinned by x, so ids takes it too.
        assert_eq!(specs[1].shape, [4, 32]);
        assert_eq!(specs[1].elem, DataType::INT64);
    }

    #[test]
    fn negative_dims_in_the_file_count_as_open() {
        let mut m = model(TWO);
        let g = m.graph.as_mut().unwrap();
        let x = g.inputs()[0];
        set_dims(&mut g.value_mut(x).info, &[-1, 3, -1, 8]);
        let specs = input_specs(&m, &InputShapes::default()).unwrap().unwrap();
        assert_eq!(specs[0].shape, [1, 3, 32, 8]);
        let pins = InputShapes::parse(&["x:2,3,4,8"]).unwrap();
        assert_eq!(input_specs(&m, &pins).unwrap().unwrap()[0].shape, [2, 3, 4, 8]);
    }

    #[test]
    fn pins_that_do_not_fit_are_errors_naming_the_input() {
        let m = model(TWO);
        let cases = [
            (vec!["x:1,4,8,8"], "axis 1 is fixed to 3"),
            (vec!["x:1,3,8"], "rank 4"),
            (vec!["nope:1"], "the model's inputs are: x, ids, w"),
            (vec!["1,3,8,8"], "needs a model with one input"),
            (vec!["x:1,3,8,8", "ids:2,5"], "already pinned to 1"),
        ];
        for (items, want) in cases {
            let pins = InputShapes::parse(&items).unwrap();
            let e = input_specs(&m, &pins).unwrap_err().to_string();
            assert!(e.contains(want), "{items:?}: {e}");
        }
    }

    #[test]
    fn pinning_writes_the_shapes_and_the_symbols_into_the_model() {
        let mut m = model(TWO);
        let pins = InputShapes::parse(&["x:2,3,16,16"]).unwrap();
        pin_input_shapes(&mut m, &pins).unwrap();
        let g = m.graph.as_ref().unwrap();
        let ty = |v: ferry_ir::ValueId| g.value(v).info.ty.as_ref().unwrap().to_string();
        assert_eq!(ty(g.inputs()[0]), "float[2,3,16,16]");
        assert_eq!(ty(g.inputs()[1]), "int64[2,S]");
        assert_eq!(ty(g.outputs()[0]), "float[2,5]");
    }

    #[test]
    fn inputs_that_cannot_be_made_up_are_reasons() {
        let m = model(
            r#"<ir_version: 10, opset_import: ["" : 21]>
            g (seq(float[2]) s) => (float[2] y) { y = Foo (s) }"#,
        );
        let why = input_specs(&m, &InputShapes::default()).unwrap().unwrap_err();
        assert!(why.contains("input s is not a tensor"), "{why}");
    }
}
