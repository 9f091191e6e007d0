//! Unit tests: budget guards, invalid inputs, attribute defaults.

use super::*;
use bytes::Bytes;
use ferry_ir::{Attribute, DataType};

fn i64_tensor(dims: &[i64], v: &[i64]) -> Tensor {
    let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    Tensor::from_raw("", DataType::INT64, dims.to_vec(), Bytes::from(b))
}

fn i64s(t: &Tensor) -> Vec<i64> {
    t.le_bytes()
        .unwrap()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn constant_of_shape_respects_the_budget() {
    let node = Node::new("ConstantOfShape");
    let shape = i64_tensor(&[2], &[1000, 1001]);
    assert_eq!(evaluate(&node, 21, &[Some(&shape)]), Ok(None));
    let small = Budget { max_elements: 6 };
    let shape = i64_tensor(&[2], &[2, 3]);
    let out = evaluate_with(&node, 21, &[Some(&shape)], small).unwrap().unwrap();
    assert_eq!(out[0].dims, vec![2, 3]);
    assert_eq!(out[0].dtype, Some(DataType::FLOAT));
    let shape = i64_tensor(&[2], &[i64::MAX, i64::MAX]);
    assert_eq!(evaluate(&node, 21, &[Some(&shape)]), Ok(None));
}

#[test]
fn expand_and_tile_refuse_growth_over_budget() {
    let x = i64_tensor(&[1], &[7]);
    let shape = i64_tensor(&[1], &[2_000_000]);
    assert_eq!(evaluate(&Node::new("Expand"), 13, &[Some(&x), Some(&shape)]), Ok(None));
    assert_eq!(evaluate(&Node::new("Tile"), 13, &[Some(&x), Some(&shape)]), Ok(None));
    let reps = i64_tensor(&[1], &[3]);
    let out = evaluate(&Node::new("Tile"), 13, &[Some(&x), Some(&reps)]).unwrap().unwrap();
    assert_eq!(i64s(&out[0]), vec![7, 7, 7]);
}

#[test]
fn invalid_inputs_are_errors() {
    let x = i64_tensor(&[3], &[1, 2, 3]);
    let idx = i64_tensor(&[1], &[3]);
    let err = evaluate(&Node::new("Gather"), 13, &[Some(&x), Some(&idx)]).unwrap_err();
    assert!(err.message.contains("out of range"), "{err}");
    let shape = i64_tensor(&[1], &[4]);
    assert!(evaluate(&Node::new("Reshape"), 14, &[Some(&x), Some(&shape)]).is_err());
}

#[test]
fn shape_start_end_and_unsupported_ops() {
    let x = i64_tensor(&[2, 3, 4], &[0; 24]);
    let node = Node::new("Shape").with_attr(Attribute::new("start", AttrValue::Int(-2)));
    let out = evaluate(&node, 21, &[Some(&x)]).unwrap().unwrap();
    assert_eq!(i64s(&out[0]), vec![3, 4]);
    assert_eq!(evaluate(&Node::new("Conv"), 21, &[Some(&x)]), Ok(None));
    assert_eq!(evaluate(&Node::new("Shape").with_domain("com.example"), 21, &[Some(&x)]), Ok(None));
}

#[test]
fn integer_division_by_zero_is_left_alone() {
    let a = i64_tensor(&[1], &[1]);
    let b = i64_tensor(&[1], &[0]);
    assert_eq!(evaluate(&Node::new("Div"), 14, &[Some(&a), Some(&b)]), Ok(None));
}

#[test]
fn extreme_pads_do_not_overflow() {
    let x = i64_tensor(&[3], &[1, 2, 3]);
    let pads = i64_tensor(&[2], &[i64::MIN, i64::MAX]);
    let out = evaluate(&Node::new("Pad"), 13, &[Some(&x), Some(&pads)]);
    assert!(matches!(out, Ok(Some(_)) | Ok(None) | Err(_)));
    let pads = i64_tensor(&[2], &[-1, 2]);
    let out = evaluate(&Node::new("Pad"), 13, &[Some(&x), Some(&pads)]).unwrap().unwrap();
    assert_eq!(i64s(&out[0]), vec![2, 3, 0, 0]);
}

fn ints_attr(name: &str, v: &[i64]) -> Attribute {
    Attribute::new(name, AttrValue::Ints(v.to_vec()))
}

#[test]
fn attribute_forms_of_older_opsets() {
    let x = i64_tensor(&[2, 3], &[1, 2, 3, 4, 5, 6]);
    // Unsqueeze/Squeeze took axes as an attribute before opset 13.
    let node = Node::new("Unsqueeze").with_attr(ints_attr("axes", &[0, -1]));
    let out = evaluate(&node, 11, &[Some(&x)]).unwrap().unwrap();
    assert_eq!(out[0].dims, vec![1, 2, 3, 1]);
    let node = Node::new("Squeeze").with_attr(ints_attr("axes", &[0]));
    let back = evaluate(&node, 11, &[Some(&out[0])]).unwrap().unwrap();
    assert_eq!(back[0].dims, vec![2, 3, 1]);
    // Slice took starts/ends/axes as attributes before opset 10.
    let node = Node::new("Slice")
        .with_attr(ints_attr("starts", &[1]))
        .with_attr(ints_attr("ends", &[i64::MAX]))
        .with_attr(ints_attr("axes", &[1]));
    let out = evaluate(&node, 9, &[Some(&x)]).unwrap().unwrap();
    assert_eq!(i64s(&out[0]), vec![2, 3, 5, 6]);
    // ReduceSum took axes as an attribute before opset 13; keepdims defaults to 1.
    let node = Node::new("ReduceSum").with_attr(ints_attr("axes", &[1]));
    let out = evaluate(&node, 11, &[Some(&x)]).unwrap().unwrap();
    assert_eq!((out[0].dims.clone(), i64s(&out[0])), (vec![2, 1], vec![6, 15]));
    // Split took its sizes as an attribute before opset 13.
    let mut node = Node::new("Split").with_attr(ints_attr("split", &[1, 2]));
    node.attributes.push(Attribute::new("axis", AttrValue::Int(1)));
    let err = evaluate(&node, 11, &[Some(&x)]);
    // A node built without output values declares no outputs: two sizes for zero outputs.
    assert!(err.is_err());
    // Pad took pads and value as attributes before opset 11.
    let node = Node::new("Pad").with_attr(ints_attr("pads", &[0, 1, 0, 0]));
    let out = evaluate(&node, 2, &[Some(&x)]).unwrap().unwrap();
    assert_eq!(i64s(&out[0]), vec![0, 1, 2, 3, 0, 4, 5, 6]);
    // Reshape took the shape as an attribute before opset 5.
    let node = Node::new("Reshape").with_attr(ints_attr("shape", &[3, -1]));
    let out = evaluate(&node, 1, &[Some(&x)]).unwrap().unwrap();
    assert_eq!(out[0].dims, vec![3, 2]);
}
