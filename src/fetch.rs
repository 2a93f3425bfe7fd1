//! The HTTP client: rustls, gzip/brotli/deflate, connect timeout 10 s,
//! total timeout and User-Agent from the configuration, at most 10
//! redirects and only http/https. A global limit on requests in flight and a
//! per-host limit beside it; conditional GET from stored validators; bodies
//! streamed and cut at `max_body`, counted after decompression, so a gzip
//! bomb costs at most `max_body` of memory.
//!
//! (Over 600 lines with its tests, about 600 without: the clients share
//! their limits, redirect policy, per-source options and body reader, kept
//! in one place.)
//!
//! Two clients share one configuration: the open one, for the feeds the
//! operator configured, and the guarded one, for links found in feeds, which
//! refuses loopback, private, link-local and unique-local addresses after
//! name resolution (through its own resolver, so a name cannot be re-pointed
//! between the check and the connection) and on every redirect. Requests sent
//! through an HTTP proxy from the environment are the proxy's to police.
//!
//! A source's own options ([`FetchOptions`]: user agent, headers, timeout,
//! Basic credentials, proxy) go with each of its requests; credentials only
//! to its own host. Sources with a proxy share a client per proxy.
//!
//! User info in a URL (`https://user:secret@host/feed.xml`) is for the
//! request to that host: the fetcher hands back final and moved URLs
//! without it, errors show it as `***` ([`redacted`]), and what is stored
//! or joined against is [`without_credentials`].

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::config::{CrawlerConfig, FetchOptions};
use crate::error::FetchError;

pub const FEED_ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5";

/// Stored validators for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A body that arrived, with what the server said about it.
#[derive(Debug)]
pub struct Body {
    pub status: u16,
    pub final_url: Url,
    pub content_type: Option<String>,
    pub validators: Validators,
    pub bytes: Vec<u8>,
    /// Where a chain of permanent redirects (301, 308) led, if it did.
    pub moved_to: Option<Url>,
}

#[derive(Debug)]
pub enum Fetched {
    /// 304: nothing changed since the validators were stored.
    NotModified {
        moved_to: Option<Url>,
    },
    Body(Body),
}

impl Fetched {
    /// Where a chain of permanent redirects (301, 308) led, if it did.
    pub fn moved_to(&self) -> Option<&Url> {
        match self {
            Fetched::NotModified { moved_to } => moved_to.as_ref(),
            Fetched::Body(b) => b.moved_to.as_ref(),
        }
    }
}

/// Whether a request may reach private networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Any address: for configured feeds.
    Any,
    /// Public addresses only: for links found in feeds.
    PublicOnly,
}

/// The most a body's buffer is sized by its declared length before the
/// body comes (1 MiB: a feed of 1,000 items of 1 KB; the benchmark's are
/// some 130 KB). Larger bodies are kept as chunks and joined.
const PRESIZED: u64 = 1 << 20;

/// The shared clients and their limits.
pub struct Fetcher {
    client: reqwest::Client,
    guarded: reqwest::Client,
    /// One pair of clients per proxy that sources name, built when first
    /// used and kept: `(proxy, guarded)` to client.
    proxied: Mutex<HashMap<(String, bool), reqwest::Client>>,
    user_agent: String,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
    per_host: usize,
    host_delay: Duration,
    max_body: u64,
    timeout: Duration,
    allow_private: bool,
    /// Where hosts' turns are kept when several daemons share them.
    shared_turns: std::sync::OnceLock<Arc<dyn HostTurns>>,
}

/// The hosts' turns and places kept where several daemons see them (their
/// shared database), so that `host_delay` and `per_host` hold across
/// daemons, not only within each.
pub trait HostTurns: Send + Sync {
    /// Reserves the next start of a request to `host`, `delay` after the
    /// one reserved before it, and says how long to wait for it (`None`: it
    /// could not be asked; the daemon's own pacing stands).
    fn turn(
        &self,
        host: String,
        delay: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<Duration>> + Send + '_>>;

    /// Takes one of `per_host` places for a request to `host`, among all
    /// the daemons' requests in flight to it.
    fn place(
        &self,
        host: String,
        per_host: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Place> + Send + '_>>;

    /// Gives place `slot` of `host` back (the request is over).
    fn leave(&self, host: String, slot: i32);
}

/// What [`HostTurns::place`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// This place is the request's until it ends.
    Taken(i32),
    /// Every place is taken: ask again shortly.
    Busy,
    /// The places could not be asked: the daemon's own limit stands.
    Unavailable,
}

/// How soon a request waiting for a place among every daemon's asks again.
const PLACE_RETRY: Duration = Duration::from_millis(100);

/// A place among every daemon's requests to a host, given back when dropped.
struct SharedPlace {
    turns: Arc<dyn HostTurns>,
    host: String,
    slot: i32,
}

impl Drop for SharedPlace {
    fn drop(&mut self) {
        self.turns.leave(std::mem::take(&mut self.host), self.slot);
    }
}

/// What a request holds while it is in flight: its places under the
/// limits (given back when dropped).
struct Permits {
    _host: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
    _shared: Option<SharedPlace>,
}

/// One host's limit on requests in flight, and when its next request may start.
struct HostGate {
    in_flight: Arc<Semaphore>,
    next_start: Mutex<tokio::time::Instant>,
}

impl Fetcher {
    pub fn new(cfg: &CrawlerConfig) -> Result<Fetcher, FetchError> {
        let client = build_client(&cfg.user_agent, cfg.timeout, false, None)?;
        // With private networks allowed the two are the same client: built
        // once (a build reads the system's TLS roots, some 5 ms).
        let guarded = if cfg.allow_private_networks {
            client.clone()
        } else {
            build_client(&cfg.user_agent, cfg.timeout, true, None)?
        };
        Ok(Fetcher {
            client,
            guarded,
            proxied: Mutex::new(HashMap::new()),
            user_agent: cfg.user_agent.clone(),
            global: Arc::new(Semaphore::new(cfg.concurrency)),
            hosts: Mutex::new(HashMap::new()),
            per_host: cfg.per_host,
            host_delay: cfg.host_delay,
            max_body: cfg.max_body,
            timeout: cfg.timeout,
            allow_private: cfg.allow_private_networks,
            shared_turns: std::sync::OnceLock::new(),
        })
    }

    /// Keeps `host_delay` and `per_host` across daemons from now on: each
    /// request also takes a place and reserves its start in `turns`.
    pub fn share_turns(&self, turns: Arc<dyn HostTurns>) {
        let _ = self.shared_turns.set(turns);
    }

    /// The client for `reach` through `proxy`, or without one.
    fn client(&self, proxy: Option<&str>, reach: Reach) -> Result<reqwest::Client, FetchError> {
        let guarded = reach == Reach::PublicOnly && !self.allow_private;
        let Some(proxy) = proxy else {
            return Ok(if reach == Reach::PublicOnly {
                self.guarded.clone()
            } else {
                self.client.clone()
            });
        };
        let mut clients = self.proxied.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(&(proxy.to_string(), guarded)) {
            return Ok(c.clone());
        }
        let c = build_client(&self.user_agent, self.timeout, guarded, Some(proxy))?;
        clients.insert((proxy.to_string(), guarded), c.clone());
        Ok(c)
    }

    /// Waits for a place under both the per-host and the global limit, and
    /// for `host_delay` after the host's previous request started.
    async fn permits(&self, url: &Url) -> Permits {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let gate = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(hosts.entry(key.clone()).or_insert_with(|| {
                Arc::new(HostGate {
                    in_flight: Arc::new(Semaphore::new(self.per_host)),
                    next_start: Mutex::new(tokio::time::Instant::now()),
                })
            }))
        };
        // Semaphores here are never closed, so acquiring cannot fail.
        let h = Arc::clone(&gate.in_flight).acquire_owned().await;
        // Several daemons: a place among all of theirs too.
        let mut shared = None;
        if let Some(turns) = self.shared_turns.get() {
            loop {
                match turns.place(key.clone(), self.per_host).await {
                    Place::Taken(slot) => {
                        shared = Some(SharedPlace {
                            turns: Arc::clone(turns),
                            host: key.clone(),
                            slot,
                        });
                        break;
                    }
                    Place::Busy => tokio::time::sleep(PLACE_RETRY).await,
                    Place::Unavailable => break,
                }
            }
        }
        if !self.host_delay.is_zero() {
            let start = {
                let mut next = gate.next_start.lock().unwrap_or_else(|p| p.into_inner());
                let start = (*next).max(tokio::time::Instant::now());
                *next = start + self.host_delay;
                start
            };
            tokio::time::sleep_until(start).await;
            if let Some(turns) = self.shared_turns.get()
                && let Some(wait) = turns.turn(key.clone(), self.host_delay).await
            {
                tokio::time::sleep(wait).await;
            }
        }
        let g = Arc::clone(&self.global).acquire_owned().await;
        match (h, g) {
            (Ok(h), Ok(g)) => Permits {
                _host: h,
                _global: g,
                _shared: shared,
            },
            _ => unreachable!("fetch semaphores are never closed"),
        }
    }

    /// GET `url`, conditionally when `validators` hold anything, following
    /// up to 10 redirects. The whole exchange, redirects and body included,
    /// is bounded by `crawler.timeout`.
    pub async fn get(
        &self,
        url: &Url,
        accept: &str,
        validators: &Validators,
        reach: Reach,
        opts: &FetchOptions,
    ) -> Result<Fetched, FetchError> {
        let u = redacted(url);
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Scheme { url: u });
        }
        let _permits = self.permits(url).await;
        let timeout = opts.timeout.unwrap_or(self.timeout);
        match tokio::time::timeout(
            timeout,
            self.exchange(url, accept, validators, reach, opts, timeout),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout { url: u }),
        }
    }

    async fn exchange(
        &self,
        url: &Url,
        accept: &str,
        validators: &Validators,
        reach: Reach,
        opts: &FetchOptions,
        timeout: Duration,
    ) -> Result<Fetched, FetchError> {
        let u = redacted(url);
        let guarded = reach == Reach::PublicOnly && !self.allow_private;
        let client = self.client(opts.proxy.as_ref().map(|p| p.expose()), reach)?;
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(accept) {
            headers.insert(header::ACCEPT, v);
        }
        if let Some(ua) = opts
            .user_agent
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::USER_AGENT, ua);
        }
        if let Some(etag) = validators
            .etag
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = validators
            .last_modified
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::IF_MODIFIED_SINCE, lm);
        }

        let mut current = url.clone();
        // Where a chain of only permanent redirects (301, 308) led.
        let mut moved_to: Option<Url> = None;
        let mut all_permanent = true;
        let mut hops = 0;
        let mut resp = loop {
            if guarded && literal_ip(&current).is_some_and(is_forbidden_ip) {
                return Err(if hops == 0 {
                    FetchError::Private { url: u }
                } else {
                    FetchError::Redirect {
                        url: u,
                        message: format!("redirect to a private address ({})", redacted(&current)),
                    }
                });
            }
            let mut request = client
                .get(current.clone())
                .headers(headers.clone())
                .headers(configured_headers(opts, &current))
                .timeout(timeout);
            if let Some((user, password)) = &opts.basic
                && opts.credentials_for(&current)
            {
                request = request.basic_auth(user, Some(password.expose()));
            }
            let resp = request.send().await.map_err(|e| transport(&u, &e))?;
            let status = resp.status();
            if !status.is_redirection() || status.as_u16() == 304 {
                break resp;
            }
            let Some(location) = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
            else {
                break resp;
            };
            let next = current
                .join(location.trim())
                .map_err(|e| FetchError::Redirect {
                    url: u.clone(),
                    message: format!("bad Location {:?}: {e}", scrub(location)),
                })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(FetchError::Redirect {
                    url: u,
                    message: format!(
                        "redirect to a scheme other than http or https ({})",
                        redacted(&next)
                    ),
                });
            }
            hops += 1;
            if hops > 10 {
                return Err(FetchError::Redirect {
                    url: u,
                    message: "more than 10 redirects".into(),
                });
            }
            all_permanent &= matches!(status.as_u16(), 301 | 308);
            if all_permanent {
                moved_to = Some(without_credentials(&next));
            }
            current = next;
        };
        let status = resp.status().as_u16();
        if status == 304 {
            return Ok(Fetched::NotModified { moved_to });
        }
        if !resp.status().is_success() {
            let retry_after = resp
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            return Err(FetchError::Status {
                url: u,
                status,
                retry_after,
            });
        }
        let header_str = |name: header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let content_type = header_str(header::CONTENT_TYPE);
        let new_validators = Validators {
            etag: header_str(header::ETAG),
            last_modified: header_str(header::LAST_MODIFIED),
        };
        // The chunks are kept as they come and joined once, into a buffer of
        // the body's size: one buffer grown by doubling held up to twice the
        // body (the old and the new buffer while one is copied, and the
        // freed ones until the allocator returns them), so a bomb cut at
        // `max_body` cost up to twice the cap (the gzip bomb's test saw 79
        // MiB where its bound is 74, once in six runs; now 54-58 MiB).
        // A body whose length is declared (and not decompressed: reqwest
        // knows no length then) goes into a buffer of that size as it comes,
        // one copy rather than two; whatever would not fit is kept as chunks.
        // Only up to [`PRESIZED`]: a declared length is the publisher's word,
        // and a poll that reserved `max_body` on it would hold that much
        // before a byte came.
        let known = resp
            .content_length()
            .filter(|&n| n <= self.max_body.min(PRESIZED))
            .and_then(|n| usize::try_from(n).ok());
        let mut whole: Vec<u8> = Vec::with_capacity(known.unwrap_or(0));
        let mut chunks = Vec::new();
        let mut len: u64 = 0;
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(&u, &e))? {
            if len + chunk.len() as u64 > self.max_body {
                return Err(FetchError::TooLarge {
                    url: u,
                    limit: self.max_body,
                });
            }
            len += chunk.len() as u64;
            if chunks.is_empty() && whole.len() + chunk.len() <= whole.capacity() {
                whole.extend_from_slice(&chunk);
            } else {
                // A copy: the chunk may share a larger buffer of the decoder's.
                chunks.push(chunk.to_vec());
            }
        }
        let bytes = if chunks.is_empty() {
            whole
        } else if chunks.len() == 1 && whole.is_empty() {
            chunks.pop().unwrap_or_default()
        } else {
            let mut bytes: Vec<u8> = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            bytes.extend_from_slice(&whole);
            drop(whole);
            for chunk in chunks {
                bytes.extend_from_slice(&chunk);
            }
            bytes
        };
        Ok(Fetched::Body(Body {
            status,
            final_url: without_credentials(&current),
            content_type,
            validators: new_validators,
            bytes,
            moved_to,
        }))
    }
}

/// A client: rustls, compressed bodies, no redirects of its own (they are
/// followed by hand: each hop is checked, and a permanent move is noticed).
/// `guarded`: names resolve to public addresses only, unless a proxy
/// resolves them.
fn build_client(
    user_agent: &str,
    timeout: Duration,
    guarded: bool,
    proxy: Option<&str>,
) -> Result<reqwest::Client, FetchError> {
    let mut b = reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .gzip(true)
        .brotli(true)
        .deflate(true)
        .pool_idle_timeout(Duration::from_secs(30));
    match proxy {
        // The proxy's URL is not shown: it may hold its password.
        Some(p) => {
            let proxy = reqwest::Proxy::all(p).map_err(|_| FetchError::Transport {
                url: String::new(),
                message: "cannot use the configured proxy".into(),
            })?;
            b = b.no_proxy().proxy(proxy);
        }
        None if guarded => b = b.dns_resolver(PublicOnlyResolver),
        None => {}
    }
    b.build().map_err(|e| FetchError::Transport {
        url: String::new(),
        message: format!("cannot build the HTTP client: {}", scrub(&e.to_string())),
    })
}

/// A source's configured headers for a request to `url`: credentials only
/// when `url` is on the source's own host. Values are marked sensitive.
fn configured_headers(opts: &FetchOptions, url: &Url) -> HeaderMap {
    let mut out = HeaderMap::new();
    let credentials = opts.credentials_for(url);
    for h in opts.headers.iter().filter(|h| credentials || !h.credential) {
        if let (Ok(name), Ok(mut value)) = (
            header::HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_str(h.value.expose()),
        ) {
            value.set_sensitive(true);
            out.insert(name, value);
        }
    }
    out
}

/// The longest a `Retry-After` holds a source back: a server cannot park
/// a source for ever (or overflow the clock) with one header.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// `Retry-After`: delay-seconds or an HTTP date, at most [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    let delay = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
        let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
        delta.to_std().unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// Whether `url` carries user info (a user name or a password).
pub fn has_credentials(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// `url` without its user info: what is stored, exported and joined against
/// (so relative links never inherit it).
pub fn without_credentials(url: &Url) -> Url {
    let mut u = url.clone();
    if has_credentials(&u) {
        let _ = u.set_password(None);
        let _ = u.set_username("");
    }
    u
}

/// `url` as logs, errors and listings show it: user info as `***`.
pub fn redacted(url: &Url) -> String {
    if !has_credentials(url) {
        return url.to_string();
    }
    let mut u = url.clone();
    let _ = u.set_password(None);
    let _ = u.set_username("***");
    u.to_string()
}

/// `url` with the user info of `from` when both name the same origin
/// (scheme, host and port): the configured credentials follow a feed that
/// moved on its own host, and go nowhere else.
pub fn with_credentials_of(url: &Url, from: &Url) -> Url {
    if !has_credentials(from) || url.origin() != from.origin() {
        return url.clone();
    }
    let mut u = url.clone();
    let _ = u.set_username(from.username());
    let _ = u.set_password(from.password());
    u
}

/// `text` with user info in any URL in it shown as `***`: for messages
/// that come from elsewhere (the HTTP stack's errors) before they are
/// stored or logged.
pub fn scrub(text: &str) -> std::borrow::Cow<'_, str> {
    static USERINFO: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]+@").expect("static regex")
    });
    USERINFO.replace_all(text, "${1}***@")
}

fn transport(url: &str, e: &reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout {
            url: url.to_string(),
        };
    }
    // reqwest's own message is terse; the causes say what went wrong.
    let mut message = String::new();
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !message.contains(&s) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&s);
        }
        cur = err.source();
    }
    if let Some(raw) = e.url() {
        message = message.replace(&format!(" for url ({raw})"), "");
    }
    FetchError::Transport {
        url: url.to_string(),
        message: scrub(&message).into_owned(),
    }
}

/// The host of `url` when it is an IP address. The URL parser has already
/// turned decimal (`2130706433`), octal (`0177.0.0.1`) and hex forms into
/// plain addresses.
fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// Loopback, private, link-local, unique-local, carrier-grade NAT,
/// unspecified, broadcast and multicast addresses, and IPv6 forms that embed
/// such an IPv4 address.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_forbidden_v4(v4);
    }
    let seg = ip.segments();
    // NAT64 (64:ff9b::/96) and the deprecated IPv4-compatible form (::a.b.c.d).
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] || seg[..6] == [0; 6] {
        let [.., c, d] = seg;
        let v4 = Ipv4Addr::new((c >> 8) as u8, c as u8, (d >> 8) as u8, d as u8);
        if !(ip.is_loopback() || ip.is_unspecified()) && is_forbidden_v4(v4) {
            return true;
        }
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1) // NAT64 local use 64:ff9b:1::/48
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80 // link local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site local fec0::/10
}

/// Resolves names like the system does, then refuses the lot if any address
/// is one [`is_forbidden_ip`] names.
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| is_forbidden_ip(a.ip())) {
                let msg = format!(
                    "{host} resolves to the private address {}; refused (allow_private_networks)",
                    bad.ip()
                );
                return Err(msg.into());
            }
            let it: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(it)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_goes_with_its_own_origin_only() {
        let cfg = Url::parse("https://user:pa%40ss@feeds.example/f.xml").unwrap();
        assert_eq!(redacted(&cfg), "https://***@feeds.example/f.xml");
        assert_eq!(
            without_credentials(&cfg).as_str(),
            "https://feeds.example/f.xml"
        );
        let moved = Url::parse("https://feeds.example/new.xml").unwrap();
        assert_eq!(
            with_credentials_of(&moved, &cfg).as_str(),
            "https://user:pa%40ss@feeds.example/new.xml"
        );
        let elsewhere = Url::parse("https://other.example/new.xml").unwrap();
        assert_eq!(with_credentials_of(&elsewhere, &cfg), elsewhere);
        let http = Url::parse("http://feeds.example/new.xml").unwrap();
        assert_eq!(with_credentials_of(&http, &cfg), http);
        assert_eq!(
            scrub("error sending request for url (http://a:b@h.example/x) via HTTPS://c@d.example"),
            "error sending request for url (http://***@h.example/x) via HTTPS://***@d.example"
        );
        assert_eq!(
            scrub("mailto:x@y.example and a@b"),
            "mailto:x@y.example and a@b"
        );
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn private_and_special_addresses_are_forbidden() {
        for ip in [
            v4(127, 0, 0, 1),
            v4(127, 9, 9, 9),
            v4(10, 1, 2, 3),
            v4(172, 16, 0, 1),
            v4(172, 31, 255, 255),
            v4(192, 168, 1, 1),
            v4(169, 254, 169, 254),
            v4(100, 64, 0, 1),
            v4(0, 0, 0, 0),
            v4(255, 255, 255, 255),
            v4(224, 0, 0, 1),
        ] {
            assert!(is_forbidden_ip(ip), "{ip}");
        }
        for s in [
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:a9fe:a9fe",
            "64:ff9b::7f00:1",
            "64:ff9b:1::a00:1",
            "64:ff9b:1:ffff::808:808",
            "ff02::1",
        ] {
            let ip: IpAddr = s.parse().unwrap();
            assert!(is_forbidden_ip(ip), "{s}");
        }
        for ip in [
            v4(8, 8, 8, 8),
            v4(172, 32, 0, 1),
            v4(100, 128, 0, 1),
            v4(1, 1, 1, 1),
        ] {
            assert!(!is_forbidden_ip(ip), "{ip}");
        }
        for s in ["2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
            assert!(!is_forbidden_ip(s.parse().unwrap()), "{s}");
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("100000000000000"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(300)).to_rfc2822();
        let d = parse_retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(290) && d <= Duration::from_secs(300),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn literal_forms_are_normalized_by_the_url_parser() {
        for u in [
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://127.1/",
        ] {
            let url = Url::parse(u).unwrap();
            assert!(literal_ip(&url).is_some_and(is_forbidden_ip), "{u}");
        }
        assert_eq!(literal_ip(&Url::parse("http://localhost/").unwrap()), None);
    }
}
