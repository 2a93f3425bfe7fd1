//! Per-source fetch options: user agent, headers, a headers file, HTTP
//! Basic credentials from a file, a timeout, a proxy (HTTP and SOCKS5),
//! and `[crawler]` defaults. Credentials reach their source's host only,
//! and no secret reaches an output.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::harness::{Env, code, stderr, stdout};
use crate::secrets::{assert_none_shown, everything_shown};
use crate::server::{Request, Response};

fn rss(items: &[(&str, &str)]) -> String {
    let mut s = String::from("<rss version=\"2.0\"><channel><title>t</title>");
    for (i, (title, link)) in items.iter().enumerate() {
        s += &format!(
            "<item><title>{title}</title><link>{link}</link><guid>g{i}-{title}</guid>\
             <pubDate>Mon, 10 Jan 2022 16:57:30 +0800</pubDate><description>{title}</description></item>"
        );
    }
    s + "</channel></rss>"
}

fn page(title: &str) -> Response {
    Response::ok(
        "text/html; charset=utf-8",
        format!(
            "<html><head><title>{title}</title></head><body><article><h1>{title}</h1>\
             <p>国家统计局今天发布了最新的经济数据，{title}的正文在这里。</p>\
             <p>第二段文字，说明这篇文章的内容足够长，可以被正文提取识别出来。</p></article></body></html>"
        ),
    )
}

const COOKIE: &str = "COOKIE-SECRET-1";
const PASSWORD: &str = "PASS-SECRET-2";
const TOKEN: &str = "HEADERFILE-SECRET-3";
/// `reader:PASS-SECRET-2` in Base64.
const BASIC: &str = "Basic cmVhZGVyOlBBU1MtU0VDUkVULTI=";

fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).map(String::as_str)
}

#[test]
fn a_sources_options_reach_its_requests_and_its_credentials_its_host_only() {
    let env = Env::new();
    let port = env.base().rsplit(':').next().unwrap().to_string();
    let base = env.base().to_string();
    let feed = rss(&[
        ("同一主机", &format!("{base}/opt/a1.html")),
        // Another host name for the same server: no credentials there.
        ("另一主机", &format!("http://localhost:{port}/opt/a2.html")),
    ]);
    env.route("/opt/feed.xml", move |_| {
        Response::ok("application/rss+xml", feed.clone())
    });
    env.route("/opt/a1.html", |_| page("同一主机"));
    env.route("/opt/a2.html", |_| page("另一主机"));
    let plain = rss(&[("普通来源", &format!("{base}/plain/p1.html"))]);
    env.route("/plain/feed.xml", move |_| {
        Response::ok("application/rss+xml", plain.clone())
    });
    env.route("/plain/p1.html", |_| page("普通来源"));
    env.write_file("secrets/opt.password", &format!("{PASSWORD}\n"));
    env.write_file(
        "secrets/opt.headers",
        &format!("# kept out of the configuration\n\nX-Token: {TOKEN}\n"),
    );
    env.write_config(&format!(
        "[crawler]\nallow_private_networks = true\nheaders = {{ \"X-Crawler\" = \"every source\" }}\n\
         [[sources]]\nname = \"opt\"\nslug = \"opt\"\nurl = \"{base}/opt/feed.xml\"\nfollow = \"link\"\n\
         user_agent = \"OptAgent/2.0\"\n\
         headers = {{ Referer = \"https://ref.example/\", Cookie = \"sid={COOKIE}\" }}\n\
         headers_file = \"secrets/opt.headers\"\n\
         username = \"reader\"\npassword_file = \"secrets/opt.password\"\n\
         [[sources]]\nname = \"plain\"\nslug = \"plain\"\nurl = \"{base}/plain/feed.xml\"\nfollow = \"link\"\n"
    ));
    let out = env.run(&["-vv", "crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE content_text LIKE '%第二段文字%'"),
        3,
        "{:?}\n{:?}",
        env.strings("SELECT url || ' ' || coalesce(content_text, '-') FROM posts"),
        env.strings("SELECT url || ' ' || coalesce(error, '-') FROM fetches")
    );

    let one = |path: &str| {
        let r = env.server.requests_to(path);
        assert_eq!(r.len(), 1, "{path}: {r:?}");
        r.into_iter().next().unwrap()
    };
    for path in ["/opt/feed.xml", "/opt/a1.html"] {
        let r = one(path);
        assert_eq!(header(&r, "user-agent"), Some("OptAgent/2.0"), "{path}");
        assert_eq!(
            header(&r, "referer"),
            Some("https://ref.example/"),
            "{path}"
        );
        assert_eq!(header(&r, "x-crawler"), Some("every source"), "{path}");
        assert_eq!(
            header(&r, "cookie"),
            Some(&*format!("sid={COOKIE}")),
            "{path}"
        );
        assert_eq!(header(&r, "x-token"), Some(TOKEN), "{path}");
        assert_eq!(header(&r, "authorization"), Some(BASIC), "{path}");
    }
    let r = one("/opt/a2.html");
    assert_eq!(header(&r, "host"), Some(&*format!("localhost:{port}")));
    assert_eq!(header(&r, "user-agent"), Some("OptAgent/2.0"));
    assert_eq!(header(&r, "referer"), Some("https://ref.example/"));
    for credential in ["cookie", "x-token", "authorization"] {
        assert_eq!(
            header(&r, credential),
            None,
            "{credential} sent to another host"
        );
    }
    for path in ["/plain/feed.xml", "/plain/p1.html"] {
        let r = one(path);
        assert!(
            header(&r, "user-agent").unwrap().contains("newscrawl/"),
            "{path}"
        );
        assert_eq!(header(&r, "x-crawler"), Some("every source"), "{path}");
        for other in ["referer", "cookie", "x-token", "authorization"] {
            assert_eq!(header(&r, other), None, "{path}: {other}");
        }
    }

    // No secret in any output: logs, listings, checks, exports, the database.
    let check = env.run(&["-vv", "sources", "check"]);
    let shown =
        stdout(&out) + &stderr(&out) + &stdout(&check) + &stderr(&check) + &everything_shown(&env);
    let mut db = Vec::new();
    for f in ["data/newscrawl.db", "data/newscrawl.db-wal"] {
        if let Ok(mut file) = std::fs::File::open(env.dir.path().join(f)) {
            file.read_to_end(&mut db).unwrap();
        }
    }
    let shown = shown + &String::from_utf8_lossy(&db);
    assert_none_shown(&shown, &[COOKIE, PASSWORD, TOKEN, &BASIC[6..]]);
}

#[test]
fn a_source_timeout_fails_that_source_alone() {
    let env = Env::new();
    let base = env.base().to_string();
    env.route("/slow/feed.xml", |_| {
        Response::ok("application/rss+xml", rss(&[("慢", "http://x.example/1")]))
            .delay(std::time::Duration::from_secs(20))
    });
    env.route("/fast/feed.xml", |_| {
        Response::ok("application/rss+xml", rss(&[("快", "http://x.example/2")]))
    });
    // The crawler's timeout would wait for the slow answer; the source's does not.
    env.write_config(&format!(
        "[crawler]\ntimeout = \"60s\"\n\
         [[sources]]\nname = \"slow\"\nslug = \"slow\"\nurl = \"{base}/slow/feed.xml\"\ntimeout = \"1s\"\n\
         [[sources]]\nname = \"fast\"\nslug = \"fast\"\nurl = \"{base}/fast/feed.xml\"\n"
    ));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(env.strings("SELECT title FROM posts"), ["快"]);
    let errors = env.strings("SELECT error FROM fetches WHERE source = 'slow'");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("timed out"), "{errors:?}");
}

/// A SOCKS5 server without authentication that connects every CONNECT,
/// whatever host it names, to `to`; records the hosts asked for.
fn socks5(to: String) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut c) = stream else { continue };
            let (to, log) = (to.clone(), log.clone());
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut b = [0u8; 2];
                c.read_exact(&mut b)?; // version, number of methods
                let mut methods = vec![0u8; usize::from(b[1])];
                c.read_exact(&mut methods)?;
                c.write_all(&[5, 0])?; // no authentication
                let mut h = [0u8; 4];
                c.read_exact(&mut h)?; // version, CONNECT, reserved, address type
                let host = match h[3] {
                    1 => {
                        let mut a = [0u8; 4];
                        c.read_exact(&mut a)?;
                        std::net::Ipv4Addr::from(a).to_string()
                    }
                    3 => {
                        let mut n = [0u8; 1];
                        c.read_exact(&mut n)?;
                        let mut name = vec![0u8; usize::from(n[0])];
                        c.read_exact(&mut name)?;
                        String::from_utf8_lossy(&name).into_owned()
                    }
                    _ => return Ok(()),
                };
                let mut p = [0u8; 2];
                c.read_exact(&mut p)?;
                log.lock()
                    .unwrap()
                    .push(format!("{host}:{}", u16::from_be_bytes(p)));
                let upstream = TcpStream::connect(&to)?;
                c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?;
                let (mut c2, mut u2) = (c.try_clone()?, upstream.try_clone()?);
                let t = std::thread::spawn(move || std::io::copy(&mut u2, &mut c2));
                let mut upstream = upstream;
                let _ = std::io::copy(&mut c, &mut upstream);
                let _ = upstream.shutdown(std::net::Shutdown::Write);
                let _ = t.join();
                Ok(())
            });
        }
    });
    (port, asked)
}

#[test]
fn sources_go_through_their_http_or_socks5_proxy() {
    let env = Env::new();
    let port = env.base().rsplit(':').next().unwrap().to_string();
    // As a proxy the server sees the whole URL as the request target.
    env.route("http://proxied.invalid/px/feed.xml", |_| {
        Response::ok(
            "application/rss+xml",
            rss(&[("经代理", "http://proxied.invalid/px/1.html")]),
        )
    });
    env.route("/sx/feed.xml", |_| {
        Response::ok(
            "application/rss+xml",
            rss(&[("经SOCKS", "http://socks-only.invalid/sx/1.html")]),
        )
    });
    let (socks, asked) = socks5(format!("127.0.0.1:{port}"));
    env.write_config(&format!(
        "[crawler]\nproxy = \"http://127.0.0.1:{port}\"\n\
         [[sources]]\nname = \"px\"\nslug = \"px\"\nurl = \"http://proxied.invalid/px/feed.xml\"\n\
         [[sources]]\nname = \"sx\"\nslug = \"sx\"\nurl = \"http://socks-only.invalid/sx/feed.xml\"\n\
         proxy = \"socks5h://127.0.0.1:{socks}\"\n"
    ));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut titles = env.strings("SELECT title FROM posts");
    titles.sort();
    assert_eq!(titles, ["经SOCKS", "经代理"]);
    assert_eq!(*asked.lock().unwrap(), ["socks-only.invalid:80"]);
    let through_socks = env.server.requests_to("/sx/feed.xml");
    assert_eq!(through_socks.len(), 1);
    assert_eq!(
        header(&through_socks[0], "host"),
        Some("socks-only.invalid")
    );
    assert_eq!(
        env.server
            .requests_to("http://proxied.invalid/px/feed.xml")
            .len(),
        1
    );
}
