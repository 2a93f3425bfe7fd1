//! The private-address guard, against a real server on 127.0.0.1: links
//! found in feeds may not reach loopback or private addresses, in any
//! spelling, by name or by redirect, unless the configuration allows it.

use newscrawl::error::FetchError;
use newscrawl::fetch::{Fetcher, Reach, Validators};
use url::Url;

use crate::server::{Response, Server};

fn crawler_config(allow_private: bool) -> newscrawl::config::CrawlerConfig {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("n.toml");
    std::fs::write(
        &p,
        format!("[crawler]\nallow_private_networks = {allow_private}\ntimeout = \"5s\"\n"),
    )
    .unwrap();
    newscrawl::config::load(&p).unwrap().crawler
}

async fn get(f: &Fetcher, url: &str, reach: Reach) -> Result<(), FetchError> {
    f.get(
        &Url::parse(url).unwrap(),
        "*/*",
        &Validators::default(),
        reach,
        &Default::default(),
    )
    .await
    .map(|_| ())
}

#[tokio::test]
async fn links_to_private_addresses_are_refused() {
    let server = Server::start();
    server.route("/page", |_| Response::ok("text/html", "<p>secret</p>"));
    let port = server.base.rsplit(':').next().unwrap().to_string();
    server.route("/redirect", {
        let port = port.clone();
        move |_| Response::status(302).header("Location", &format!("http://localhost:{port}/page"))
    });
    let guarded = Fetcher::new(&crawler_config(false)).unwrap();

    for host in [
        "127.0.0.1",
        "[::ffff:127.0.0.1]",
        "2130706433",
        "0177.0.0.1",
        "127.1",
    ] {
        let url = format!("http://{host}:{port}/page");
        let err = get(&guarded, &url, Reach::PublicOnly).await.unwrap_err();
        assert!(matches!(err, FetchError::Private { .. }), "{url}: {err}");
    }
    // A name that resolves to 127.0.0.1 is refused after resolution.
    let err = get(
        &guarded,
        &format!("http://localhost:{port}/page"),
        Reach::PublicOnly,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("private address"), "{err}");
    // Only http and https.
    let err = get(&guarded, "file:///etc/passwd", Reach::PublicOnly)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Scheme { .. }), "{err}");
    assert!(server.requests().is_empty(), "nothing reached the server");

    // The operator's own feeds may live anywhere; a redirect from there to a
    // private name is checked only for links.
    get(
        &guarded,
        &format!("http://127.0.0.1:{port}/page"),
        Reach::Any,
    )
    .await
    .unwrap();
    get(
        &guarded,
        &format!("http://127.0.0.1:{port}/redirect"),
        Reach::Any,
    )
    .await
    .unwrap();

    // allow_private_networks lifts the guard.
    let open = Fetcher::new(&crawler_config(true)).unwrap();
    get(
        &open,
        &format!("http://127.0.0.1:{port}/page"),
        Reach::PublicOnly,
    )
    .await
    .unwrap();
    get(
        &open,
        &format!("http://localhost:{port}/page"),
        Reach::PublicOnly,
    )
    .await
    .unwrap();
}

/// Where a publisher's feed lives, or what its name resolves to, lifts
/// nothing: a feed served from a name that resolves to 127.0.0.1 cannot make
/// newscrawl read loopback pages. Only the configuration can, per source.
#[test]
fn only_configuration_lifts_the_guard() {
    let env = crate::harness::Env::new();
    let port = env.base().rsplit(':').next().unwrap().to_string();
    let feed = |page: &str| {
        format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><title>内网</title>\
             <link>http://localhost:{port}/{page}</link><description>摘要</description></item></channel></rss>"
        )
    };
    let (a, b) = (feed("internal-a.html"), feed("internal-b.html"));
    env.route("/a.xml", move |_| {
        Response::ok("application/rss+xml", a.clone())
    });
    env.route("/b.xml", move |_| {
        Response::ok("application/rss+xml", b.clone())
    });
    for page in ["/internal-a.html", "/internal-b.html"] {
        env.route(page, |_| {
            Response::ok(
                "text/html",
                "<html><body><p>内部服务的秘密页面，不应被读取。</p></body></html>",
            )
        });
    }
    env.write_config(&format!(
        "[crawler]\narticle_attempts = 1\n\
         [[sources]]\nname = \"甲\"\nslug = \"a\"\nurl = \"http://localhost:{port}/a.xml\"\nfollow = \"link\"\n\
         [[sources]]\nname = \"乙\"\nslug = \"b\"\nurl = \"http://localhost:{port}/b.xml\"\nfollow = \"link\"\n\
         allow_private_networks = true\n"
    ));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(
        crate::harness::code(&out),
        0,
        "{}",
        crate::harness::stderr(&out)
    );
    // The guarded source's link was refused before any request...
    assert!(env.server.requests_to("/internal-a.html").is_empty());
    let err = env.strings("SELECT error FROM fetches WHERE url LIKE '%/internal-a.html'");
    assert!(
        err.first().is_some_and(|e| e.contains("private address")),
        "{err:?}"
    );
    assert_eq!(
        env.strings("SELECT content_text FROM posts WHERE source = 'a'"),
        ["摘要"]
    );
    // ...and the source the configuration allows read its page.
    assert_eq!(env.server.requests_to("/internal-b.html").len(), 1);
    assert_eq!(
        env.strings("SELECT content_text FROM posts WHERE source = 'b'"),
        ["内部服务的秘密页面，不应被读取。"]
    );
}
