//! Recursive-descent parser for models, graphs, functions and nodes.
//!
//! The grammar is onnx's (`docs/Syntax.md`, as `onnx/defs/parser.cc` implements it):
//!
//! ```text
//! model    ::= ('<' field (',' field)* '>')? graph function*
//! graph    ::= name '(' input-list ')' '=>' '(' value-infos ')' ('<' value-or-inits '>')? nodes
//! nodes    ::= '{' node* '}'
//! node     ::= ('[' name ']')? names '=' op (':' overload)? attrs? '(' names ')' attrs?
//! function ::= ('<' field (',' field)* '>')? name ('<' (id | attr) (',' ...)* '>')?
//!              '(' fun-ios ')' '=>' '(' fun-ios ')' ('<' value-infos '>')? nodes
//! ```
//!
//! The token cursor is in `cursor.rs`; attribute values, types and tensor literals live in
//! `attrs.rs`, `types.rs` and `tensors.rs`, as further `impl Parser` blocks. Errors say what
//! was expected and what was found.
//! Where ferry accepts more than onnx (quoted operator and attribute names, quoted subgraph
//! names, lists of tensors, graphs and types), the extension is unambiguous, and text onnx
//! accepts means the same here.

use crate::ast::{Decl, FunctionAst, GraphAst, ModelAst, ModelHeader, Name, NodeAst};
use crate::cursor::{PResult, Parser};
use crate::lexer::Kind;

/// Graphs nested deeper than this are refused, as `ferry_onnx` refuses them: a guard against
/// stack exhaustion.
pub(crate) const MAX_GRAPH_DEPTH: usize = 32;

impl Parser<'_> {
    pub(crate) fn model(&mut self) -> PResult<ModelAst> {
        let mut h = ModelHeader::default();
        if self.at_punct(b'<') {
            let known = "ir_version, opset_import, producer_name, producer_version, domain, \
                         model_version, doc_string, metadata_props";
            self.fields(
                "model header",
                |p, key| {
                    match key.text.as_str() {
                        "ir_version" => h.ir_version = Some(p.int("the IR version number")?),
                        "opset_import" => h.opset_imports = p.opset_list()?,
                        "producer_name" => h.producer_name = Some(p.string("a quoted string")?),
                        "producer_version" => {
                            h.producer_version = Some(p.string("a quoted string")?)
                        }
                        "domain" => h.domain = Some(p.string("a quoted string")?),
                        "model_version" => h.model_version = Some(p.int("a version number")?),
                        "doc_string" => h.doc_string = Some(p.string("a quoted string")?),
                        "metadata_props" => h.metadata_props = p.string_pairs("metadata list")?,
                        _ => return Ok(false),
                    }
                    Ok(true)
                },
                known,
            )?;
        }
        let graph = self.graph()?;
        let mut functions = Vec::new();
        while !self.at_eof() {
            functions.push(self.function()?);
        }
        Ok(ModelAst { header: h, graph, functions })
    }

    /// A lone graph, which must be all of the input.
    pub(crate) fn graph_only(&mut self) -> PResult<GraphAst> {
        let g = self.graph()?;
        if !self.at_eof() {
            return Err(self.expected("the end of the input after the graph"));
        }
        Ok(g)
    }

    pub(crate) fn graph(&mut self) -> PResult<GraphAst> {
        let name = self.quotable("a graph name")?;
        self.graph_after_name(name)
    }

    pub(crate) fn graph_after_name(&mut self, name: Name) -> PResult<GraphAst> {
        if self.graph_depth >= MAX_GRAPH_DEPTH {
            return Err(self
                .error_at(name.pos, format!("graphs nest deeper than {MAX_GRAPH_DEPTH} levels")));
        }
        self.graph_depth += 1;
        let g = self.graph_body(name);
        self.graph_depth -= 1;
        g
    }

    fn graph_body(&mut self, name: Name) -> PResult<GraphAst> {
        let mut g = GraphAst { name: Some(name.text), pos: name.pos, ..GraphAst::default() };
        self.expect(b'(', "to open the graph's inputs")?;
        if !self.eat(b')') {
            loop {
                let (decl, init) = self.value_decl(true)?;
                g.inputs.push(decl);
                g.initializers.extend(init);
                if !self.eat(b',') {
                    break;
                }
            }
            self.expect(b')', "after the graph's inputs")?;
        }
        self.arrow("between the graph's inputs and outputs")?;
        self.expect(b'(', "to open the graph's outputs")?;
        if !self.eat(b')') {
            loop {
                g.outputs.push(self.value_decl(false)?.0);
                if !self.eat(b',') {
                    break;
                }
            }
            self.expect(b')', "after the graph's outputs")?;
        }
        if self.eat(b'<') && !self.eat(b'>') {
            loop {
                match self.value_decl(true)? {
                    (_, Some(init)) => g.initializers.push(init),
                    (decl, None) => g.value_info.push(decl),
                }
                if !self.eat(b',') {
                    break;
                }
            }
            self.expect(b'>', "to close the graph's initializers and value infos")?;
        }
        g.nodes = self.node_list()?;
        Ok(g)
    }

    /// `type? name`, and with `allow_init`, optionally `= data` (an initializer).
    fn value_decl(
        &mut self,
        allow_init: bool,
    ) -> PResult<(Decl, Option<(usize, ferry_ir::Tensor)>)> {
        let ty_pos = self.peek().start;
        let ty = if self.at_type() { Some(self.parse_type()?) } else { None };
        let what = if ty.is_some() { "a value name" } else { "a type or a value name" };
        let name_tok = self.peek();
        let name = self.quotable(what)?;
        // `flaot[2] X` or `flaot X`: a misspelt type reads as a name followed by junk.
        if ty.is_none()
            && name_tok.kind == Kind::Ident
            && matches!(self.peek().kind, Kind::Ident | Kind::Str | Kind::Punct(b'['))
        {
            return Err(self.error_at(
                name.pos,
                format!(
                    "'{}' is not a type (expected an element type such as float or int64, \
                     or seq, map, optional, sparse_tensor, opaque)",
                    name.text
                ),
            ));
        }
        let mut init = None;
        if allow_init && self.eat(b'=') {
            let Some(ty) = &ty else {
                return Err(self.error_at(
                    name.pos,
                    "an initializer needs a tensor type before its name, as in float[2] w = {1.0, 2.0}",
                ));
            };
            let t = self.tensor_literal(ty, ty_pos, Some(name.text.clone()))?;
            init = Some((name.pos, t));
        }
        Ok((Decl { name, ty }, init))
    }

    fn node_list(&mut self) -> PResult<Vec<NodeAst>> {
        self.expect(b'{', "to open the node list")?;
        let mut nodes = Vec::new();
        while !self.eat(b'}') {
            if self.at_eof() {
                return Err(self.expected("a node or '}' to close the node list"));
            }
            nodes.push(self.node()?);
        }
        Ok(nodes)
    }

    fn node(&mut self) -> PResult<NodeAst> {
        let pos = self.peek().start;
        let mut name = None;
        if self.eat(b'[') {
            name = Some(if self.at_punct(b']') {
                String::new()
            } else {
                self.quotable("a node name")?.text
            });
            self.expect(b']', "after the node name")?;
        }
        let outputs = self.name_list("an output name")?;
        self.expect(b'=', "after the node's outputs (a node reads: outputs = Op (inputs))")?;
        let (domain, op_type) = self.op_name()?;
        let overload =
            if self.eat(b':') { Some(self.quotable("an overload name")?.text) } else { None };
        let mut attributes = if self.at_punct(b'<') { self.attr_list()? } else { Vec::new() };
        self.expect(b'(', &format!("to open the inputs of {op_type}"))?;
        let inputs = self.name_list("an input name")?;
        self.expect(b')', &format!("after the inputs of {op_type}"))?;
        if attributes.is_empty() && self.at_punct(b'<') {
            attributes = self.attr_list()?;
        }
        Ok(NodeAst { pos, name, outputs, domain, op_type, overload, attributes, inputs })
    }

    /// `Op`, `com.example.Op`; parts may be quoted (a ferry extension for unusual names).
    fn op_name(&mut self) -> PResult<(Option<String>, String)> {
        let what = "an operator such as Relu or com.example.Foo";
        let mut parts = vec![self.quotable(what)?.text];
        while self.eat(b'.') {
            parts.push(self.quotable(what)?.text);
        }
        let op = parts.pop().unwrap_or_default();
        let domain = (!parts.is_empty()).then(|| parts.join("."));
        Ok((domain, op))
    }

    fn function(&mut self) -> PResult<FunctionAst> {
        let mut f = FunctionAst::default();
        if self.at_punct(b'<') {
            let known = "domain, overload, doc_string, opset_import";
            self.fields(
                "function header",
                |p, key| {
                    match key.text.as_str() {
                        "domain" => f.domain = Some(p.string("a quoted domain")?),
                        "overload" => f.overload = Some(p.string("a quoted overload name")?),
                        "doc_string" => f.doc_string = Some(p.string("a quoted string")?),
                        "opset_import" => f.opset_imports = p.opset_list()?,
                        _ => return Ok(false),
                    }
                    Ok(true)
                },
                known,
            )?;
        }
        let name = self.quotable("a function name (or the end of the input)")?;
        f.name = name.text;
        f.pos = name.pos;
        if self.eat(b'<') {
            loop {
                let attr = self.quotable("a function attribute name")?;
                if self.at_punct(b':') || self.at_punct(b'=') {
                    f.attribute_defaults.push(self.attr_after_name(attr)?);
                } else {
                    f.attributes.push(attr.text);
                }
                if !self.eat(b',') {
                    break;
                }
            }
            self.expect(b'>', "to close the function's attributes")?;
        }
        self.function_ios(&mut f.inputs, &mut f.value_info, "inputs")?;
        self.arrow("between the function's inputs and outputs")?;
        self.function_ios(&mut f.outputs, &mut f.value_info, "outputs")?;
        if self.eat(b'<') && !self.eat(b'>') {
            loop {
                f.value_info.push(self.value_decl(false)?.0);
                if !self.eat(b',') {
                    break;
                }
            }
            self.expect(b'>', "to close the function's value infos")?;
        }
        self.graph_depth += 1;
        let nodes = self.node_list();
        self.graph_depth -= 1;
        f.nodes = nodes?;
        Ok(f)
    }

    /// A function's inputs or outputs: names, each optionally typed (the type is recorded as
    /// a value info, as onnx does).
    fn function_ios(
        &mut self,
        names: &mut Vec<Name>,
        value_info: &mut Vec<Decl>,
        what: &str,
    ) -> PResult<()> {
        self.expect(b'(', &format!("to open the function's {what}"))?;
        if self.eat(b')') {
            return Ok(());
        }
        loop {
            let decl = self.value_decl(false)?.0;
            names.push(decl.name.clone());
            if decl.ty.is_some() {
                value_info.push(decl);
            }
            if !self.eat(b',') {
                break;
            }
        }
        self.expect(b')', &format!("after the function's {what}"))?;
        Ok(())
    }
}
