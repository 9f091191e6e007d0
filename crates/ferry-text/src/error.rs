//! Parse errors that point into the text.
//!
//! The main use of the text format is writing small test graphs by hand, so an error must say
//! where (line and column, as an editor shows them) and what the parser expected there.

use std::fmt;

/// A syntax or structure error at a place in the input.
///
/// `Display` gives one line, `LINE:COLUMN: MESSAGE`; the alternate form (`{:#}`) adds the
/// offending line with a caret under the column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Line number, from 1.
    pub line: usize,
    /// Column in characters (not bytes), from 1.
    pub column: usize,
    /// What went wrong, usually "expected X, found Y".
    pub message: String,
    /// The text of the line the error is on, without its line break.
    pub line_text: String,
}

impl ParseError {
    /// An error at byte `offset` of `src` (clamped into the text and onto a character boundary).
    pub(crate) fn at(src: &str, offset: usize, message: impl Into<String>) -> ParseError {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &src[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
        ParseError {
            line: before.matches('\n').count() + 1,
            column: src[line_start..offset].chars().count() + 1,
            message: message.into(),
            line_text: src[line_start..line_end].trim_end_matches('\r').to_string(),
        }
    }

    /// The offending line with a caret under the error column.
    pub fn snippet(&self) -> String {
        let pad: String = self
            .line_text
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("{}\n{pad}^", self.line_text)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)?;
        if f.alternate() {
            write!(f, "\n{}", self.snippet())?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let src = "ab\nçd = x\n";
        let e = ParseError::at(src, src.find('=').unwrap(), "expected '('");
        assert_eq!((e.line, e.column), (2, 4));
        assert_eq!(e.line_text, "çd = x");
        assert_eq!(e.to_string(), "2:4: expected '('");
        assert_eq!(format!("{e:#}"), "2:4: expected '('\nçd = x\n   ^");
        let end = ParseError::at(src, 999, "unexpected end");
        assert_eq!((end.line, end.column), (3, 1));
    }
}
