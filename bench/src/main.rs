//! The benchmark's tools, written here because no crate does this job:
//!
//! - `serve`: a seeded corpus (N feeds of M items, about 70% RSS 2.0 and 30%
//!   Atom, Chinese and English text, 1–3 KB bodies, items linking to share
//!   pages `/html_News/NewsShare.html?infoCode=NW<18 digits>` of about 5 KB,
//!   a tenth of them GBK with a meta charset, about 5% of infoCodes repeated
//!   across feeds), served on 127.0.0.1 with ETags (304 on If-None-Match),
//!   all feeds built in memory at start so the server is never the bottleneck;
//! - `urls`: the feed URLs, one a line (for newsboat and curl);
//! - `config`: a newscrawl configuration for the corpus;
//! - `tokenize DIR`: the floor: every feed file in DIR read with quick-xml.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

/// A small, fast, seeded generator (xorshift64*): the same corpus every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const ZH: &[&str] = &[
    "国家统计局",
    "今天发布",
    "最新数据",
    "显示",
    "消费市场",
    "继续恢复",
    "工业生产",
    "保持稳定",
    "增长",
    "央行",
    "开展",
    "逆回购操作",
    "沪深两市",
    "成交额",
    "突破万亿元",
    "北向资金",
    "净流入",
    "新能源汽车",
    "板块",
    "领涨",
    "分析人士",
    "认为",
    "市场情绪",
    "有所回暖",
    "稳增长",
    "政策",
    "持续发力",
];
const EN: &[&str] = &[
    "markets",
    "rallied",
    "today",
    "as",
    "investors",
    "weighed",
    "new",
    "data",
    "on",
    "inflation",
    "the",
    "central",
    "bank",
    "kept",
    "rates",
    "steady",
    "while",
    "exports",
    "rose",
    "sharply",
];

fn words(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 16);
    let chinese = rng.below(10) < 7;
    while s.len() < bytes {
        if chinese {
            s.push_str(ZH[rng.below(ZH.len() as u64) as usize]);
            if rng.below(6) == 0 {
                s.push('，');
            }
        } else {
            s.push_str(EN[rng.below(EN.len() as u64) as usize]);
            s.push(' ');
        }
    }
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The corpus: feeds by index, and which share pages are GBK.
struct Corpus {
    feeds: Vec<(Bytes, String)>,
    base: String,
}

fn info_code(feed: usize, item: usize, rng: &mut Rng, total_items: usize) -> u64 {
    // About 5% of items repeat an infoCode of another feed.
    let n = if rng.below(100) < 5 && total_items > 0 {
        rng.below(total_items as u64) as usize
    } else {
        feed * 1000 + item
    };
    202_201_100_000_000_000 + n as u64
}

fn build(feeds: usize, items: usize, seed: u64, base: &str) -> Corpus {
    let mut out = Vec::with_capacity(feeds);
    for f in 0..feeds {
        let mut rng = Rng::new(seed ^ (f as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let atom = rng.below(10) < 3;
        let mut body = String::with_capacity(items * 2500);
        if atom {
            body.push_str(&format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Feed {f}</title><id>urn:bench:{f}</id><updated>2022-01-10T16:57:30+08:00</updated>\n"));
        } else {
            body.push_str(&format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Feed {f}</title><link>{base}/</link><description>bench</description>\n"));
        }
        for i in 0..items {
            let code = info_code(f, i, &mut rng, feeds * items);
            let title = escape(&words(&mut rng, 40));
            let len = 1000 + rng.below(2000) as usize;
            let text = escape(&words(&mut rng, len));
            let link = format!("{base}/html_News/NewsShare.html?infoCode=NW{code}");
            let minute = (i % 60) as u32;
            if atom {
                body.push_str(&format!("<entry><title>{title}</title><id>urn:bench:{code}</id><link href=\"{link}\"/><updated>2022-01-10T16:{minute:02}:30+08:00</updated><summary>{text}</summary></entry>\n"));
            } else {
                body.push_str(&format!("<item><title>{title}</title><link>{link}</link><guid isPermaLink=\"false\">NW{code}</guid><pubDate>Mon, 10 Jan 2022 16:{minute:02}:30 +0800</pubDate><description>{text}</description></item>\n"));
            }
        }
        body.push_str(if atom {
            "</feed>\n"
        } else {
            "</channel></rss>\n"
        });
        let etag = format!("\"feed-{f}-{seed}\"");
        out.push((Bytes::from(body), etag));
    }
    Corpus {
        feeds: out,
        base: base.to_string(),
    }
}

/// A share page of about 5 KB for `code`; every tenth is GBK, labelled by meta only.
fn share_page(code: u64) -> (Bytes, &'static str) {
    let mut rng = Rng::new(code);
    let gbk = code % 10 == 3;
    let mut paras = String::new();
    while paras.len() < 4200 {
        paras.push_str(&format!(
            "<p>\u{3000}\u{3000}{}</p>\n",
            words(&mut rng, 300)
        ));
    }
    let charset = if gbk { "gbk" } else { "utf-8" };
    let page = format!(
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset={charset}\"><title>新闻 {code}</title><script>var x = 1;</script></head><body>\n<div class=\"header\"><a href=\"/\">首页</a></div>\n<div class=\"newsContent\"><h1>新闻 {code}</h1><div class=\"Info\"><div class=\"time\">2022年01月10日 16:57</div></div>\n<div id=\"ContentBody\">\n{paras}<div class=\"ad\">广告</div>\n<p class=\"em_media\">（文章来源：央视新闻客户端）</p>\n</div></div><div class=\"footer\">版权所有</div></body></html>\n"
    );
    if gbk {
        (
            Bytes::from(encoding_rs::GBK.encode(&page).0.into_owned()),
            "text/html",
        )
    } else {
        (Bytes::from(page), "text/html; charset=utf-8")
    }
}

async fn handle(
    corpus: Arc<Corpus>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path();
    if let Some(n) = path
        .strip_prefix("/feed/")
        .and_then(|p| p.strip_suffix(".xml"))
        .and_then(|n| n.parse::<usize>().ok())
    {
        if let Some((body, etag)) = corpus.feeds.get(n) {
            let inm = req
                .headers()
                .get("if-none-match")
                .and_then(|v| v.to_str().ok());
            if inm == Some(etag.as_str()) {
                return Ok(Response::builder()
                    .status(StatusCode::NOT_MODIFIED)
                    .header("ETag", etag)
                    .body(Full::new(Bytes::new()))
                    .unwrap());
            }
            return Ok(Response::builder()
                .header("Content-Type", "application/xml")
                .header("ETag", etag)
                .body(Full::new(body.clone()))
                .unwrap());
        }
    }
    if path == "/html_News/NewsShare.html" {
        let code = req
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("infoCode=NW")))
            .and_then(|c| c.parse::<u64>().ok());
        if let Some(code) = code {
            let (body, ct) = share_page(code);
            return Ok(Response::builder()
                .header("Content-Type", ct)
                .body(Full::new(body))
                .unwrap());
        }
    }
    Ok(Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body(Full::new(Bytes::from_static(b"not found")))
        .unwrap())
}

async fn serve(port: u16, feeds: usize, items: usize, seed: u64) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let base = format!("http://{addr}");
    let corpus = Arc::new(build(feeds, items, seed, &base));
    let bytes: usize = corpus.feeds.iter().map(|(b, _)| b.len()).sum();
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    eprintln!(
        "serving {feeds} feeds ({} MB) on {}",
        bytes >> 20,
        corpus.base
    );
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let corpus = Arc::clone(&corpus);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let svc = hyper::service::service_fn(move |req| handle(Arc::clone(&corpus), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(io, svc)
                .await;
        });
    }
}

/// The tokenize floor: read every file in `dir` with quick-xml, count events.
fn tokenize(dir: &str) {
    let started = std::time::Instant::now();
    let (mut files, mut events, mut bytes) = (0usize, 0usize, 0usize);
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let data = std::fs::read(e.path()).expect("read");
        bytes += data.len();
        files += 1;
        let mut reader = quick_xml::Reader::from_reader(data.as_slice());
        let mut buf = Vec::new();
        loop {
            match reader.read_event_into(&mut buf) {
                Ok(quick_xml::events::Event::Eof) | Err(_) => break,
                Ok(_) => events += 1,
            }
            buf.clear();
        }
    }
    println!(
        "tokenized {files} files, {} MB, {events} events in {:.3} s",
        bytes >> 20,
        started.elapsed().as_secs_f64()
    );
}

fn arg(args: &HashMap<String, String>, k: &str, default: u64) -> u64 {
    args.get(k).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let cmd = argv.get(1).map(String::as_str).unwrap_or("");
    let args: HashMap<String, String> = argv
        .get(2..)
        .unwrap_or_default()
        .chunks(2)
        .filter_map(|c| {
            Some((
                c.first()?.trim_start_matches("--").to_string(),
                c.get(1)?.clone(),
            ))
        })
        .collect();
    let (port, feeds, items, seed) = (
        arg(&args, "port", 18400) as u16,
        arg(&args, "feeds", 1000) as usize,
        arg(&args, "items", 50) as usize,
        arg(&args, "seed", 42),
    );
    match cmd {
        "serve" => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(serve(port, feeds, items, seed)),
        "urls" => {
            for f in 0..feeds {
                println!("http://127.0.0.1:{port}/feed/{f}.xml");
            }
        }
        "config" => {
            let follow = args.get("follow").map(String::as_str).unwrap_or("none");
            let schedule = args
                .get("schedule")
                .map(String::as_str)
                .unwrap_or("*/10 * * * *");
            let db = args
                .get("database")
                .map(String::as_str)
                .unwrap_or("bench.db");
            println!(
                "database = \"{db}\"\n[crawler]\nconcurrency = 16\nper_host = 16\nschedule = \"{schedule}\"\n"
            );
            for f in 0..feeds {
                println!(
                    "[[sources]]\nname = \"feed {f}\"\nslug = \"f{f}\"\nurl = \"http://127.0.0.1:{port}/feed/{f}.xml\"\nfollow = \"{follow}\""
                );
                if follow == "link" {
                    println!(
                        "[sources.article]\ntitle = \".newsContent h1\"\npublished = \".Info .time\"\nbody = \"#ContentBody\"\norigin = \".em_media\"\nremove = [\".ad\"]"
                    );
                }
            }
        }
        "tokenize" => tokenize(argv.get(2).map(String::as_str).unwrap_or(".")),
        _ => {
            eprintln!(
                "usage: newscrawl-bench serve|urls|config [--port P --feeds N --items M --seed S] | tokenize DIR"
            );
            std::process::exit(2);
        }
    }
}
