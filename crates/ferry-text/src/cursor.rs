//! The parser's state and its token-level helpers: looking ahead, consuming punctuation and
//! names, and error messages of the form "expected X, found Y" at the right place.
//!
//! The grammar itself is in `parser.rs` (models, graphs, nodes, functions), `attrs.rs`,
//! `types.rs` and `tensors.rs`, each an `impl Parser` block over these helpers.

use crate::ast::Name;
use crate::error::ParseError;
use crate::lexer::{Kind, Token, lex, unescape};
use ferry_ir::{OpsetImport, StringEntry};
use std::collections::HashSet;

pub(crate) type PResult<T> = Result<T, ParseError>;

pub(crate) struct Parser<'s> {
    pub(crate) src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    lex_error: Option<String>,
    pub(crate) graph_depth: usize,
    pub(crate) type_depth: usize,
}

impl<'s> Parser<'s> {
    pub(crate) fn new(src: &'s str) -> Parser<'s> {
        let (toks, lex_error) = lex(src);
        Parser { src, toks, pos: 0, lex_error, graph_depth: 0, type_depth: 0 }
    }

    // ---- the token cursor ----

    /// The next token (the last one, `Eof` or `Error`, repeats forever).
    pub(crate) fn peek(&self) -> Token {
        self.toks[self.pos]
    }

    /// The token after the next one.
    pub(crate) fn peek2(&self) -> Token {
        self.toks[(self.pos + 1).min(self.toks.len() - 1)]
    }

    pub(crate) fn bump(&mut self) -> Token {
        let t = self.peek();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    pub(crate) fn text(&self, t: Token) -> &'s str {
        &self.src[t.start..t.end]
    }

    pub(crate) fn at_punct(&self, c: u8) -> bool {
        self.peek().kind == Kind::Punct(c)
    }

    pub(crate) fn at_eof(&self) -> bool {
        self.peek().kind == Kind::Eof
    }

    pub(crate) fn eat(&mut self, c: u8) -> bool {
        let hit = self.at_punct(c);
        if hit {
            self.bump();
        }
        hit
    }

    /// Consumes punctuation `c`; `context` finishes the sentence "expected 'c' ...".
    pub(crate) fn expect(&mut self, c: u8, context: &str) -> PResult<Token> {
        if self.at_punct(c) {
            return Ok(self.bump());
        }
        Err(self.expected(&format!("'{}' {context}", c as char)))
    }

    /// `=>`: the two characters must touch, as in onnx.
    pub(crate) fn arrow(&mut self, context: &str) -> PResult<()> {
        let (a, b) = (self.peek(), self.peek2());
        if a.kind == Kind::Punct(b'=') && b.kind == Kind::Punct(b'>') && b.start == a.end {
            self.bump();
            self.bump();
            return Ok(());
        }
        Err(self.expected(&format!("'=>' {context}")))
    }

    pub(crate) fn error_at(&self, offset: usize, msg: impl Into<String>) -> ParseError {
        ParseError::at(self.src, offset, msg)
    }

    /// "expected WHAT, found THE NEXT TOKEN" at the next token (or the lexer's error there).
    pub(crate) fn expected(&self, what: &str) -> ParseError {
        let t = self.peek();
        if t.kind == Kind::Error {
            let msg = self.lex_error.clone().unwrap_or_else(|| "unreadable text".into());
            return self.error_at(t.start, msg);
        }
        self.error_at(t.start, format!("expected {what}, found {}", self.describe(t)))
    }

    fn describe(&self, t: Token) -> String {
        let text = self.text(t);
        let short = |s: &str| {
            let mut c: String = s.chars().take(40).collect();
            if c.len() < s.len() {
                c.push_str("...");
            }
            c
        };
        match t.kind {
            Kind::Eof => "the end of the input".into(),
            Kind::Ident => format!("'{}'", short(text)),
            Kind::Str => format!("the string {}", short(text)),
            Kind::Int | Kind::Float => format!("the number {}", short(text)),
            Kind::Punct(c) => format!("'{}'", c as char),
            Kind::Error => "unreadable text".into(),
        }
    }

    // ---- small pieces ----

    pub(crate) fn ident(&mut self, what: &str) -> PResult<Name> {
        let t = self.peek();
        if t.kind != Kind::Ident {
            return Err(self.expected(what));
        }
        self.bump();
        Ok(Name { text: self.text(t).to_string(), pos: t.start })
    }

    /// An identifier or a quoted string.
    pub(crate) fn quotable(&mut self, what: &str) -> PResult<Name> {
        let t = self.peek();
        let text = match t.kind {
            Kind::Ident => self.text(t).to_string(),
            Kind::Str => unescape(self.text(t)),
            _ => return Err(self.expected(what)),
        };
        self.bump();
        Ok(Name { text, pos: t.start })
    }

    pub(crate) fn string(&mut self, what: &str) -> PResult<String> {
        let t = self.peek();
        if t.kind != Kind::Str {
            return Err(self.expected(what));
        }
        self.bump();
        Ok(unescape(self.text(t)))
    }

    pub(crate) fn int(&mut self, what: &str) -> PResult<i64> {
        let t = self.peek();
        if t.kind != Kind::Int {
            return Err(self.expected(what));
        }
        self.bump();
        self.text(t).parse().map_err(|_| {
            self.error_at(t.start, format!("{} does not fit in 64 bits", self.text(t)))
        })
    }

    /// `[ "domain" : version, ... ]`
    pub(crate) fn opset_list(&mut self) -> PResult<Vec<OpsetImport>> {
        self.expect(b'[', "to open the opset list, as in [\"\" : 21]")?;
        let mut out = Vec::new();
        if !self.eat(b']') {
            loop {
                let domain =
                    self.string("an opset domain in quotes, like \"\" or \"com.example\"")?;
                self.expect(b':', "between the opset domain and its version")?;
                let version = self.int("the opset version number")?;
                out.push(OpsetImport { domain: Some(domain), version: Some(version) });
                if !self.eat(b',') {
                    break;
                }
            }
            self.expect(b']', "to close the opset list")?;
        }
        Ok(out)
    }

    /// `[ "key" : "value", ... ]`: metadata and external-data entries.
    pub(crate) fn string_pairs(&mut self, what: &str) -> PResult<Vec<StringEntry>> {
        self.expect(b'[', &format!("to open the {what}"))?;
        let mut out = Vec::new();
        if !self.eat(b']') {
            loop {
                let key = self.string("a key in quotes")?;
                self.expect(b':', "between the key and its value")?;
                let value = self.string("a value in quotes")?;
                out.push(StringEntry { key: Some(key), value: Some(value) });
                if !self.eat(b',') {
                    break;
                }
            }
            self.expect(b']', &format!("to close the {what}"))?;
        }
        Ok(out)
    }

    /// Names separated by commas, where an element may be left empty (onnx's id-list rules:
    /// `(,x)` is `["", x]`, `(x,)` is `[x]`, `()` is empty). `""` is always an empty name.
    pub(crate) fn name_list(&mut self, what: &str) -> PResult<Vec<Name>> {
        let mut names = Vec::new();
        loop {
            let t = self.peek();
            let item = match t.kind {
                Kind::Ident | Kind::Str => Some(self.quotable(what)?),
                _ => None,
            };
            let comma = self.eat(b',');
            match item {
                Some(n) => names.push(n),
                None if comma => names.push(Name { text: String::new(), pos: t.start }),
                None => {}
            }
            if !comma {
                return Ok(names);
            }
        }
    }

    /// `key: value` fields between `<` and `>`, each handled by `field`; a key may appear once.
    pub(crate) fn fields(
        &mut self,
        what: &str,
        mut field: impl FnMut(&mut Self, &Name) -> PResult<bool>,
        known: &str,
    ) -> PResult<()> {
        self.expect(b'<', &format!("to open the {what}"))?;
        let mut seen = HashSet::new();
        if self.eat(b'>') {
            return Ok(());
        }
        loop {
            let key = self.ident(&format!("a {what} field ({known})"))?;
            if !seen.insert(key.text.clone()) {
                return Err(self.error_at(key.pos, format!("'{}' is given twice", key.text)));
            }
            self.expect(b':', &format!("after '{}'", key.text))?;
            if !field(self, &key)? {
                return Err(self.error_at(
                    key.pos,
                    format!("unknown {what} field '{}' (expected one of {known})", key.text),
                ));
            }
            if !self.eat(b',') {
                break;
            }
        }
        self.expect(b'>', &format!("to close the {what}"))?;
        Ok(())
    }
}
