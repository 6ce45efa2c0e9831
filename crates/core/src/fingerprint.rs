//! How a secret is named where it may be shown: never more than a small part of it. A leaf
//! module, so the redactor, the error type and the secret store can all use it.

/// A display fingerprint: the key's public prefix and its last four characters, `sk-…abcd`.
/// Short values show only their last two characters so that a fingerprint never reveals
/// more than a small part of any secret.
pub fn fingerprint(key: &str) -> String {
    let key = key.trim();
    let prefix = if key.starts_with("sk-") { "sk-" } else { "" };
    let chars: Vec<char> = key.chars().collect();
    let tail = if chars.len() >= 16 {
        4
    } else if chars.len() >= 8 {
        2
    } else {
        0
    };
    let last: String = chars[chars.len() - tail..].iter().collect();
    format!("{prefix}…{last}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_show_prefix_and_last_four_only() {
        assert_eq!(fingerprint("sk-proj-FAKEFAKEFAKEFAKEabcd"), "sk-…abcd");
        assert_eq!(fingerprint("FAKEtokenFAKEtoken12"), "…en12");
        assert_eq!(fingerprint("short1234"), "…34");
        assert_eq!(fingerprint("tiny"), "…");
    }
}
