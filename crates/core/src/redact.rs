//! Redaction of key-shaped strings. Every error message and every log line passes through
//! [`redact`], so a key that slips into a provider's error body, a URL or a debug print is
//! replaced by its fingerprint before it can reach a terminal, a log file or the UI.
//!
//! Two nets: patterns for the key shapes providers issue (`sk-…`, `Bearer …`, …) and an exact
//! list of the secrets this process has loaded (relay keys can have any shape).

use std::borrow::Cow;
use std::sync::{LazyLock, RwLock};

use regex::Regex;

use crate::fingerprint::fingerprint;

static KEY_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?x)",
        // OpenAI, Anthropic, OpenRouter, DeepSeek, LiteLLM. Real keys are 40+ characters; 16
        // leaves prefixes such as "sk-ant-admin…" in help texts readable.
        r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{16,}",
        r"|\bAIza[0-9A-Za-z_\-]{30,}",               // Google
        r"|\bgsk_[A-Za-z0-9]{20,}",                  // Groq
        r"|\bxai-[A-Za-z0-9]{20,}",                  // xAI
        r"|(?i:bearer)\s+[A-Za-z0-9._~+/\-]{12,}=*", // Authorization headers
        r"|(?i:x-api-key)[\x22']?\s*[:=]\s*[\x22']?[A-Za-z0-9._\-]{12,}",
    ))
    .expect("valid regex")
});

static KNOWN_SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers a secret this process has loaded so that it is redacted wherever it appears,
/// whatever its shape. Very short values are ignored: they would redact ordinary words.
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    if secret.len() < 8 {
        return;
    }
    let mut known = KNOWN_SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if !known.iter().any(|k| k == secret) {
        known.push(secret.to_owned());
    }
}

/// Replaces every key-shaped substring with a fingerprint (`sk-…abcd`).
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    {
        let known = KNOWN_SECRETS.read().unwrap_or_else(|p| p.into_inner());
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), &fingerprint(secret)));
            }
        }
    }
    if KEY_PATTERN.is_match(&out) {
        let replaced = KEY_PATTERN
            .replace_all(&out, |caps: &regex::Captures<'_>| {
                let m = &caps[0];
                // Keep the header name so the message still reads well.
                let lower = m.to_ascii_lowercase();
                if lower.starts_with("bearer") || lower.starts_with("x-api-key") {
                    let cut = m.find(|c: char| c.is_whitespace() || c == ':' || c == '=').unwrap_or(m.len());
                    format!("{} <redacted>", &m[..cut])
                } else {
                    fingerprint(m)
                }
            })
            .into_owned();
        out = Cow::Owned(replaced);
    }
    out
}

/// At most `max_chars` of `text` for a message, redacted before it is cut (a key cut in half
/// no longer matches a key's shape). When the cut falls inside a word, that word goes too: it
/// may be the start of a key the redactor could not recognise whole.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let redacted = redact(text.trim());
    let mut chars = redacted.char_indices();
    let Some((cut, next)) = chars.nth(max_chars) else { return redacted.into_owned() };
    let mut kept = &redacted[..cut];
    if !next.is_whitespace() {
        kept = kept.trim_end_matches(|c: char| !c.is_whitespace());
    }
    format!("{}…", kept.trim_end())
}

/// A `std::io::Write` that redacts each write before passing it on; used under the log
/// subscribers so no log line, whatever its origin, reaches a file or terminal unredacted.
pub struct RedactingWriter<W>(pub W);

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_key_shapes_are_replaced_by_fingerprints() {
        let fake = "sk-proj-FAKEFAKEFAKEFAKEFAKE1234";
        let msg = format!("Incorrect API key provided: {fake}. See the docs.");
        let out = redact(&msg);
        assert!(!out.contains(fake), "{out}");
        assert!(out.contains("sk-…1234"), "{out}");
        assert!(out.ends_with("See the docs."));
    }

    #[test]
    fn bearer_headers_and_x_api_key_are_redacted() {
        let out = redact("Authorization: Bearer faketoken_ABCDEFGHIJKLMNOP and x-api-key: fakeANTHROPICvalue123");
        assert!(!out.contains("faketoken_ABCDEFGHIJKLMNOP"), "{out}");
        assert!(!out.contains("fakeANTHROPICvalue123"), "{out}");
        assert!(out.contains("Bearer <redacted>"), "{out}");
    }

    #[test]
    fn registered_secrets_of_any_shape_are_redacted() {
        let odd = "relay_fake_TOKEN_no_prefix_9876";
        assert_eq!(redact(odd), odd, "an unknown shape passes until registered");
        register_secret(odd);
        let msg = format!("upstream said: bad key {odd}!");
        let out = redact(&msg);
        assert!(!out.contains(odd), "{out}");
        assert!(out.contains("…9876"), "{out}");
    }

    #[test]
    fn key_prefixes_in_help_text_are_not_keys() {
        let help = "needs an Admin API key (sk-ant-admin…); standard keys (sk-ant-api03-…) cannot read usage";
        assert_eq!(redact(help), help);
    }

    #[test]
    fn an_excerpt_never_keeps_part_of_a_key() {
        let key = "sk-or-v1-FAKEfakeFAKEfakeFAKEfake0000";
        let body = format!("<html>upstream rejected {key} for this request</html>");
        // Every cut position, including the ones inside the key.
        for max in 0..body.chars().count() + 2 {
            let out = excerpt(&body, max);
            for prefix_len in 8..key.len() {
                assert!(!out.contains(&key[..prefix_len]), "cut at {max}: {out}");
            }
            assert!(out.chars().count() <= max + 1, "cut at {max}: {out}");
        }
        assert_eq!(excerpt("short", 200), "short");
        assert_eq!(excerpt("two words here", 7), "two…");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let text = "synced 12 rows for source work-openai (task-runner, desk-2)";
        assert!(matches!(redact(text), Cow::Borrowed(_)));
    }

    #[test]
    fn the_writer_redacts_what_it_writes() {
        use std::io::Write;
        let mut buf = Vec::new();
        write!(RedactingWriter(&mut buf), "key=sk-or-v1-FAKEfakeFAKEfake0000").unwrap();
        let s = String::from_utf8(buf).unwrap();
        assert_eq!(s, "key=sk-…0000");
    }
}
