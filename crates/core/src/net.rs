//! What every HTTP client that carries a credential shares: where a key may go (its own origin
//! only, never a redirect's target), which addresses are usable at all, and how much of an
//! answer is read.
//!
//! reqwest follows up to ten redirects by default and strips only `Authorization` and `Cookie`
//! when the host changes, so a key in `x-api-key` or a custom header would be delivered to
//! whatever host a provider (or whoever answers in its name) points at. Clients built with
//! [`key_carrying_client`] follow a redirect only within the origin they were sent to.

use std::time::Duration;

use url::Url;

use crate::error::{Error, Result};

/// The most any answer of a provider, gateway or evidence page may be. The largest documented
/// page (a LiteLLM spend-log day, OpenAI's 180-bucket cost page) is well under 10 MiB; 64 MiB
/// leaves room for a large self-hosted proxy and stops a hostile endless body long before
/// memory does.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Same-origin redirects (a trailing slash, a moved path) that a client follows before giving up.
const MAX_SAME_ORIGIN_REDIRECTS: usize = 5;

/// A redirect to another origin, refused so the key is not sent there. Travels inside
/// reqwest's error and is found again with [`refused_redirect`].
#[derive(Debug)]
pub struct RedirectRefused {
    /// `scheme://host[:port]` of where the redirect pointed.
    pub to: String,
}

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redirected to {}; Burnrate does not send keys there", self.to)
    }
}

impl std::error::Error for RedirectRefused {}

/// `scheme://host[:port]` of `url`: what may be shown of it, and what a key is bound to.
pub fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// A client for requests that carry a key: redirects only within the first request's origin
/// (scheme, host and port), no `Referer`, and the given timeouts.
pub fn key_carrying_client(timeout: Duration, user_agent: &str) -> Result<reqwest::Client> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt.previous().first().is_some_and(|first| first.origin() == attempt.url().origin());
        if !same_origin {
            let to = origin_of(attempt.url());
            attempt.error(RedirectRefused { to })
        } else if attempt.previous().len() > MAX_SAME_ORIGIN_REDIRECTS {
            attempt.error(format!("more than {MAX_SAME_ORIGIN_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .redirect(policy)
        .referer(false)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(user_agent)
        .build()
        .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))
}

/// Where a refused cross-origin redirect pointed, if that is why `e` failed.
pub fn refused_redirect(e: &reqwest::Error) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(refused) = err.downcast_ref::<RedirectRefused>() {
            return Some(refused.to.clone());
        }
        cur = err.source();
    }
    None
}

/// Checks that `text` is an absolute http(s) URL with a host written out, and says why not.
/// The URL parser reads `http:///v1` and `http:v1` as the host `v1`; a base URL like that is
/// a typo, never a host called `v1`.
pub fn http_url(text: &str) -> std::result::Result<Url, String> {
    let text = text.trim();
    let url = Url::parse(text).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("it must start with http:// or https://".into());
    }
    let after_scheme = text.split_once(':').map_or("", |(_, rest)| rest);
    let written_host = after_scheme.strip_prefix("//").is_some_and(|rest| !rest.starts_with(['/', '\\']));
    if !written_host || url.host_str().is_none_or(str::is_empty) {
        return Err("it has no host".into());
    }
    Ok(url)
}

/// Whether `host` is this machine (where unencrypted HTTP never leaves it).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A warning when a key sent to `url` would cross the network unencrypted: plain `http://`
/// to a host that is not this machine.
pub fn cleartext_warning(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    (url.scheme() == "http" && !is_loopback_host(host)).then(|| {
        format!(
            "{} is plain http://: the key travels unencrypted to {host}; use https:// unless the network between \
             is yours",
            origin_of(url)
        )
    })
}

/// Why an answer's body was not read to the end.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than the cap: `limit` bytes.
    TooLarge { limit: usize },
    /// The connection failed mid-body.
    Transport(reqwest::Error),
}

/// Reads `response`'s body as text, at most `limit` bytes: refused up front when the declared
/// length is over, and stopped as soon as the bytes read pass it (an endless body ends here).
/// Bytes that are not UTF-8 are replaced, as `Response::text` does.
pub async fn read_body(mut response: reqwest::Response, limit: usize) -> std::result::Result<String, BodyError> {
    if response.content_length().is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if bytes.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// `bytes` as a short size for messages: "64 MiB", "512 KiB".
pub fn size_text(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_needs_a_written_host() {
        for bad in ["http:///v1", "https:///v1", "http:v1", "http:/v1", "https://", "ftp://x.example", "http://\\v1"] {
            assert!(http_url(bad).is_err(), "{bad} accepted as {:?}", http_url(bad));
        }
        for good in ["https://api.example.com/v1", "http://localhost:4000", "http://[::1]:8080/", " https://x.y "] {
            assert!(http_url(good).is_ok(), "{good}: {:?}", http_url(good));
        }
    }

    #[test]
    fn plain_http_warns_unless_the_host_is_this_machine() {
        let warn = |u: &str| cleartext_warning(&Url::parse(u).unwrap());
        assert!(warn("http://relay.example.com/v1").unwrap().contains("unencrypted to relay.example.com"));
        assert!(warn("http://10.0.0.5:4000").is_some(), "a LAN address still crosses a network");
        for quiet in
            ["https://relay.example.com", "http://localhost:4000", "http://127.0.0.1:4000", "http://[::1]:4000"]
        {
            assert_eq!(warn(quiet), None, "{quiet}");
        }
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size_text(MAX_BODY_BYTES), "64 MiB");
        assert_eq!(size_text(512 * 1024), "512 KiB");
        assert_eq!(size_text(10), "10 bytes");
    }
}
