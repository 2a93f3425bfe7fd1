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
