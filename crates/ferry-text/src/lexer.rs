//! Tokens of the ONNX text syntax.
//!
//! The lexer follows `onnx/defs/parser.cc` so that text onnx accepts lexes the same here:
//! identifiers are ASCII `[A-Za-z_][A-Za-z0-9_]*`; strings are double-quoted and a backslash
//! makes the next character literal (there are no `\n`-style escapes); numbers are an optional
//! `-`, digits, at most one `.`, and an optional exponent, and are floats when they have a `.` or
//! an exponent; `inf`, `infinity` and `nan` (any case, optionally negated) are floats; `#`
//! comments run to the end of the line.
//!
//! The whole input is lexed up front. A lexing error does not abort: it ends the token stream
//! with an [`Kind::Error`] token, so the parser reports whichever problem comes first in the
//! text.

/// What a token is. Punctuation carries its character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Ident,
    Str,
    Int,
    Float,
    Punct(u8),
    Eof,
    Error,
}

/// A token: its kind and its byte range in the source.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// The tokens of `src`, ending with `Eof` or (on a lexing error) `Error`, plus the error's
/// message in that case.
pub(crate) fn lex(src: &str) -> (Vec<Token>, Option<String>) {
    let bytes = src.as_bytes();
    let mut toks = Vec::with_capacity(src.len() / 3 + 1);
    let mut i = 0;
    let tok = |kind, start, end| Token { kind, start, end };
    loop {
        // Whitespace and comments.
        while i < bytes.len() {
            match bytes[i] {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' => i += 1,
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                _ => break,
            }
        }
        let Some(&c) = bytes.get(i) else {
            toks.push(tok(Kind::Eof, i, i));
            return (toks, None);
        };
        let start = i;
        match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                i = ident_end(bytes, i);
                toks.push(tok(Kind::Ident, start, i));
            }
            b'"' => match string_end(bytes, i) {
                Some(end) => {
                    i = end;
                    toks.push(tok(Kind::Str, start, i));
                }
                None => {
                    toks.push(tok(Kind::Error, start, start));
                    return (toks, Some("this string is never closed (missing '\"')".into()));
                }
            },
            b'0'..=b'9' | b'-' => match number(bytes, i) {
                Ok((kind, end)) => {
                    i = end;
                    toks.push(tok(kind, start, i));
                }
                Err(msg) => {
                    toks.push(tok(Kind::Error, start, start));
                    return (toks, Some(msg));
                }
            },
            b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'<' | b'>' | b',' | b':' | b'=' | b'@'
            | b'.' | b'?' => {
                i += 1;
                toks.push(tok(Kind::Punct(c), start, i));
            }
            _ => {
                let ch = src[start..].chars().next().unwrap_or('?');
                toks.push(tok(Kind::Error, start, start));
                return (toks, Some(format!("unexpected character {ch:?}")));
            }
        }
    }
}

fn ident_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        i += 1;
    }
    i
}

/// The end (just past the closing quote) of the string starting at `i`, if it is closed.
fn string_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// Lexes a number (or a negated `inf`/`nan`) starting at `i`.
fn number(bytes: &[u8], mut i: usize) -> Result<(Kind, usize), String> {
    if bytes[i] == b'-' {
        i += 1;
        if i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            let end = ident_end(bytes, i);
            let word = String::from_utf8_lossy(&bytes[i..end]).to_ascii_lowercase();
            return match word.as_str() {
                "inf" | "infinity" | "nan" => Ok((Kind::Float, end)),
                _ => Err(format!("expected a number after '-', found '{word}'")),
            };
        }
        if i >= bytes.len() || !bytes[i].is_ascii_digit() {
            return Err("expected a number after '-'".into());
        }
    }
    let mut float = false;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        float = true;
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        float = true;
        i += 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let digits = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits {
            return Err("expected digits in the exponent of this number".into());
        }
    }
    Ok((if float { Kind::Float } else { Kind::Int }, i))
}

/// The value of the string literal `raw` (with its quotes): a backslash keeps the next
/// character literally, as onnx's parser does.
pub(crate) fn unescape(raw: &str) -> String {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        let (toks, _) = lex(src);
        toks.iter().map(|t| (t.kind, &src[t.start..t.end])).collect()
    }

    #[test]
    fn tokens() {
        use Kind::*;
        assert_eq!(
            kinds("Y = Relu(X) # comment\n\"a\\\"b\" 1 -2.5 1e-3 -inf =>"),
            vec![
                (Ident, "Y"),
                (Punct(b'='), "="),
                (Ident, "Relu"),
                (Punct(b'('), "("),
                (Ident, "X"),
                (Punct(b')'), ")"),
                (Str, "\"a\\\"b\""),
                (Int, "1"),
                (Float, "-2.5"),
                (Float, "1e-3"),
                (Float, "-inf"),
                (Punct(b'='), "="),
                (Punct(b'>'), ">"),
                (Eof, ""),
            ]
        );
        assert_eq!(unescape("\"a\\\"b\\\\c\""), "a\"b\\c");
    }

    #[test]
    fn errors_end_the_stream() {
        let (toks, err) = lex("x \"open");
        assert_eq!(toks.last().map(|t| t.kind), Some(Kind::Error));
        assert!(err.unwrap().contains("never closed"));
        assert!(lex("a $").1.unwrap().contains("unexpected character '$'"));
        assert!(lex("-x").1.unwrap().contains("after '-'"));
        assert!(lex("1e").1.unwrap().contains("exponent"));
    }
}
