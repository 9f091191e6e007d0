//! String operators: `StringSplit`, `StringNormalizer`, `StringConcat`, `RegexFullMatch`, and
//! `TfIdfVectorizer` (whose output width is the largest n-gram index plus one).

use super::Registry;
use super::util::{broadcast_inputs, tensor};
use crate::ctx::{Ctx, Res, invalid};
use crate::sym::Dim;
use ferry_ir::DataType;

pub fn register(r: &mut Registry) {
    r.add("", &["StringSplit"], string_split);
    r.add("", &["StringNormalizer"], string_normalizer);
    r.add("", &["StringConcat"], string_concat);
    r.add("", &["RegexFullMatch"], regex_full_match);
    r.add("", &["TfIdfVectorizer"], tf_idf);
}

fn string_split(ctx: &mut Ctx<'_>) -> Res {
    let s = ctx.shape(0).map(<[Dim]>::to_vec);
    // One more axis holding the substrings, as long as the longest split: not known, except
    // that an empty input has none.
    let with_parts = s.clone().map(|mut v| {
        let empty = v.iter().any(|d| d.as_const() == Some(0));
        v.push(if empty { Dim::known(0) } else { Dim::Unknown });
        v
    });
    ctx.set_type(0, tensor(Some(DataType::STRING), with_parts));
    ctx.set_type(1, tensor(Some(DataType::INT64), s));
    Ok(())
}

fn string_normalizer(ctx: &mut Ctx<'_>) -> Res {
    let s = ctx.shape(0).map(<[Dim]>::to_vec);
    // Without stopwords nothing is dropped, so the count stays; with them it is not known.
    let keeps_count = ctx.attr_strings("stopwords").is_none_or(|v| v.is_empty());
    let count = |c: &Dim| {
        if keeps_count && c.as_const().is_some_and(|n| n > 0) { c.clone() } else { Dim::Unknown }
    };
    let out = match s.as_deref() {
        None => None,
        Some([c]) => Some(vec![count(c)]),
        Some([b, c]) => {
            if b.as_const().is_some_and(|n| n != 1) {
                return invalid("StringNormalizer input must be [C] or [1, C]");
            }
            Some(vec![Dim::known(1), count(c)])
        }
        Some(_) => return invalid("StringNormalizer input must be [C] or [1, C]"),
    };
    ctx.set_type(0, tensor(Some(DataType::STRING), out));
    Ok(())
}

fn string_concat(ctx: &mut Ctx<'_>) -> Res {
    let shape = broadcast_inputs(ctx, [0, 1]).ok();
    ctx.set_type(0, tensor(Some(DataType::STRING), shape));
    Ok(())
}

fn regex_full_match(ctx: &mut Ctx<'_>) -> Res {
    let s = ctx.shape(0).map(<[Dim]>::to_vec);
    ctx.set_type(0, tensor(Some(DataType::BOOL), s));
    Ok(())
}

fn tf_idf(ctx: &mut Ctx<'_>) -> Res {
    let indexes = ctx.attr_ints("ngram_indexes").unwrap_or_default();
    if indexes.is_empty() || indexes.iter().any(|&i| i < 0) {
        return invalid("TfIdfVectorizer ngram_indexes must be non-empty and non-negative");
    }
    let width = Dim::known(indexes.iter().max().copied().unwrap_or(0) + 1);
    let out = match ctx.shape(0) {
        None => None,
        Some([_]) => Some(vec![width]),
        Some([n, _]) => Some(vec![n.clone(), width]),
        Some(s) => {
            return invalid(format!(
                "TfIdfVectorizer input must be 1-D or 2-D, not rank {}",
                s.len()
            ));
        }
    };
    ctx.set_type(0, tensor(Some(DataType::FLOAT), out));
    Ok(())
}
