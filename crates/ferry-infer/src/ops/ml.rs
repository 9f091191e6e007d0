//! The classical machine-learning operators of domain `ai.onnx.ml` (what sklearn, xgboost and
//! lightgbm converters emit).
//!
//! Batch conventions follow onnx's own inference, onnxruntime and onnx's reference
//! implementation where they agree: a 2-D input `[N, F]` gives `N` rows, and for the
//! classifiers a 1-D input is one row. Where the runtimes disagree on a shape (`DictVectorizer`,
//! `CastMap`, `SVMClassifier` scores, 1-D `FeatureVectorizer` inputs), that part is left unknown.

use super::Registry;
use super::util::{same_as_input, show, tensor};
use crate::ctx::{Ctx, Res, invalid, need};
use crate::fact::{TensorTy, Ty};
use crate::sym::Dim;
use ferry_ir::DataType;

const ML: &str = "ai.onnx.ml";

pub fn register(r: &mut Registry) {
    r.add(ML, &["ArrayFeatureExtractor"], array_feature_extractor);
    r.add(ML, &["Binarizer", "Imputer"], same);
    r.add(ML, &["Normalizer", "Scaler"], same_shape_float);
    r.add(ML, &["CastMap"], cast_map);
    r.add(ML, &["CategoryMapper"], category_mapper);
    r.add(ML, &["DictVectorizer"], dict_vectorizer);
    r.add(ML, &["FeatureVectorizer"], feature_vectorizer);
    r.add(ML, &["LabelEncoder"], label_encoder);
    r.add(ML, &["LinearClassifier"], linear_classifier);
    r.add(ML, &["LinearRegressor"], linear_regressor);
    r.add(ML, &["OneHotEncoder"], one_hot_encoder);
    r.add(ML, &["SVMClassifier"], svm_classifier);
    r.add(ML, &["SVMRegressor"], svm_regressor);
    r.add(ML, &["TreeEnsemble"], tree_ensemble);
    r.add(ML, &["TreeEnsembleClassifier"], tree_ensemble_classifier);
    r.add(ML, &["TreeEnsembleRegressor"], tree_ensemble_regressor);
    r.add(ML, &["ZipMap"], zip_map);
}

/// The number of rows of a `[N, F]` or `[F]` input; `None` when its rank is unknown.
fn rows(ctx: &Ctx<'_>) -> Result<Option<Dim>, crate::ctx::Stop> {
    match ctx.shape(0) {
        None => Ok(None),
        Some([_]) => Ok(Some(Dim::known(1))),
        Some([n, _]) => Ok(Some(n.clone())),
        Some(s) => invalid(format!("{} expects a 1-D or 2-D input, not {}", ctx.op(), show(s))),
    }
}

/// The rows of a 2-D input, or an unknown dimension.
fn rows_or_unknown(ctx: &Ctx<'_>) -> Result<Dim, crate::ctx::Stop> {
    Ok(rows(ctx)?.unwrap_or(Dim::Unknown))
}

fn len_of(ctx: &Ctx<'_>, name: &str) -> Option<usize> {
    ctx.attr_ints(name)
        .map(|v| v.len())
        .or_else(|| ctx.attr_strings(name).map(|v| v.len()))
        .or_else(|| ctx.attr_floats(name).map(|v| v.len()))
}

/// String class labels when `classlabels_strings` is set and not empty, else int64.
fn label_type(ctx: &Ctx<'_>) -> DataType {
    match ctx.attr_strings("classlabels_strings") {
        Some(v) if !v.is_empty() => DataType::STRING,
        _ => DataType::INT64,
    }
}

fn same(ctx: &mut Ctx<'_>) -> Res {
    same_as_input(ctx, 0, 0)
}

fn same_shape_float(ctx: &mut Ctx<'_>) -> Res {
    let shape = ctx.shape(0).map(<[Dim]>::to_vec);
    ctx.set_type(0, tensor(Some(DataType::FLOAT), shape));
    Ok(())
}

fn array_feature_extractor(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(s) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        ctx.set_tensor(0, elem, None);
        return Ok(());
    };
    if s.is_empty() {
        return invalid("ArrayFeatureExtractor needs an input of rank 1 or more");
    }
    let picked = match ctx.shape(1) {
        Some(ix) => ix.iter().fold(Dim::known(1), |acc, d| acc.mul(d)),
        None => Dim::Unknown,
    };
    // The indices select along the last axis; a 1-D input gives one row.
    let mut out = if s.len() == 1 { vec![Dim::known(1)] } else { s[..s.len() - 1].to_vec() };
    out.push(picked);
    ctx.set_tensor(0, elem, Some(out));
    Ok(())
}

fn cast_map(ctx: &mut Ctx<'_>) -> Res {
    let elem = match ctx.attr_str("cast_to").as_deref() {
        None | Some("TO_FLOAT") => DataType::FLOAT,
        Some("TO_INT64") => DataType::INT64,
        Some("TO_STRING") => DataType::STRING,
        Some(other) => return invalid(format!("unknown cast_to '{other}'")),
    };
    ctx.set_tensor(0, Some(elem), None);
    Ok(())
}

fn category_mapper(ctx: &mut Ctx<'_>) -> Res {
    let ints = len_of(ctx, "cats_int64s");
    let strings = len_of(ctx, "cats_strings");
    if ints.is_some() && strings.is_some() && ints != strings {
        return invalid("cats_int64s and cats_strings differ in length");
    }
    let out = match ctx.elem(0) {
        Some(DataType::STRING) => DataType::INT64,
        Some(DataType::INT64) => DataType::STRING,
        Some(e) => return invalid(format!("CategoryMapper maps strings and int64s, not {e}")),
        None => return Ok(()),
    };
    let shape = ctx.shape(0).map(<[Dim]>::to_vec);
    ctx.set_tensor(0, Some(out), shape);
    Ok(())
}

fn dict_vectorizer(ctx: &mut Ctx<'_>) -> Res {
    let value = match ctx.input(0).and_then(|f| f.ty.as_ref()) {
        Some(Ty::Map(_, Some(v))) => v.as_tensor().and_then(|t| t.elem),
        _ => None,
    };
    ctx.set_tensor(0, Some(need(value)?), None);
    Ok(())
}

fn feature_vectorizer(ctx: &mut Ctx<'_>) -> Res {
    // A 1-D input is one row for onnxruntime and one column for onnx's reference: only 2-D
    // inputs tell the number of rows.
    let n = (0..ctx.num_inputs())
        .find_map(|i| match ctx.shape(i) {
            Some([n, _]) => Some(n.clone()),
            _ => None,
        })
        .unwrap_or(Dim::Unknown);
    let width = match ctx.attr_ints("inputdimensions") {
        Some(d) if d.len() == ctx.num_inputs() => Dim::known(d.iter().sum()),
        _ => Dim::Unknown,
    };
    ctx.set_tensor(0, Some(DataType::FLOAT), Some(vec![n, width]));
    Ok(())
}

/// The element type of the `values_*` (or, for keys, `keys_*`) attributes of `LabelEncoder`.
fn encoder_type(ctx: &Ctx<'_>, prefix: &str) -> Option<DataType> {
    if let Some(t) = ctx.attr_tensor(&format!("{prefix}_tensor")) {
        return t.dtype;
    }
    [("strings", DataType::STRING), ("int64s", DataType::INT64), ("floats", DataType::FLOAT)]
        .into_iter()
        .find(|(s, _)| ctx.attr(&format!("{prefix}_{s}")).is_some())
        .map(|(_, d)| d)
}

fn label_encoder(ctx: &mut Ctx<'_>) -> Res {
    let input = ctx.elem(0);
    // Version 1 maps strings to int64s and back (`classes_strings`); later versions name the
    // output type with their `values_*` attribute.
    let values = encoder_type(ctx, "values");
    let out = if values.is_none() && (ctx.opset < 2 || ctx.attr("classes_strings").is_some()) {
        match input {
            Some(DataType::STRING) => DataType::INT64,
            Some(DataType::INT64) => DataType::STRING,
            Some(e) => return invalid(format!("LabelEncoder-1 maps strings and int64s, not {e}")),
            None => return Ok(()),
        }
    } else {
        if let (Some(k), Some(i)) = (encoder_type(ctx, "keys"), input)
            && k != i
        {
            return invalid(format!("the keys are {k} but the input is {i}"));
        }
        need(values)?
    };
    let shape = ctx.shape(0).map(<[Dim]>::to_vec);
    ctx.set_tensor(0, Some(out), shape);
    Ok(())
}

fn linear_classifier(ctx: &mut Ctx<'_>) -> Res {
    let labels = label_type(ctx);
    let n_labels = match labels {
        DataType::STRING => len_of(ctx, "classlabels_strings"),
        _ => len_of(ctx, "classlabels_ints"),
    };
    let intercepts = ctx.attr_floats("intercepts").map(|v| v.len()).unwrap_or(0);
    let features = ctx.shape(0).and_then(|s| s.last()).and_then(Dim::as_const);
    let classes = if intercepts > 0 {
        // One column of scores per intercept; a single one with two labels is binary.
        Dim::known(if intercepts == 1 && n_labels == Some(2) { 2 } else { intercepts as i64 })
    } else {
        match (ctx.attr_floats("coefficients").map(|v| v.len() as i64), features) {
            (Some(c), Some(f)) if f > 0 && c % f == 0 => {
                let k = c / f;
                Dim::known(if k == 1 && n_labels == Some(2) { 2 } else { k })
            }
            _ => Dim::Unknown,
        }
    };
    let n = rows_or_unknown(ctx)?;
    ctx.set_tensor(0, Some(labels), Some(vec![n.clone()]));
    ctx.set_tensor(1, Some(DataType::FLOAT), Some(vec![n, classes]));
    Ok(())
}

fn linear_regressor(ctx: &mut Ctx<'_>) -> Res {
    let targets = ctx.attr_int("targets").unwrap_or(1);
    let shape = match ctx.shape(0) {
        Some([n, _]) => Some(vec![n.clone(), Dim::known(targets)]),
        _ => None,
    };
    ctx.set_tensor(0, Some(DataType::FLOAT), shape);
    Ok(())
}

fn one_hot_encoder(ctx: &mut Ctx<'_>) -> Res {
    let ints = len_of(ctx, "cats_int64s");
    let strings = len_of(ctx, "cats_strings");
    let cats = match (ints, strings) {
        (Some(n), None) | (None, Some(n)) => n,
        _ => return invalid("exactly one of cats_int64s and cats_strings must be given"),
    };
    let shape = ctx.shape(0).map(|s| {
        let mut out = s.to_vec();
        out.push(Dim::known(cats as i64));
        out
    });
    ctx.set_tensor(0, Some(DataType::FLOAT), shape);
    Ok(())
}

fn svm_classifier(ctx: &mut Ctx<'_>) -> Res {
    let labels = label_type(ctx);
    let n = rows(ctx)?;
    ctx.set_tensor(0, Some(labels), n.clone().map(|n| vec![n]));
    ctx.set_tensor(1, Some(DataType::FLOAT), n.map(|n| vec![n, Dim::Unknown]));
    Ok(())
}

fn svm_regressor(ctx: &mut Ctx<'_>) -> Res {
    let shape = match ctx.shape(0) {
        Some([n, _]) => Some(vec![n.clone(), Dim::known(1)]),
        _ => None,
    };
    ctx.set_tensor(0, Some(DataType::FLOAT), shape);
    Ok(())
}

/// `[N, n_targets]` for a 2-D input (tree ensembles require one).
fn tree_rows(ctx: &Ctx<'_>, width: Dim) -> Result<Option<Vec<Dim>>, crate::ctx::Stop> {
    match ctx.shape(0) {
        None => Ok(Some(vec![Dim::Unknown, width])),
        Some([n, _]) => Ok(Some(vec![n.clone(), width])),
        Some(s) => invalid(format!("{} expects a 2-D input, not {}", ctx.op(), show(s))),
    }
}

fn n_targets(ctx: &Ctx<'_>) -> Dim {
    ctx.attr_int("n_targets").map_or(Dim::Unknown, Dim::known)
}

fn tree_ensemble(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    if let (Some(e), Some(split)) = (elem, ctx.attr_tensor("nodes_splits").and_then(|t| t.dtype))
        && e != split
    {
        return invalid(format!("the input is {e} but nodes_splits is {split}"));
    }
    let shape = tree_rows(ctx, n_targets(ctx))?;
    ctx.set_tensor(0, elem, shape);
    Ok(())
}

fn tree_ensemble_regressor(ctx: &mut Ctx<'_>) -> Res {
    let shape = tree_rows(ctx, n_targets(ctx))?;
    ctx.set_tensor(0, Some(DataType::FLOAT), shape);
    Ok(())
}

fn tree_ensemble_classifier(ctx: &mut Ctx<'_>) -> Res {
    let labels = label_type(ctx);
    let classes = match labels {
        DataType::STRING => len_of(ctx, "classlabels_strings"),
        _ => len_of(ctx, "classlabels_int64s"),
    };
    let scores = tree_rows(ctx, classes.map_or(Dim::Unknown, |c| Dim::known(c as i64)))?;
    let n = scores.as_ref().map(|s| vec![s[0].clone()]);
    ctx.set_tensor(0, Some(labels), n);
    ctx.set_tensor(1, Some(DataType::FLOAT), scores);
    Ok(())
}

fn zip_map(ctx: &mut Ctx<'_>) -> Res {
    if let Some(r) = ctx.rank(0)
        && r != 1
        && r != 2
    {
        return invalid(format!("ZipMap expects a 1-D or 2-D input, not rank {r}"));
    }
    let key = if ctx.attr_strings("classlabels_strings").is_some_and(|v| !v.is_empty()) {
        DataType::STRING
    } else if ctx.attr_ints("classlabels_int64s").is_some_and(|v| !v.is_empty()) {
        DataType::INT64
    } else {
        return invalid("ZipMap needs classlabels_strings or classlabels_int64s");
    };
    let value = Ty::Tensor(TensorTy { elem: Some(DataType::FLOAT), shape: Some(vec![]) });
    ctx.set_type(0, Ty::Seq(Some(Box::new(Ty::Map(Some(key), Some(Box::new(value)))))));
    Ok(())
}
