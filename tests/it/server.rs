//! A small HTTP/1.1 server for the tests, on 127.0.0.1:0, one thread per
//! connection, `Connection: close`. Routes answer from fixtures; every
//! request is recorded, and the most requests in flight at once is tracked.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Request {
    /// The path, without the query.
    pub path: String,
    /// The request target as sent: path and query.
    pub target: String,
    pub headers: HashMap<String, String>,
    /// The body, when a `Content-Length` announced one.
    pub body: Vec<u8>,
    /// When the request line arrived.
    pub at: std::time::Instant,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Send the body one byte at a time, this far apart.
    pub trickle: Option<Duration>,
    /// Announce this Content-Length instead of the body's own.
    pub content_length: Option<usize>,
}

impl Response {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            delay: Duration::ZERO,
            trickle: None,
            content_length: None,
        }
    }

    pub fn status(status: u16) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: format!("status {status}").into_bytes(),
            delay: Duration::ZERO,
            trickle: None,
            content_length: None,
        }
    }

    pub fn trickle(mut self, every: Duration) -> Response {
        self.trickle = Some(every);
        self
    }

    pub fn content_length(mut self, n: usize) -> Response {
        self.content_length = Some(n);
        self
    }

    pub fn header(mut self, k: &str, v: &str) -> Response {
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn delay(mut self, d: Duration) -> Response {
        self.delay = d;
        self
    }
}

type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

pub struct Server {
    pub base: String,
    routes: Arc<Mutex<HashMap<String, Handler>>>,
    log: Arc<Mutex<Vec<Request>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: Arc<Mutex<HashMap<String, Handler>>> = Arc::default();
        let log: Arc<Mutex<Vec<Request>>> = Arc::default();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let (r, l, f, m) = (
            routes.clone(),
            log.clone(),
            in_flight.clone(),
            max_in_flight.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (r, l, f, m) = (r.clone(), l.clone(), f.clone(), m.clone());
                std::thread::spawn(move || serve(stream, &r, &l, &f, &m));
            }
        });
        Server {
            base,
            routes,
            log,
            in_flight,
            max_in_flight,
        }
    }

    /// Answers `path` with `handler`.
    pub fn route(
        &self,
        path: &str,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), Arc::new(handler));
    }

    /// Answers `path` with a fixed body and an ETag, and 304 to a request
    /// that carries that ETag.
    pub fn route_etag(&self, path: &str, content_type: &str, body: Vec<u8>, etag: &str) {
        let ct = content_type.to_string();
        let etag = etag.to_string();
        self.route(path, move |req| {
            if req.headers.get("if-none-match") == Some(&etag) {
                return Response::status(304).header("ETag", &etag);
            }
            Response::ok(&ct, body.clone()).header("ETag", &etag)
        });
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    #[allow(dead_code)]
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

fn serve(
    stream: TcpStream,
    routes: &Mutex<HashMap<String, Handler>>,
    log: &Mutex<Vec<Request>>,
    in_flight: &AtomicUsize,
    max: &AtomicUsize,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    let at = std::time::Instant::now();
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let path = target.split('?').next().unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut body = vec![
        0;
        headers
            .get("content-length")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    ];
    if reader.read_exact(&mut body).is_err() {
        body.clear();
    }
    let req = Request {
        path,
        target,
        headers,
        body,
        at,
    };
    log.lock().unwrap().push(req.clone());
    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(now, Ordering::SeqCst);
    let handler = routes.lock().unwrap().get(&req.path).cloned();
    let resp = match handler {
        Some(h) => h(&req),
        None => Response::status(404),
    };
    if !resp.delay.is_zero() {
        std::thread::sleep(resp.delay);
    }
    // No longer in flight once the answer starts: the client may read it
    // and send its next request before this thread runs again (on a loaded
    // machine), which must not count as one more in flight.
    in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut out = stream;
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", resp.status);
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let length = resp.content_length.unwrap_or(resp.body.len());
    head.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    let _ = out.write_all(head.as_bytes());
    match resp.trickle {
        None => {
            let _ = out.write_all(&resp.body);
        }
        Some(every) => {
            for b in &resp.body {
                let _ = out.flush();
                if out.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(every);
            }
        }
    }
    let _ = out.flush();
    // Drain so the client sees a clean close.
    let _ = out.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 64];
    let _ = reader.read(&mut sink);
}
