//! The one HTTP client: rustls, gzip/brotli/deflate, connect timeout 10 s,
//! total timeout and User-Agent from the configuration, at most 10
//! redirects and only http/https. A global limit on requests in flight and a
//! per-host limit beside it; conditional GET from stored validators; bodies
//! streamed and cut at `max_body`, counted after decompression, so a gzip
//! bomb costs at most `max_body` of memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::config::CrawlerConfig;
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
}

#[derive(Debug)]
pub enum Fetched {
    /// 304: nothing changed since the validators were stored.
    NotModified,
    Body(Body),
}

/// The shared client and its limits.
pub struct Fetcher {
    client: reqwest::Client,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    per_host: usize,
    max_body: u64,
}

impl Fetcher {
    pub fn new(cfg: &CrawlerConfig) -> Result<Fetcher, FetchError> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() > 10 {
                attempt.error("more than 10 redirects")
            } else if !matches!(attempt.url().scheme(), "http" | "https") {
                attempt.error("redirect to a scheme other than http or https")
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .connect_timeout(Duration::from_secs(10))
            .timeout(cfg.timeout)
            .redirect(policy)
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| FetchError::Transport {
                url: String::new(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Fetcher {
            client,
            global: Arc::new(Semaphore::new(cfg.concurrency)),
            hosts: Mutex::new(HashMap::new()),
            per_host: cfg.per_host,
            max_body: cfg.max_body,
        })
    }

    /// Waits for a place under both the per-host and the global limit.
    async fn permits(&self, url: &Url) -> (OwnedSemaphorePermit, OwnedSemaphorePermit) {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let host = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(
                hosts
                    .entry(key)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_host))),
            )
        };
        // Semaphores here are never closed, so acquiring cannot fail; the
        // fallback only keeps the type honest.
        let h = host.acquire_owned().await;
        let g = Arc::clone(&self.global).acquire_owned().await;
        match (h, g) {
            (Ok(h), Ok(g)) => (h, g),
            _ => unreachable!("fetch semaphores are never closed"),
        }
    }

    /// GET `url`, conditionally when `validators` hold anything.
    pub async fn get(
        &self,
        url: &Url,
        accept: &str,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let u = url.as_str().to_string();
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Scheme { url: u });
        }
        let _permits = self.permits(url).await;
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(accept) {
            headers.insert(header::ACCEPT, v);
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
        let mut resp = self
            .client
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(|e| transport(&u, &e))?;
        let status = resp.status().as_u16();
        if status == 304 {
            return Ok(Fetched::NotModified);
        }
        if !resp.status().is_success() {
            return Err(FetchError::Status { url: u, status });
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
        let final_url = resp.url().clone();
        let mut bytes: Vec<u8> = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(&u, &e))? {
            if bytes.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(FetchError::TooLarge {
                    url: u,
                    limit: self.max_body,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body(Body {
            status,
            final_url,
            content_type,
            validators: new_validators,
            bytes,
        }))
    }
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
    let message = message.replace(&format!(" for url ({url})"), "");
    FetchError::Transport {
        url: url.to_string(),
        message,
    }
}
