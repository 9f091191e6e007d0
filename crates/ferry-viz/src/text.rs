//! Text measuring and shortening.
//!
//! The SVG is laid out without a font engine, so every label is drawn in a monospace font whose
//! advance width is a fixed fraction of the font size: measuring is then counting characters,
//! and boxes fit their text in any viewer that has some monospace font.

/// Advance width of one monospace character, as a fraction of the font size (DejaVu Sans Mono,
/// Menlo and Consolas are all close to 0.6).
const ADVANCE: f64 = 0.61;

/// Width of `text` drawn at `size` pixels.
pub fn width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * ADVANCE
}

/// `text` cut to at most `max` characters, keeping the start and marking the cut with `…`.
pub fn clip_end(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// A long dotted or slashed name (`encoder.layers.3.attn.q_proj.weight`) cut to at most `max`
/// characters, keeping the end, which is the part that differs between a layer's weights.
pub fn clip_name(name: &str, max: usize) -> String {
    let n = name.chars().count();
    if n <= max {
        return name.to_string();
    }
    let chars: Vec<char> = name.chars().collect();
    let keep = max.saturating_sub(1);
    let tail = &chars[n - keep..];
    // Prefer to start just after a separator, if one is near.
    let cut = tail
        .iter()
        .position(|c| matches!(c, '.' | '/' | ':' | '_'))
        .filter(|&p| p < keep / 2)
        .map_or(0, |p| p + 1);
    let kept: String = tail[cut..].iter().collect();
    format!("…{kept}")
}

/// Escapes text for XML character data and attribute values.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even as references.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping() {
        assert_eq!(clip_end("kernel_shape", 20), "kernel_shape");
        assert_eq!(clip_end("abcdefghij", 5), "abcd…");
        assert_eq!(clip_name("encoder.layers.3.attn.q_proj.weight", 20), "…attn.q_proj.weight");
        assert_eq!(clip_name("short", 20), "short");
        assert!(clip_name("x".repeat(50).as_str(), 10).chars().count() <= 10);
    }

    #[test]
    fn escaping() {
        assert_eq!(xml("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;?");
    }

    #[test]
    fn widths_grow_with_length_and_size() {
        assert!(width("abcd", 12.0) > width("abc", 12.0));
        assert!(width("abc", 14.0) > width("abc", 12.0));
    }
}
