//! The benchmark's tools, written here because no crate does this job:
//!
//! - `serve`: a seeded corpus (N feeds of M items, about 70% RSS 2.0 and 30%
//!   Atom, items linking to share pages
//!   `/html_News/NewsShare.html?infoCode=NW<18 digits>` of about 5 KB, a
//!   tenth of them GBK with a meta charset, about 5% of infoCodes repeated
//!   across feeds), served on 127.0.0.1 with ETags (304 on If-None-Match),
//!   all feeds built in memory at start so the server is never the
//!   bottleneck. Two corpora: `--corpus html` (the default) is shaped like
//!   real news feeds (see [`html_item`]): HTML bodies in CDATA and in
//!   `content:encoded`, paragraphs, links, images and entities, teasers to
//!   5 KB, some feeds without bodies, words drawn by their real frequency
//!   from jieba's dictionary of 349,046 Chinese words and from an English
//!   word list (`--vocab-zh`, `--vocab-en`: `bench/run.sh` fetches both);
//!   `--corpus plain` is the first benchmark's: plain-text 1–3 KB bodies
//!   from a vocabulary of 47 phrases;
//! - `urls`: the feed URLs, one a line (for newsboat and curl);
//! - `config`: a newscrawl configuration for the corpus;
//! - `tokenize DIR`: the floor: every feed file in DIR read with quick-xml.

mod extract;
mod stories;

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

/// Words with weights, drawn by weight: real frequencies for Chinese
/// (jieba's dictionary), Zipf's law by rank for English.
struct Vocab {
    words: Vec<String>,
    /// Cumulative weights, one per word.
    cumulative: Vec<u64>,
}

impl Vocab {
    fn new(pairs: Vec<(String, u64)>) -> Vocab {
        let mut total = 0u64;
        let mut words = Vec::with_capacity(pairs.len());
        let mut cumulative = Vec::with_capacity(pairs.len());
        for (w, f) in pairs {
            total += f.max(1);
            words.push(w);
            cumulative.push(total);
        }
        assert!(!words.is_empty(), "an empty vocabulary");
        Vocab { words, cumulative }
    }

    /// jieba's `dict.txt` (`word frequency tag` a line): the `top` most
    /// frequent words that XML can carry as they are.
    fn jieba(path: &str, top: usize) -> Vocab {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut pairs: Vec<(String, u64)> = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split(' ');
                let w = f.next()?;
                let n = f.next()?.parse().ok()?;
                (!w.contains(['&', '<', '>', ']', '"'])).then(|| (w.to_string(), n))
            })
            .collect();
        pairs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        pairs.truncate(top);
        Vocab::new(pairs)
    }

    /// A word list (one a line, e.g. Debian's `wamerican`): lower-case
    /// words, a seeded shuffle of them ranked by Zipf's law after the
    /// commonest function words.
    fn english(path: &str, top: usize, seed: u64) -> Vocab {
        const COMMON: &[&str] = &[
            "the", "of", "and", "to", "in", "a", "that", "for", "is", "on", "with", "said", "was",
            "as", "at", "by", "it", "from", "its", "has", "be", "have", "are", "percent", "year",
            "will", "an", "which", "market", "were", "but", "not", "this", "billion", "after",
            "more", "than", "million", "shares", "also", "had", "would", "their", "been", "rate",
            "prices", "bank", "over", "first", "quarter",
        ];
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut list: Vec<&str> = text
            .lines()
            .filter(|w| (2..=14).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_lowercase()))
            .collect();
        let mut rng = Rng::new(seed ^ 0xE6);
        for i in (1..list.len()).rev() {
            list.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let ranked = COMMON.iter().copied().chain(list).take(top);
        Vocab::new(
            ranked
                .enumerate()
                .map(|(r, w)| (w.to_string(), 1_000_000 / (r as u64 + 1)))
                .collect(),
        )
    }

    fn pick(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative.last().copied().unwrap_or(1);
        let x = rng.below(total);
        let i = self.cumulative.partition_point(|&c| c <= x);
        self.words.get(i).map_or("", String::as_str)
    }
}

/// The realistic corpus's vocabularies.
struct Vocabs {
    zh: Vocab,
    en: Vocab,
}

/// A sentence: Chinese words run together and end in `。` (a comma now and
/// then), English ones spaced, capitalized, ending in a period; numbers as
/// news writes them.
fn sentence(v: &Vocabs, zh: bool, rng: &mut Rng) -> String {
    let n = 8 + rng.below(25) as usize;
    let mut s = String::new();
    for i in 0..n {
        if rng.below(30) == 0 {
            let num = match rng.below(3) {
                0 => format!("{}.{}%", rng.below(20), rng.below(100)),
                1 => format!("{}", 1900 + rng.below(130)),
                _ => format!("{},{:03}", 1 + rng.below(999), rng.below(1000)),
            };
            s.push_str(&num);
            s.push_str(if zh { "" } else { " " });
            continue;
        }
        if zh {
            s.push_str(v.zh.pick(rng));
            if i + 1 < n && rng.below(9) == 0 {
                s.push('，');
            }
        } else {
            let w = v.en.pick(rng);
            if i == 0 {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    s.extend(f.to_uppercase());
                    s.push_str(c.as_str());
                }
            } else {
                s.push_str(w);
            }
            s.push(if i + 1 < n && rng.below(12) == 0 {
                ','
            } else {
                ' '
            });
            if s.ends_with(',') {
                s.push(' ');
            }
        }
    }
    if zh {
        s.push('。');
    } else {
        s = s.trim_end().to_string();
        s.push('.');
    }
    s
}

/// An HTML body of about `bytes`: paragraphs of sentences with links,
/// emphasis, quotes and `&nbsp;` as entities, sometimes an image.
fn html_body(v: &Vocabs, zh: bool, bytes: usize, base: &str, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(bytes + 256);
    while out.len() < bytes {
        out.push_str("<p>");
        if zh && rng.below(3) == 0 {
            out.push_str("&nbsp;&nbsp;");
        }
        for _ in 0..1 + rng.below(4) {
            let mut s = escape(&sentence(v, zh, rng));
            match rng.below(12) {
                0 => s = format!("<a href=\"{base}/tag/{}.html\">{s}</a>", rng.below(5000)),
                1 => s = format!("<strong>{s}</strong>"),
                2 if zh => s = format!("&ldquo;{s}&rdquo;"),
                3 if !zh => s = s.replacen(" and ", " &amp; ", 1),
                _ => {}
            }
            out.push_str(&s);
            if !zh {
                out.push(' ');
            }
        }
        out.push_str("</p>\n");
        if rng.below(8) == 0 {
            out.push_str(&format!(
                "<p><img src=\"{base}/img/{}.jpg\" alt=\"{}\" width=\"600\"></p>\n",
                rng.below(100_000),
                escape(&sentence(v, zh, rng)).replace('"', "&quot;")
            ));
        }
    }
    out
}

/// Body lengths as real feeds have them: a fifth teasers (100–300 bytes),
/// half 1–3 KB, the rest up to 5 KB.
fn body_len(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0 | 1 => 100 + rng.below(200) as usize,
        2..=6 => 1000 + rng.below(2000) as usize,
        _ => 3000 + rng.below(2000) as usize,
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The corpus: feeds by index, and which share pages are GBK.
struct Corpus {
    feeds: Vec<(Bytes, String)>,
    /// `--log FILE`: one line per feed request, `unix-ms feed status`
    /// (the scale test counts each feed's polls per interval from it).
    log: Option<std::sync::Mutex<std::io::LineWriter<std::fs::File>>>,
    base: String,
    /// Every item's infoCode.
    codes: Vec<u64>,
    /// The realistic corpus's share pages, made before serving (drawing
    /// them per request would cost the server more than the plain ones).
    pages: HashMap<u64, (Bytes, &'static str)>,
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

/// One item of the realistic corpus (RSS or Atom), as real feeds write
/// them: a tenth of the feeds carry no bodies at all; of the RSS feeds with
/// bodies, 40% put the article in `content:encoded` with a teaser in
/// `description`, the others the whole HTML in a CDATA `description`; Atom
/// feeds an escaped `<content type="html">` with a `<summary>`.
#[allow(clippy::too_many_arguments)]
fn html_item(
    v: &Vocabs,
    feed_shape: u64,
    atom: bool,
    zh: bool,
    code: u64,
    minute: u32,
    link: &str,
    base: &str,
    rng: &mut Rng,
) -> String {
    let title = escape(&{
        let mut t = sentence(v, zh, rng);
        let max = if zh { 60 } else { 90 };
        if t.len() > max {
            let mut cut = max;
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            t.truncate(cut);
        }
        t.trim_end_matches(['。', '.', ',', '，']).to_string()
    });
    let no_bodies = feed_shape == 0;
    let encoded = feed_shape < 5;
    if atom {
        let body = if no_bodies {
            String::new()
        } else {
            let html = html_body(v, zh, body_len(rng), base, rng);
            let teaser = escape(&sentence(v, zh, rng));
            format!(
                "<summary>{teaser}</summary><content type=\"html\">{}</content>",
                escape(&html)
            )
        };
        format!(
            "<entry><title>{title}</title><id>urn:bench:{code}</id><link href=\"{link}\"/><updated>2022-01-10T16:{minute:02}:30+08:00</updated>{body}</entry>\n"
        )
    } else {
        let body = if no_bodies {
            String::new()
        } else if encoded {
            let html = html_body(v, zh, body_len(rng), base, rng);
            let teaser = escape(&sentence(v, zh, rng));
            format!(
                "<description>{teaser}</description><content:encoded><![CDATA[{html}]]></content:encoded>"
            )
        } else {
            let html = html_body(v, zh, body_len(rng), base, rng);
            format!("<description><![CDATA[{html}]]></description>")
        };
        format!(
            "<item><title>{title}</title><link>{link}</link><guid isPermaLink=\"false\">NW{code}</guid><pubDate>Mon, 10 Jan 2022 16:{minute:02}:30 +0800</pubDate><dc:creator>{}</dc:creator>{body}</item>\n",
            escape(if zh { v.zh.pick(rng) } else { v.en.pick(rng) })
        )
    }
}

fn build(feeds: usize, items: usize, seed: u64, base: &str, vocabs: Option<&Vocabs>) -> Corpus {
    let mut out = Vec::with_capacity(feeds);
    let mut codes = Vec::with_capacity(feeds * items);
    for f in 0..feeds {
        let mut rng = Rng::new(seed ^ (f as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let atom = rng.below(10) < 3;
        // Drawn apart, so that the plain corpus stays what it was.
        let mut shape_rng = Rng::new(seed ^ (f as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let zh = shape_rng.below(10) < 7;
        let shape = shape_rng.below(10);
        let mut body = String::with_capacity(items * 2500);
        if atom {
            body.push_str(&format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Feed {f}</title><id>urn:bench:{f}</id><updated>2022-01-10T16:57:30+08:00</updated>\n"));
        } else {
            body.push_str(&format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Feed {f}</title><link>{base}/</link><description>bench</description>\n"));
        }
        for i in 0..items {
            let code = info_code(f, i, &mut rng, feeds * items);
            codes.push(code);
            if let Some(v) = vocabs {
                let link = format!("{base}/html_News/NewsShare.html?infoCode=NW{code}");
                let minute = (i % 60) as u32;
                body.push_str(&html_item(
                    v, shape, atom, zh, code, minute, &link, base, &mut rng,
                ));
                continue;
            }
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
        codes,
        pages: HashMap::new(),
        log: None,
    }
}

/// A share page of about 5 KB for `code`; every tenth is GBK, labelled by
/// meta only. With `vocabs` (the realistic corpus) its paragraphs are drawn
/// like the feeds' bodies, links and entities included; else from the
/// plain corpus's phrases.
fn share_page(code: u64, vocabs: Option<&Vocabs>, base: &str) -> (Bytes, &'static str) {
    let mut rng = Rng::new(code);
    let gbk = code % 10 == 3;
    let paras = match vocabs {
        Some(v) => {
            let zh = rng.below(10) < 7;
            let len = 3000 + rng.below(3000) as usize;
            html_body(v, zh, len, base, &mut rng)
        }
        None => {
            let mut paras = String::new();
            while paras.len() < 4200 {
                paras.push_str(&format!(
                    "<p>\u{3000}\u{3000}{}</p>\n",
                    words(&mut rng, 300)
                ));
            }
            paras
        }
    };
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
            if let Some(log) = &corpus.log {
                use std::io::Write;
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let status = if inm == Some(etag.as_str()) { 304 } else { 200 };
                let mut w = log.lock().unwrap_or_else(|p| p.into_inner());
                let _ = writeln!(w, "{ms} {n} {status}");
            }
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
            let (body, ct) = match corpus.pages.get(&code) {
                Some((b, ct)) => (b.clone(), *ct),
                None => share_page(code, None, &corpus.base),
            };
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

async fn serve(
    port: u16,
    feeds: usize,
    items: usize,
    seed: u64,
    vocabs: Option<Vocabs>,
    log: Option<&str>,
) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let base = format!("http://{addr}");
    let mut corpus = build(feeds, items, seed, &base, vocabs.as_ref());
    corpus.log = log.map(|path| {
        std::sync::Mutex::new(std::io::LineWriter::new(
            std::fs::File::create(path).expect("create the request log"),
        ))
    });
    if let Some(v) = &vocabs {
        let pages = corpus
            .codes
            .iter()
            .map(|&c| (c, share_page(c, Some(v), &base)))
            .collect();
        corpus.pages = pages;
    }
    let corpus = Arc::new(corpus);
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

/// The search index as newscrawl built it up to schema 6, for the
/// comparison in RESULTS.md: the same posts (a copy of `db`, every one
/// queued by a `crawl --once --defer-index`) indexed by FTS5's trigram
/// tokenizer, one `INSERT … SELECT` per 2,000 posts with `automerge` 16, as
/// `store::index_pending` did then. Prints posts per second.
fn index_baseline(db: &str) {
    let copy = format!("{db}.baseline");
    let _ = std::fs::remove_file(&copy);
    std::fs::copy(db, &copy).expect("copy the database");
    let conn = rusqlite::Connection::open(&copy).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE VIRTUAL TABLE old_fts USING fts5(title, content_text,
             content = 'posts', content_rowid = 'id', tokenize = 'trigram');
         INSERT INTO old_fts (old_fts, rank) VALUES ('automerge', 16);",
    )
    .expect("create the trigram table");
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM posts ORDER BY id")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("ids");
    let started = std::time::Instant::now();
    for chunk in ids.chunks(2000) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        conn.execute(
            "INSERT INTO old_fts (rowid, title, content_text)
             SELECT id, title, content_text FROM posts WHERE id BETWEEN ?1 AND ?2",
            [first, last],
        )
        .expect("index");
    }
    let secs = started.elapsed().as_secs_f64();
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{copy}{suffix}"));
    }
    println!(
        "trigram index of {} posts: {secs:.2} s, {:.0} posts/s",
        ids.len(),
        ids.len() as f64 / secs
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
        "serve" => {
            let vocabs = match args.get("corpus").map(String::as_str).unwrap_or("html") {
                "plain" => None,
                "html" => {
                    let (Some(zh), Some(en)) = (args.get("vocab-zh"), args.get("vocab-en")) else {
                        eprintln!(
                            "--corpus html needs --vocab-zh DICT.TXT --vocab-en WORDS (bench/run.sh fetches them)"
                        );
                        std::process::exit(2);
                    };
                    Some(Vocabs {
                        zh: Vocab::jieba(zh, 60_000),
                        en: Vocab::english(en, 30_000, seed),
                    })
                }
                other => {
                    eprintln!("--corpus {other}: html or plain");
                    std::process::exit(2);
                }
            };
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(serve(
                    port,
                    feeds,
                    items,
                    seed,
                    vocabs,
                    args.get("log").map(String::as_str),
                ))
        }
        "stories-scale" => {
            let (Some(zh), Some(en)) = (args.get("vocab-zh"), args.get("vocab-en")) else {
                eprintln!("stories-scale needs --vocab-zh DICT.TXT --vocab-en WORDS");
                std::process::exit(2);
            };
            let vocabs = Vocabs {
                zh: Vocab::jieba(zh, 60_000),
                en: Vocab::english(en, 30_000, seed),
            };
            let db = args
                .get("database")
                .map(String::as_str)
                .unwrap_or("stories-scale.db");
            stories::run(
                std::path::Path::new(db),
                arg(&args, "posts", 1_000_000),
                arg(&args, "block", 100_000),
                &vocabs,
            );
        }
        "extract-eval" => {
            let dir = args
                .get("pages")
                .map(String::as_str)
                .unwrap_or("bench/extract");
            extract::run(
                std::path::Path::new(dir),
                arg(&args, "repeat", 5) as usize,
                args.get("out").map(std::path::Path::new),
                args.get("against").map(std::path::Path::new),
            );
        }
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
                "database = \"{db}\"\n[crawler]\nconcurrency = 16\nper_host = 16\nschedule = \"{schedule}\"\n# The corpus and its share pages are on 127.0.0.1.\nallow_private_networks = true\n"
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
        "index-baseline" => index_baseline(argv.get(2).map(String::as_str).unwrap_or("bench.db")),
        _ => {
            eprintln!(
                "usage: newscrawl-bench serve [--corpus html|plain --vocab-zh F --vocab-en F] | urls | config [--port P --feeds N --items M --seed S] | tokenize DIR | index-baseline DB"
            );
            std::process::exit(2);
        }
    }
}
