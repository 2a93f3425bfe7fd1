use super::load::default_database;
use super::*;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn load_err(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "newscrawl.toml", text);
    load(&p).unwrap_err().to_string()
}

#[test]
fn durations_and_sizes() {
    assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
    assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
    assert_eq!(parse_duration("6h"), Some(Duration::from_secs(21_600)));
    assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
    assert_eq!(parse_duration("ten"), None);
    assert_eq!(parse_duration("5 fortnights"), None);
    assert_eq!(parse_size("16MiB"), Some(16 << 20));
    assert_eq!(parse_size("512KiB"), Some(512 << 10));
    assert_eq!(parse_size("2GB"), Some(2_000_000_000));
    assert_eq!(parse_size("lots"), None);
    assert_eq!(parse_size("99999999999999999999GiB"), None);
}

#[test]
fn the_service_state_directory_holds_the_default_database() {
    let etc = Path::new("/etc/newscrawl");
    assert_eq!(
        default_database(etc, None),
        Path::new("/etc/newscrawl/newscrawl.db")
    );
    assert_eq!(
        default_database(etc, Some("/var/lib/newscrawl".as_ref())),
        Path::new("/var/lib/newscrawl/newscrawl.db")
    );
    assert_eq!(
        default_database(etc, Some("/var/lib/newscrawl:/var/lib/other".as_ref())),
        Path::new("/var/lib/newscrawl/newscrawl.db")
    );
    assert_eq!(
        default_database(etc, Some("".as_ref())),
        Path::new("/etc/newscrawl/newscrawl.db")
    );
}

#[test]
fn export_directories_resolve_and_category_pages_need_out() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "etc/newscrawl.toml",
        "[export.jekyll]\nout = \"../site/_posts\"\ncategory_pages = \"/srv/c\"\n",
    );
    let c = load(&p).unwrap();
    assert_eq!(
        c.export.jekyll_out,
        Some(dir.path().join("etc").join("../site/_posts"))
    );
    assert_eq!(
        c.export.jekyll_category_pages,
        Some(PathBuf::from("/srv/c"))
    );
    let e = load_err("[export.jekyll]\ncategory_pages = \"c\"\n");
    assert!(
        e.contains("newscrawl.toml:2") && e.contains("goes with export.jekyll.out"),
        "{e}"
    );
    let e = load_err("[export.jekyll]\nout = \" \"\n");
    assert!(e.contains("export.jekyll.out: must not be empty"), "{e}");
}

#[test]
fn defaults_and_relative_paths() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "etc/newscrawl.toml",
        "database = \"../data/n.db\"\n[[sources]]\nname = \"央视新闻客户端\"\nurl = \"https://example.org/a.xml\"\n",
    );
    let c = load(&p).unwrap();
    assert_eq!(
        c.database,
        Database::Sqlite(dir.path().join("etc").join("../data/n.db"))
    );
    let s = &c.sources[0];
    assert_eq!(s.slug, "yangshixinwenkehuduan");
    assert_eq!(s.schedule.expr, "*/10 * * * *");
    assert_eq!(s.follow, Follow::None);
    assert!(s.enabled);
    assert_eq!(c.crawler.timezone, chrono_tz::Asia::Shanghai);
    assert_eq!(c.crawler.max_body, 16 << 20);
    assert!(
        c.crawler
            .user_agent
            .starts_with("Mozilla/5.0 (compatible; newscrawl/")
    );
}

#[test]
fn dropins_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "newscrawl.toml",
        "[crawler]\nschedule = \"0 */5 * * * *\"\n",
    );
    write(
        dir.path(),
        "sources.d/b.toml",
        "[[sources]]\nname = \"B\"\nurl = \"http://b.example/\"\n",
    );
    write(
        dir.path(),
        "sources.d/a.toml",
        "[[sources]]\nname = \"A\"\nurl = \"http://a.example/\"\n",
    );
    write(dir.path(), "sources.d/ignored.txt", "not toml");
    let c = load(&p).unwrap();
    let slugs: Vec<_> = c.sources.iter().map(|s| s.slug.as_str()).collect();
    assert_eq!(slugs, ["a", "b"]);
    assert_eq!(c.sources[0].schedule.expr, "0 */5 * * * *");
    assert!(c.sources[0].defined_at.ends_with("a.toml:1"));
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let e = load_err("[crawler]\nconcurrency = 4\nfrobnicate = 1\n");
    assert!(e.contains("newscrawl.toml:3:1"), "{e}");
    assert!(e.contains("frobnicate"), "{e}");
}

#[test]
fn bad_values_name_file_line_and_key() {
    let src = "[[sources]]\nname = \"x\"\nurl = \"http://x.example/\"\n";
    let cases = [
        (
            "schedule = \"every tuesday\"\n",
            "sources[0].schedule",
            "cron",
        ),
        ("schedule = \"* * * * * * *\"\n", "sources[0].schedule", "7"),
        (
            "id_pattern = \"(unclosed\"\n",
            "sources[0].id_pattern",
            "regex",
        ),
        ("follow = \"sometimes\"\n", "sources[0].follow", "sometimes"),
        ("slug = \"Not A Slug\"\n", "sources[0].slug", "lowercase"),
    ];
    for (extra, key, word) in cases {
        let e = load_err(&format!("{src}{extra}"));
        assert!(e.contains("newscrawl.toml:4"), "{extra}: {e}");
        assert!(e.contains(key) && e.contains(word), "{extra}: {e}");
    }
    let e = load_err("[[sources]]\nname = \"x\"\nurl = \"not a url\"\n");
    assert!(
        e.contains("newscrawl.toml:3") && e.contains("sources[0].url"),
        "{e}"
    );
    let e = load_err("[[sources]]\nname = \"x\"\nurl = \"ftp://x.example/\"\n");
    assert!(e.contains("http or https"), "{e}");
    let e = load_err("[crawler]\ntimezone = \"Mars/Olympus\"\n");
    assert!(
        e.contains("newscrawl.toml:2") && e.contains("crawler.timezone"),
        "{e}"
    );
    let e = load_err("[crawler]\ntimeout = \"soon\"\n");
    assert!(e.contains("crawler.timeout"), "{e}");
    let e = load_err(
        "[[sources]]\nname = \"x\"\nurl = \"http://x.example/\"\n[sources.article]\nbody = \"##\"\n",
    );
    assert!(
        e.contains("newscrawl.toml:5") && e.contains("article.body"),
        "{e}"
    );
    let e = load_err(
        "[[sources]]\nname = \"x\"\nurl = \"http://x.example/\"\n[sources.article]\njson = \"content\"\n",
    );
    assert!(
        e.contains("newscrawl.toml:5") && e.contains("article.json"),
        "{e}"
    );
    let e = load_err(
        "[[sources]]\nname = \"x\"\nurl = \"http://x.example/\"\nfollow = \"ftp://x/{info_code}\"\n",
    );
    assert!(
        e.contains("newscrawl.toml:4") && e.contains("http(s) URL"),
        "{e}"
    );
}

#[test]
fn follow_templates() {
    let t = Follow::Template("http://api.example/content?code={info_code}&from={url}".into());
    assert_eq!(
        t.article_url(Some("http://x.example/a?b=1"), Some("2022"), None)
            .unwrap()
            .as_str(),
        "http://api.example/content?code=2022&from=http%3A%2F%2Fx.example%2Fa%3Fb%3D1"
    );
    assert_eq!(t.article_url(Some("http://x.example/a"), None, None), None);
    // Values are encoded, and never read as placeholders themselves.
    assert_eq!(
        t.article_url(Some("http://x.example/a"), Some("1&x={url}#"), None)
            .unwrap()
            .as_str(),
        "http://api.example/content?code=1%26x%3D%7Burl%7D%23&from=http%3A%2F%2Fx.example%2Fa"
    );
    let g = Follow::Template("http://api.example/text?id={guid}".into());
    assert_eq!(
        g.article_url(None, None, Some("NW2022")).unwrap().as_str(),
        "http://api.example/text?id=NW2022"
    );
    assert_eq!(
        Follow::Link
            .article_url(Some("https://x.example/p"), None, None)
            .unwrap()
            .as_str(),
        "https://x.example/p"
    );
    assert_eq!(
        Follow::Link.article_url(Some("javascript:alert(1)"), None, None),
        None
    );
    assert_eq!(
        Follow::None.article_url(Some("https://x.example/p"), Some("1"), None),
        None
    );
}

#[test]
fn duplicate_slugs_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "newscrawl.toml",
        "[[sources]]\nname = \"新华社\"\nurl = \"http://a.example/\"\n",
    );
    write(
        dir.path(),
        "sources.d/x.toml",
        "\n[[sources]]\nname = \"Xinhuashe\"\nurl = \"http://b.example/\"\n",
    );
    let e = load(&p).unwrap_err().to_string();
    assert!(e.contains("x.toml:2"), "{e}");
    assert!(e.contains("duplicate slug \"xinhuashe\""), "{e}");
    assert!(e.contains("newscrawl.toml:1"), "{e}");
}

#[test]
fn every_kind_is_listed_once_and_named_by_its_key() {
    for (i, k) in KindName::ALL.iter().enumerate() {
        assert_eq!(k.position(), i, "{k:?} out of place in KindName::ALL");
    }
    let e = load_err("[[sources]]\nname = \"A\"\nurl = \"http://a.example/\"\nkind = \"atom\"\n");
    assert!(e.contains("newscrawl.toml:4"), "{e}");
    assert!(
        e.contains("\"atom\" is not one of \"feed\", \"json\""),
        "{e}"
    );
    let e = load_err("[[sources]]\nname = \"A\"\nurl = \"http://a.example/\"\nkind = \"json\"\n");
    assert!(e.contains("needs a [sources.items] mapping"), "{e}");
}

#[test]
fn fetch_options_are_checked_and_never_shown() {
    let src = "[[sources]]\nname = \"A\"\nurl = \"http://a.example/feed.xml\"\n";
    let e = load_err(&format!("{src}username = \"u\"\n"));
    assert!(e.contains("newscrawl.toml:4"), "{e}");
    assert!(e.contains("needs `password_file` or `password_env`"), "{e}");
    let e = load_err(&format!(
        "{src}username = \"u\"\npassword_env = \"NEWSCRAWL_TEST_SURELY_UNSET\"\n"
    ));
    assert!(e.contains("newscrawl.toml:5"), "{e}");
    assert!(
        e.contains("the environment has no \"NEWSCRAWL_TEST_SURELY_UNSET\""),
        "{e}"
    );
    let e = load_err(&format!("{src}password_file = \"p\"\n"));
    assert!(e.contains("needs a `username`"), "{e}");
    let e = load_err(&format!(
        "{src}headers = {{ Cookie = \"a=SECRET\\r\\nX: y\" }}\n"
    ));
    assert!(e.contains("not a valid header value"), "{e}");
    assert!(!e.contains("SECRET"), "{e}");
    let e = load_err(&format!("{src}headers = {{ Host = \"b.example\" }}\n"));
    assert!(e.contains("set by newscrawl itself"), "{e}");
    let e = load_err(&format!(
        "{src}proxy = \"ftp://user:SECRET@p.example:21\"\n"
    ));
    assert!(e.contains("sources[0].proxy: the scheme must be"), "{e}");
    assert!(!e.contains("SECRET"), "{e}");
    let e = load_err("[crawler]\nproxy = \"not a url\"\n");
    assert!(
        e.contains("newscrawl.toml:2") && e.contains("crawler.proxy: not a URL"),
        "{e}"
    );
    let e = load_err(&format!("{src}timeout = \"0s\"\n"));
    assert!(e.contains("sources[0].timeout"), "{e}");

    // A headers file: its line is named, its content is not.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "h/cookie.txt", "# a comment\nCookie SECRET-1\n");
    let p = write(
        dir.path(),
        "newscrawl.toml",
        &format!("{src}headers_file = \"h/cookie.txt\"\n"),
    );
    let e = load(&p).unwrap_err().to_string();
    assert!(e.contains("cookie.txt:2"), "{e}");
    assert!(
        e.contains("not a `Name: value` line") && !e.contains("SECRET"),
        "{e}"
    );

    // Read, merged with [crawler]'s, and printed as ***.
    write(dir.path(), "h/cookie.txt", "Cookie: sid=SECRET-2\n");
    write(dir.path(), "h/pw", "SECRET-3\n");
    let p = write(
        dir.path(),
        "newscrawl.toml",
        &format!(
            "[crawler]\nheaders = {{ Referer = \"https://r.example/\", X-A = \"crawler\" }}\n\
             proxy = \"http://proxy:SECRET-4@p.example:3128\"\n\
             {src}headers = {{ X-A = \"source\" }}\nheaders_file = \"h/cookie.txt\"\n\
             username = \"u\"\npassword_file = \"h/pw\"\ntimeout = \"5s\"\nuser_agent = \"UA/1\"\n"
        ),
    );
    let c = load(&p).unwrap();
    let f = &c.sources[0].fetch;
    let h: Vec<(&str, &str, bool)> = f
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.expose(), h.credential))
        .collect();
    assert_eq!(
        h,
        [
            ("referer", "https://r.example/", false),
            ("x-a", "source", false),
            ("cookie", "sid=SECRET-2", true)
        ]
    );
    assert_eq!(
        f.basic.as_ref().map(|(u, p)| (u.as_str(), p.expose())),
        Some(("u", "SECRET-3"))
    );
    assert_eq!(f.timeout, Some(Duration::from_secs(5)));
    assert_eq!(f.user_agent.as_deref(), Some("UA/1"));
    assert_eq!(
        f.proxy.as_ref().map(Secret::expose),
        Some("http://proxy:SECRET-4@p.example:3128/")
    );
    assert!(f.credentials_for(&Url::parse("http://a.example/x").unwrap()));
    assert!(!f.credentials_for(&Url::parse("http://b.example/x").unwrap()));
    let shown = format!("{c:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[test]
fn rules_name_file_line_and_key() {
    let src = "[[sources]]\nname = \"A\"\nurl = \"http://a.example/feed.xml\"\n";
    let e = load_err("[[rules]]\naction = \"drop\"\nkeyword = \"x\"\n");
    assert!(
        e.contains("newscrawl.toml:2") && e.contains("rules[0].action"),
        "{e}"
    );
    let e = load_err(&format!(
        "{src}[[sources.rules]]\naction = \"block\"\nfield = \"body\"\nkeyword = \"x\"\n"
    ));
    assert!(
        e.contains("newscrawl.toml:6") && e.contains("sources[0].rules[0].field"),
        "{e}"
    );
    let e = load_err(&format!(
        "{src}[[sources.rules]]\naction = \"keep\"\npattern = \"(unclosed\"\n"
    ));
    assert!(
        e.contains("newscrawl.toml:6") && e.contains("sources[0].rules[0]"),
        "{e}"
    );
    let e = load_err(&format!("{src}[[sources.rules]]\naction = \"keep\"\n"));
    assert!(e.contains("needs a `pattern`"), "{e}");
    // [[rules]] come first, then the source's own.
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "newscrawl.toml",
        &format!(
            "[[rules]]\naction = \"block\"\nkeyword = \"AD\"\n{src}[[sources.rules]]\naction = \"keep\"\nfield = \"any\"\npattern = \"^x\"\n"
        ),
    );
    let c = load(&p).unwrap();
    let labels: Vec<&str> = c.sources[0]
        .rules
        .iter()
        .map(|r| r.label.as_str())
        .collect();
    assert_eq!(labels.len(), 2);
    assert!(
        labels[0].ends_with("newscrawl.toml:1: block title contains \"AD\""),
        "{labels:?}"
    );
    assert!(
        labels[1].ends_with("newscrawl.toml:7: keep any ~ /^x/"),
        "{labels:?}"
    );
    assert!(c.sources[0].rules[0].regex.is_match("an ad here"));
}

#[test]
fn hooks_name_file_line_and_key() {
    let src = "[[sources]]\nname = \"A\"\nslug = \"a\"\nurl = \"http://a.example/feed.xml\"\n";
    let e = load_err(&format!("{src}[[hooks]]\nname = \"h\"\n"));
    assert!(
        e.contains("newscrawl.toml:5") && e.contains("needs a `command` or a `url`"),
        "{e}"
    );
    let e = load_err(&format!(
        "{src}[[hooks]]\nname = \"h\"\nurl = \"ftp://x/?token=SECRET\"\n"
    ));
    assert!(
        e.contains("hooks[0].url: not an http or https URL") && !e.contains("SECRET"),
        "{e}"
    );
    let e = load_err(&format!(
        "{src}[[hooks]]\nname = \"h\"\ncommand = [\"true\"]\nsources = [\"b\"]\n"
    ));
    assert!(e.contains("hooks[0].sources: no source \"b\""), "{e}");
    let e = load_err(&format!(
        "{src}[[hooks]]\nname = \"h\"\ncommand = [\"true\"]\nevents = [\"deleted\"]\n"
    ));
    assert!(e.contains("hooks[0].events"), "{e}");
    let e = load_err(&format!(
        "{src}[[hooks]]\nname = \"h\"\ncommand = [\"true\"]\n[[hooks]]\nname = \"h\"\nurl = \"http://x/\"\n"
    ));
    assert!(e.contains("hooks[1].name: \"h\" is taken"), "{e}");
    let e = load_err(&format!("{src}[[hooks]]\nname = \"h\"\ncommand = []\n"));
    assert!(e.contains("hooks[0].command: needs a program"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "newscrawl.toml",
        &format!(
            "{src}[[hooks]]\nname = \"h\"\nurl = \"https://x.example/h?token=SECRET\"\nevents = [\"updated\"]\n"
        ),
    );
    let c = load(&p).unwrap();
    let h = &c.hooks[0];
    assert_eq!((h.on_new, h.on_updated, h.attempts), (false, true, 3));
    assert!(!format!("{c:?}").contains("SECRET"));
}

#[test]
fn stories_settings_read_and_refuse_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "newscrawl.toml",
        "[stories]\nwindow = \"36h\"\nthreshold = 0.7\ngroup = false\n",
    );
    let c = load(&p).unwrap();
    assert_eq!(c.stories.window, Duration::from_secs(36 * 3600));
    assert_eq!(c.stories.threshold, 0.7);
    assert!(!c.stories.group);
    let p = write(dir.path(), "default.toml", "");
    assert_eq!(load(&p).unwrap().stories, StoriesConfig::default());
    assert!(StoriesConfig::default().group);
    let e = load_err("\n[stories]\nthreshold = 1.5\n");
    assert!(
        e.contains("newscrawl.toml:3") && e.contains("stories.threshold"),
        "{e}"
    );
    let e = load_err("[stories]\nwindow = \"soon\"\n");
    assert!(
        e.contains("newscrawl.toml:2") && e.contains("stories.window"),
        "{e}"
    );
    assert!(load_err("[stories]\nwindows = \"3d\"\n").contains("windows"));
}

#[test]
fn postgres_settings_read_and_refuse_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pgpass"), "s3cret\n").unwrap();
    std::fs::write(
        dir.path().join("ca.pem"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("not-a-ca.pem"), "hello\n").unwrap();
    let p = write(
        dir.path(),
        "newscrawl.toml",
        "database = \"postgres://crawler@db.example/news\"\ndatabase_password_file = \"pgpass\"\ndatabase_ca_file = \"ca.pem\"\n",
    );
    let c = load(&p).unwrap();
    let Database::Postgres(pg) = &c.database else {
        panic!("{:?}", c.database)
    };
    assert_eq!(pg.password(), Some("s3cret"), "the final newline dropped");
    assert!(pg.ca().is_some());
    assert!(!format!("{c:?}").contains("s3cret"));
    assert_eq!(c.database.to_string(), "postgres://crawler@db.example/news");

    let e = load_err(
        "database = \"postgres://crawler@db.example/news\"\ndatabase_ca_file = \"missing.pem\"\n",
    );
    assert!(
        e.contains("newscrawl.toml:2") && e.contains("database_ca_file"),
        "{e}"
    );
    let p = write(
        dir.path(),
        "bad-ca.toml",
        "database = \"postgres://crawler@db.example/news\"\n\ndatabase_ca_file = \"not-a-ca.pem\"\n",
    );
    let e = load(&p).unwrap_err().to_string();
    assert!(
        e.contains("bad-ca.toml:3") && e.contains("no PEM certificate"),
        "{e}"
    );
    let e = load_err("database = \"data/n.db\"\ndatabase_password_file = \"pgpass\"\n");
    assert!(
        e.contains("newscrawl.toml:2") && e.contains("goes with a PostgreSQL database"),
        "{e}"
    );
    let e = load_err("database = \"postgres:///nohost\"\n");
    assert!(
        e.contains("newscrawl.toml:1") && e.contains("needs a host"),
        "{e}"
    );
}
