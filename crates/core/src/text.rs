//! Text Burnrate did not write (provider-supplied key, model and project names, provider error
//! messages, gateway names, notes) made inert for where it is shown: a terminal, Markdown, HTML.
//! Such text can carry escape sequences that retitle or clear a terminal, bidirectional
//! overrides that reorder what is read, line breaks that forge a line of their own (`ok: …`),
//! and markup. JSON output needs none of this: serde escapes what JSON must.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether a character changes how the text around it is shown instead of showing itself: C0
/// and C1 control characters and DEL (which include the line breaks and ESC), the Unicode
/// line and paragraph separators, and the bidirectional formatting characters (embeddings,
/// overrides, isolates and marks) that make text read in another order than it is written.
pub fn is_unsafe_to_show(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` for a terminal: every character [`is_unsafe_to_show`] becomes a visible escape
/// (`\n`, `\r`, `\t`, `\x1b`, `\u{202e}`), so a name prints as one line of what it contains.
/// Borrowed when there is nothing to escape, which is almost always.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_to_show) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_to_show(c) && c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_unsafe_to_show(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` as one line that shows what it says (a metric's label value): see [`one_line`].
pub fn single_line(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_unsafe_to_show) {
        Cow::Owned(one_line(text).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// Line breaks and tabs become spaces (the text stays one line, one table cell); every other
/// character [`is_unsafe_to_show`] is dropped.
fn one_line(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().filter_map(|c| match c {
        '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' => Some(' '),
        c if is_unsafe_to_show(c) => None,
        c => Some(c),
    })
}

/// `text` as one line of Markdown that shows exactly what it says, in running text or a table
/// cell: `&`, `<` and `>` as HTML entities (no raw HTML, no autolink), the characters Markdown
/// acts on (`\`, `` ` ``, `*`, `_`, `[`, `]`, `|`, `~`, `#`) escaped with a backslash, line breaks
/// flattened and control and bidirectional characters dropped. An `_` between two letters or
/// digits stays as it is: CommonMark never starts emphasis inside a word, and ids such as
/// `key_abc` stay readable in the raw file.
pub fn markdown(text: &str) -> String {
    let chars: Vec<char> = one_line(text).collect();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '_' if i > 0 && chars[i - 1].is_alphanumeric() && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric()) => {
                out.push('_')
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` for HTML element content or a quoted attribute value: `& < > " '` as entities;
/// control and bidirectional characters other than line breaks and tabs dropped.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if is_unsafe_to_show(c) => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "x\x1b]0;pwned\x07 \u{202e}gnp.exe\nok: forged\r\u{9b}2J\x7f\u{2066}";

    #[test]
    fn printable_leaves_ordinary_text_borrowed() {
        for s in ["gpt-4o-mini", "Production | web", "Clé de prod ✓", "漢字", "C:\\Users\\x", ""] {
            assert!(matches!(printable(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn printable_shows_every_control_and_bidi_character_as_an_escape() {
        assert_eq!(printable(HOSTILE), "x\\x1b]0;pwned\\x07 \\u{202e}gnp.exe\\nok: forged\\r\\u{9b}2J\\x7f\\u{2066}");
        assert_eq!(printable("a\tb\0"), "a\\tb\\x00");
        for c in ['\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{2069}', '\u{2028}', '\u{85}'] {
            let shown = printable(&c.to_string()).into_owned();
            assert!(shown.starts_with("\\u{") && shown.is_ascii(), "{c:?} -> {shown}");
        }
    }

    #[test]
    fn printable_output_has_nothing_unsafe_left() {
        assert!(!printable(HOSTILE).chars().any(is_unsafe_to_show));
    }

    #[test]
    fn markdown_shows_markup_and_html_as_text() {
        assert_eq!(markdown("<script>alert(1)</script> & co"), "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co");
        assert_eq!(markdown("Production | web"), "Production \\| web");
        assert_eq!(
            markdown("*bold* [link](http://x) `code` ~x~ # \\"),
            "\\*bold\\* \\[link\\](http://x) \\`code\\` \\~x\\~ \\# \\\\"
        );
        assert_eq!(markdown("_emph_ key_abc"), "\\_emph\\_ key_abc");
    }

    #[test]
    fn markdown_is_one_line_without_control_or_bidi_characters() {
        assert_eq!(markdown("a\nb\r\nc\td"), "a b  c d");
        let md = markdown(HOSTILE);
        assert!(!md.chars().any(is_unsafe_to_show) && !md.contains('\n'), "{md:?}");
        assert_eq!(md, "x\\]0;pwned gnp.exe ok: forged 2J");
    }

    #[test]
    fn html_escapes_markup_and_drops_control_and_bidi_characters() {
        assert_eq!(
            html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(html("a\u{202e}b\x1bc\nd"), "abc\nd");
    }
}
