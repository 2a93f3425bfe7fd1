//! The daemon: the real binary with one- and two-second schedules, a
//! NOTIFY_SOCKET this test listens on, and real signals. Every wait is on a
//! condition with a deadline.

use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::{Env, code};
use crate::server::Response;

/// A running daemon and what it told the service manager.
struct Daemon {
    child: Child,
    notes: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    fn start(env: &Env, watchdog_usec: Option<u64>) -> Daemon {
        Daemon::start_with(env, watchdog_usec, &[])
    }

    /// [`Daemon::start`] with more environment variables.
    fn start_with(env: &Env, watchdog_usec: Option<u64>, vars: &[(&str, &str)]) -> Daemon {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let sock_path = env.dir.path().join(format!("notify-{n}.sock"));
        let sock = UnixDatagram::bind(&sock_path).unwrap();
        let notes: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = Arc::clone(&notes);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = sock.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock().unwrap().extend(msg.lines().map(str::to_string));
            }
        });
        let mut cmd = env.command();
        cmd.arg("--config")
            .arg(env.config_path())
            .args(["-v", "crawl"])
            .env("NOTIFY_SOCKET", &sock_path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(env.dir.path().join("daemon.log")).unwrap());
        if let Some(us) = watchdog_usec {
            cmd.env("WATCHDOG_USEC", us.to_string());
        }
        cmd.envs(vars.iter().copied());
        Daemon {
            child: cmd.spawn().unwrap(),
            notes,
        }
    }

    fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap().clone()
    }

    fn count(&self, note: &str) -> usize {
        self.notes().iter().filter(|n| n.as_str() == note).count()
    }

    fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig}");
    }

    /// Waits for the process to end, at most `limit`.
    fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `cond` every 20 ms until it holds or `limit` passes.
fn wait_for(what: &str, limit: Duration, log: &std::path::Path, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "timed out after {limit:?} waiting for {what}\n--- daemon log ---\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

const LIMIT: Duration = Duration::from_secs(15);

#[test]
fn polls_on_schedule_reloads_and_stops_cleanly() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.serve_fixture("/feed.json", "feed.json", "application/feed+json");
    env.serve_fixture("/gbk.xml", "gbk.xml", "text/xml");
    env.write_config(&format!(
        "{}schedule = \"* * * * * *\"\n",
        env.source("财经", "rss", "/rss.xml")
    ));
    let log = env.dir.path().join("daemon.log");
    let mut d = Daemon::start(&env, Some(1_000_000));

    wait_for("READY=1", LIMIT, &log, || d.count("READY=1") == 1);
    // Polled at once, then every second, conditionally.
    wait_for("four polls", LIMIT, &log, || {
        env.server.requests_to("/rss.xml").len() >= 4
    });
    let reqs = env.server.requests_to("/rss.xml");
    assert!(!reqs[0].headers.contains_key("if-none-match"));
    assert!(
        reqs[1..]
            .iter()
            .all(|r| r.headers.contains_key("if-none-match"))
    );
    wait_for("not_modified rows", LIMIT, &log, || {
        env.count("SELECT COUNT(*) FROM fetches WHERE outcome = 'not_modified'") >= 2
    });
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 4);
    // The writer indexes new posts for search as soon as it has nothing else to do.
    wait_for("posts indexed for search", LIMIT, &log, || {
        env.unindexed() == 0
    });
    assert_eq!(env.matches("经济数据"), 1);
    // WATCHDOG_USEC = 1 s: pinged every half second.
    wait_for("watchdog pings", LIMIT, &log, || d.count("WATCHDOG=1") >= 3);
    assert!(
        d.notes()
            .iter()
            .any(|n| n.starts_with("STATUS=polling 1 sources")),
        "{:?}",
        d.notes()
    );

    // A drop-in and SIGHUP: the new source is crawled without a restart.
    env.write_file(
        "sources.d/10-json.toml",
        &format!(
            "{}schedule = \"*/2 * * * * *\"\n",
            env.source("JSON", "json", "/feed.json")
        ),
    );
    d.signal("HUP");
    wait_for("the new source polled", LIMIT, &log, || {
        !env.server.requests_to("/feed.json").is_empty()
    });
    wait_for("its posts stored", LIMIT, &log, || {
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'json'") > 0
    });
    let notes = d.notes();
    let reloading = notes
        .iter()
        .position(|n| n == "RELOADING=1")
        .expect("RELOADING=1");
    assert!(
        notes[reloading + 1].starts_with("MONOTONIC_USEC="),
        "{notes:?}"
    );
    assert!(
        notes[reloading..].iter().any(|n| n == "READY=1"),
        "{notes:?}"
    );

    // A broken drop-in is refused; the running configuration keeps polling.
    env.write_file(
        "sources.d/20-bad.toml",
        &format!(
            "{}schedule = \"every tuesday\"\n",
            env.source_guarded("坏", "bad", "/gbk.xml")
        ),
    );
    d.signal("HUP");
    wait_for("STATUS says the reload failed", LIMIT, &log, || {
        d.notes().iter().any(|n| {
            n.starts_with("STATUS=") && n.contains("reload failed") && n.contains("20-bad.toml:5")
        })
    });
    let before = env.server.requests_to("/rss.xml").len();
    wait_for("polling goes on", LIMIT, &log, || {
        env.server.requests_to("/rss.xml").len() >= before + 2
    });
    assert!(env.server.requests_to("/gbk.xml").is_empty());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("reload failed") && text.contains("20-bad.toml:5"),
        "{text}"
    );

    // Removing a drop-in stops its source; its posts stay.
    std::fs::remove_file(env.dir.path().join("sources.d/20-bad.toml")).unwrap();
    std::fs::remove_file(env.dir.path().join("sources.d/10-json.toml")).unwrap();
    d.signal("HUP");
    wait_for("reload applied", LIMIT, &log, || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("source removed")
    });
    let json_polls = env.server.requests_to("/feed.json").len();
    let rss_polls = env.server.requests_to("/rss.xml").len();
    wait_for("rss polled twice more", LIMIT, &log, || {
        env.server.requests_to("/rss.xml").len() >= rss_polls + 2
    });
    assert_eq!(env.server.requests_to("/feed.json").len(), json_polls);
    assert!(env.count("SELECT COUNT(*) FROM posts WHERE source = 'json'") > 0);

    // SIGTERM: STOPPING=1, exit 0 well within 10 s, the database intact.
    d.signal("TERM");
    let code = d.wait_exit(Duration::from_secs(10));
    assert_eq!(
        code,
        Some(0),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(d.count("STOPPING=1"), 1);
    env.assert_integrity();
}

#[test]
fn retry_after_is_honoured_and_backoff_grows() {
    let env = Env::new();
    env.route("/busy.xml", |_| {
        Response::status(503).header("Retry-After", "3")
    });
    env.route("/down.xml", |_| Response::status(500));
    let mut cfg = String::from("[crawler]\nmax_backoff = \"8s\"\n");
    cfg += &format!(
        "{}schedule = \"* * * * * *\"\n",
        env.source("忙", "busy", "/busy.xml")
    );
    cfg += &format!(
        "{}schedule = \"* * * * * *\"\n",
        env.source("坏", "down", "/down.xml")
    );
    env.write_config(&cfg);
    let log = env.dir.path().join("daemon.log");
    let d = Daemon::start(&env, None);
    // The state, not the request: the fourth failure saved.
    wait_for(
        "four failed polls of the broken source saved",
        Duration::from_secs(20),
        &log,
        || {
            env.try_count("SELECT failures FROM sources WHERE slug = 'down'")
                .is_some_and(|n| n >= 4)
        },
    );
    let at: Vec<Instant> = env
        .server
        .requests_to("/down.xml")
        .iter()
        .map(|r| r.at)
        .collect();
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    // One second, then two, then four (each plus under 100 ms of jitter).
    assert!(
        gaps[0] >= Duration::from_millis(900) && gaps[0] < Duration::from_millis(1900),
        "{gaps:?}"
    );
    assert!(gaps[1] >= Duration::from_millis(1900), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(3900), "{gaps:?}");
    // Retry-After: 3 s between the 503s, though the schedule says every second.
    let busy: Vec<Instant> = env
        .server
        .requests_to("/busy.xml")
        .iter()
        .map(|r| r.at)
        .collect();
    assert!(busy.len() >= 2, "{busy:?}");
    for w in busy.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(2900),
            "{:?}",
            w[1] - w[0]
        );
    }
    // Logged once at WARN each, not on every failure.
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("source failing").count(), 2, "{text}");
    assert_eq!(
        env.count("SELECT failures FROM sources WHERE slug = 'down'"),
        4
    );
    drop(d);
}

#[test]
fn a_second_signal_exits_at_once_and_slow_polls_are_abandoned_after_ten_seconds() {
    let env = Env::new();
    env.route("/slow.xml", |_| {
        Response::ok("application/rss+xml", "<rss/>").delay(Duration::from_secs(40))
    });
    env.write_config(&format!(
        "[crawler]\ntimeout = \"60s\"\n{}",
        env.source("慢", "slow", "/slow.xml")
    ));
    let log = env.dir.path().join("daemon.log");

    let mut d = Daemon::start(&env, None);
    wait_for("the slow poll in flight", LIMIT, &log, || {
        env.server.in_flight() == 1
    });
    d.signal("TERM");
    wait_for("STOPPING=1", LIMIT, &log, || d.count("STOPPING=1") == 1);
    d.signal("TERM");
    let code = d.wait_exit(Duration::from_secs(3));
    assert_eq!(code, Some(1), "a second signal exits at once, not cleanly");

    let mut d = Daemon::start(&env, None);
    wait_for("the slow poll in flight again", LIMIT, &log, || {
        env.server.in_flight() == 2
    });
    let stopped_at = Instant::now();
    d.signal("TERM");
    let code = d.wait_exit(Duration::from_secs(13));
    assert_eq!(
        code,
        Some(0),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let took = stopped_at.elapsed();
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(12),
        "{took:?}"
    );
    env.assert_integrity();
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches"),
        0,
        "nothing half-written"
    );
}

/// A source polled every second and `[metrics] listen` on a free port.
/// A second daemon on the same database is refused (exit 3, naming the
/// first one's pid) and leaves the first running; `crawl --once` beside it
/// still works; once the first is gone (even by SIGKILL) a daemon starts.
/// On SQLite: on PostgreSQL several daemons share the work
/// (`postgres::two_daemons_share_the_sources_and_one_takes_over_from_a_dead_one`).
#[test]
fn a_second_daemon_on_the_same_database_is_refused() {
    let env = Env::sqlite();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config(&env.source("财经", "rss", "/rss.xml"));
    let log = env.dir.path().join("daemon.log");
    let mut first = Daemon::start(&env, None);
    wait_for("the first daemon ready", LIMIT, &log, || {
        first.count("READY=1") >= 1
    });

    let mut second = env
        .command()
        .arg("--config")
        .arg(env.config_path())
        .arg("crawl")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(s) = second.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("the second daemon kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    second
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(3), "{err}");
    assert!(
        err.contains("another newscrawl daemon")
            && err.contains(&format!("pid {}", first.child.id())),
        "{err}"
    );
    assert!(
        first.child.try_wait().unwrap().is_none(),
        "the first one stopped"
    );
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);

    // SIGKILL leaves no stale lock behind.
    first.signal("KILL");
    assert!(first.wait_exit(LIMIT).is_some());
    let mut third = Daemon::start(&env, None);
    wait_for("a new daemon ready", LIMIT, &log, || {
        third.count("READY=1") >= 1
    });
    third.signal("TERM");
    assert_eq!(third.wait_exit(LIMIT), Some(0));
}

fn with_metrics() -> (Env, u16) {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    env.write_config(&format!(
        "[metrics]\nlisten = \"127.0.0.1:{port}\"\n{}schedule = \"* * * * * *\"\n",
        env.source("财经", "rss", "/rss.xml")
    ));
    (env, port)
}

/// One GET of the metrics endpoint: the whole answer, or "" when it cannot
/// be reached.
fn get_metrics(port: u16) -> String {
    let mut body = String::new();
    if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        let _ = s.read_to_string(&mut body);
    }
    body
}

#[test]
fn metrics_are_served() {
    let (env, port) = with_metrics();
    let log = env.dir.path().join("daemon.log");
    let _d = Daemon::start(&env, None);
    wait_for("two polls", LIMIT, &log, || {
        env.server.requests_to("/rss.xml").len() >= 2
    });
    let mut body = String::new();
    wait_for("the metrics endpoint", LIMIT, &log, || {
        body = get_metrics(port);
        body.contains("newscrawl_polls_total{outcome=\"not_modified\"}")
            && !body.contains("{outcome=\"not_modified\"} 0")
    });
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(body.contains("newscrawl_posts_stored_total 4"), "{body}");
    assert!(
        body.contains("newscrawl_polls_total{outcome=\"ok\"} 1"),
        "{body}"
    );
    assert!(body.contains("newscrawl_sources_failing 0"), "{body}");
    assert!(
        body.contains("newscrawl_poll_duration_seconds_count"),
        "{body}"
    );
}

#[test]
fn retention_prunes_at_start_up() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config(&env.source("财经", "rss", "/rss.xml"));
    assert_eq!(crate::harness::code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 4);
    // The feed's posts are from 2022: a 90-day retention prunes them all, and
    // keeps their keys, so the daemon's own polls do not bring them back.
    env.write_config(&format!(
        "[retention]\nolder_than = \"90d\"\n{}",
        env.source("财经", "rss", "/rss.xml")
    ));
    // Daemons sharing PostgreSQL poll a source when the database has it
    // due, and `crawl --once` just polled it: due again now.
    if env.on_postgres() {
        env.execute("UPDATE sources SET next_poll_at = now()");
    }
    let log = env.dir.path().join("daemon.log");
    let mut d = Daemon::start(&env, None);
    wait_for("the prune", LIMIT, &log, || {
        env.count("SELECT COUNT(*) FROM tombstones") == 4
    });
    wait_for("a poll after it, saved", LIMIT, &log, || {
        env.try_count("SELECT COUNT(*) FROM fetches")
            .is_some_and(|n| n >= 2)
    });
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 0);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("retention: pruned")
    );
}

#[test]
fn a_sources_own_retention_prunes_its_posts_alone() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.serve_fixture("/feed.json", "feed.json", "application/feed+json");
    let sources = format!(
        "{}{}",
        env.source("财经", "rss", "/rss.xml"),
        env.source("快讯", "json", "/feed.json")
    );
    env.write_config(&sources);
    assert_eq!(crate::harness::code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'rss'"),
        4
    );
    let json = env.count("SELECT COUNT(*) FROM posts WHERE source = 'json'");
    assert!(json > 0);
    // Both feeds' posts are from 2022; only `rss` keeps 90 days, and there
    // is no [retention]: `json`'s posts stay.
    env.write_config(&sources.replace("slug = \"rss\"\n", "slug = \"rss\"\nretention = \"90d\"\n"));
    let log = env.dir.path().join("daemon.log");
    let mut d = Daemon::start(&env, None);
    wait_for("the prune", LIMIT, &log, || {
        env.count("SELECT COUNT(*) FROM tombstones") == 4
    });
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'rss'"),
        0
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'json'"),
        json
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn sources_add_and_disable_reach_the_running_daemon() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.serve_fixture("/feed.json", "feed.json", "application/feed+json");
    env.write_config(&format!(
        "[crawler]\nschedule = \"* * * * * *\"\n{}",
        env.source("财经", "rss", "/rss.xml")
    ));
    let log = env.dir.path().join("daemon.log");
    let mut d = Daemon::start(&env, None);
    wait_for("the first poll", LIMIT, &log, || {
        env.try_count("SELECT COUNT(*) FROM fetches WHERE source = 'rss'")
            .is_some_and(|n| n >= 1)
    });
    let out = env.run(&[
        "sources",
        "add",
        &format!("{}/feed.json", env.base()),
        "--slug",
        "kuaixun",
    ]);
    assert_eq!(code(&out), 0, "{}", crate::harness::stderr(&out));
    let said = crate::harness::stdout(&out);
    // On PostgreSQL the daemons may run on other hosts: the command says to
    // reload them all, and SIGHUP is what `systemctl reload` sends.
    let reload = |said: &str| {
        if env.on_postgres() {
            assert!(said.contains("reload every daemon"), "{said}");
            d.signal("HUP");
        } else {
            assert!(
                said.contains(&format!("the daemon (pid {}) reloads", d.child.id())),
                "{said}"
            );
        }
    };
    reload(&said);
    wait_for("the added source polled", LIMIT, &log, || {
        env.try_count("SELECT COUNT(*) FROM fetches WHERE source = 'kuaixun'")
            .is_some_and(|n| n >= 1)
    });
    // Disabled: the daemon stops polling it.
    let out = env.run(&["sources", "disable", "kuaixun"]);
    assert_eq!(code(&out), 0, "{}", crate::harness::stderr(&out));
    reload(&crate::harness::stdout(&out));
    wait_for("the reload that drops it", LIMIT, &log, || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("configuration reloaded")
            .count()
            >= 2
    });
    // One poll of the other source lets a poll of the disabled one that was
    // under way at the reload finish; after two more, none of it since.
    let others = env.count("SELECT COUNT(*) FROM fetches WHERE source = 'rss'");
    wait_for(
        "a poll of the other source after the reload",
        LIMIT,
        &log,
        || env.count("SELECT COUNT(*) FROM fetches WHERE source = 'rss'") > others,
    );
    let polled = env.count("SELECT COUNT(*) FROM fetches WHERE source = 'kuaixun'");
    let others = env.count("SELECT COUNT(*) FROM fetches WHERE source = 'rss'");
    wait_for("two more polls of the other source", LIMIT, &log, || {
        env.count("SELECT COUNT(*) FROM fetches WHERE source = 'rss'") >= others + 2
    });
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE source = 'kuaixun'"),
        polled
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn the_daemon_runs_hooks_beside_the_export() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    let out = env.dir.path().join("hook.out");
    let posts = env.dir.path().join("site/_posts");
    env.write_config(&format!(
        "[export.jekyll]\nout = \"{}\"\n{}[[hooks]]\nname = \"log\"\ncommand = [\"sh\", \"-c\", \"cat >> \\\"$0\\\"\", \"{}\"]\n",
        posts.display(),
        env.source("财经", "rss", "/rss.xml"),
        out.display()
    ));
    let log = env.dir.path().join("daemon.log");
    let mut d = Daemon::start(&env, None);
    // Both hear of the poll's posts: the hook and the export.
    wait_for("the hook's four posts", LIMIT, &log, || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .count()
            == 4
    });
    wait_for("the export's four files", LIMIT, &log, || {
        std::fs::read_dir(&posts).map(|d| d.count()).unwrap_or(0) == 4
    });
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn a_panicking_poll_leaves_its_source_scheduled_and_the_others_polling() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.serve_fixture("/feed.json", "feed.json", "application/feed+json");
    env.write_config(&format!(
        "[crawler]\nmax_backoff = \"1s\"\n{}schedule = \"* * * * * *\"\n{}schedule = \"* * * * * *\"\n",
        env.source("财经", "rss", "/rss.xml"),
        env.source("坏掉", "broken", "/feed.json")
    ));
    let log = env.dir.path().join("daemon.log");
    let mut d = Daemon::start_with(&env, None, &[("NEWSCRAWL_TEST_PANIC_IN_POLL", "broken")]);
    // Its task lives on: the panic is recorded on every poll, failures grow.
    wait_for(
        "the broken source's third recorded panic",
        LIMIT,
        &log,
        || {
            env.try_count("SELECT failures FROM sources WHERE slug = 'broken'")
                .is_some_and(|n| n >= 3)
        },
    );
    wait_for("the healthy source polled three times", LIMIT, &log, || {
        env.try_count("SELECT COUNT(*) FROM fetches WHERE source = 'rss'")
            .is_some_and(|n| n >= 3)
    });
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'rss'"),
        4
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)), Some(0));
}

/// The fields of a `/proc/…/stat` line after the command name (which is
/// in parentheses and may hold spaces): the state first.
fn stat_fields(stat: &str) -> Vec<&str> {
    stat[stat.rfind(')').unwrap() + 2..].split(' ').collect()
}

/// CPU time (user + system) of a process so far, from /proc.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f = stat_fields(&stat);
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

/// 120 idle connections to the metrics endpoint of a daemon allowed 64 file
/// descriptors: it serves a bounded number at once (the rest wait in the
/// kernel's backlog), does not spin on failed accepts, and its polls go on.
#[test]
fn idle_metrics_connections_cannot_starve_the_daemon() {
    let (env, port) = with_metrics();
    let log = env.dir.path().join("daemon.log");
    let mut d = Daemon::start(&env, None);
    wait_for("READY=1", LIMIT, &log, || d.count("READY=1") == 1);
    let pid = d.child.id();
    let ok = std::process::Command::new("prlimit")
        .args([&format!("--pid={pid}"), "--nofile=64:64"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "prlimit");
    let idle: Vec<std::net::TcpStream> = (0..120)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let polls = |env: &Env| {
        env.try_count("SELECT COUNT(*) FROM fetches WHERE outcome IN ('ok', 'not_modified')")
            .unwrap_or(0)
    };
    let before = polls(&env);
    let cpu0 = cpu_time(pid);
    let t0 = Instant::now();
    wait_for(
        "three more polls with the connections open",
        LIMIT,
        &log,
        || polls(&env) >= before + 3,
    );
    std::thread::sleep(Duration::from_millis(500)); // a window to measure the CPU over
    let (cpu, wall) = (cpu_time(pid) - cpu0, t0.elapsed());
    assert!(
        cpu < wall / 5,
        "the daemon used {cpu:?} of CPU in {wall:?} with idle connections open"
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE error LIKE '%open files%'"),
        0
    );
    drop(idle);
    // The endpoint answers again.
    wait_for("the metrics endpoint", LIMIT, &log, || {
        get_metrics(port).starts_with("HTTP/1.1 200 OK")
    });
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)), Some(0));
}

/// `[export.jekyll] out`: the daemon writes a post's file right after the
/// poll that stored it, and rewrites it when a newer version comes; what it
/// writes is what `export jekyll` writes.
#[test]
fn the_daemon_keeps_the_posts_directory_current() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let env = Env::new();
    let version = Arc::new(AtomicUsize::new(1));
    let v = version.clone();
    let base = env.base().to_string();
    env.route("/live.xml", move |_| {
        let entries: String = (1..=v.load(Ordering::SeqCst))
            .map(|i| {
                format!(
                    r#"<entry><id>e{i}</id><title>快讯{i}</title><link href="{base}/news/{i}.html"/>
<published>2022-01-1{i}T09:00:00+08:00</published><content type="html">&lt;p&gt;正文{i}&lt;/p&gt;</content></entry>"#
                )
            })
            .collect();
        Response::ok(
            "application/atom+xml",
            format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>f</id>{entries}</feed>"#
            ),
        )
    });
    env.write_config(&format!(
        "[export.jekyll]\nout = \"site/_posts\"\ncategory_pages = \"site/category\"\n\n{}schedule = \"* * * * * *\"\n",
        env.source("直播", "live", "/live.xml")
    ));
    let log = env.dir.path().join("daemon.log");
    let posts = env.dir.path().join("site/_posts");
    // Posts only: not the temp files a write goes through.
    let md = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir).map_or(Vec::new(), |d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| {
                    let name = p.file_name().unwrap().to_string_lossy();
                    name.ends_with(".md") && !name.starts_with('.')
                })
                .collect()
        })
    };
    let count = |dir: &std::path::Path| md(dir).len();
    let mut d = Daemon::start(&env, None);
    wait_for("the first post's file", LIMIT, &log, || count(&posts) == 1);
    version.store(2, Ordering::SeqCst);
    wait_for("the second post's file", LIMIT, &log, || count(&posts) == 2);
    let written: String = md(&posts)
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        written.contains("正文1") && written.contains("正文2"),
        "{written}"
    );
    assert!(env.dir.path().join("site/category/live.html").is_file());
    d.signal("TERM");
    assert_eq!(d.wait_exit(LIMIT), Some(0));
    // The same bytes as the export command's.
    let by_hand = env.dir.path().join("b");
    let o = env.run(&["export", "jekyll", "--out", by_hand.to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    let bytes = |dir: &std::path::Path| {
        let mut v: Vec<(std::ffi::OsString, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name(), std::fs::read(e.path()).unwrap())
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(bytes(&posts), bytes(&by_hand));
}

/// Each thread of a process, by name, with its nice value (from /proc),
/// the main thread's (the one whose id is the process's) first.
fn thread_niceness(pid: u32) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    let mut tasks: Vec<std::path::PathBuf> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|t| t.unwrap().path())
        .collect();
    tasks.sort_by_key(|t| t.file_name().is_some_and(|n| n != pid.to_string().as_str()));
    for dir in tasks {
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("stat")),
        ) else {
            continue; // a thread that ended meanwhile
        };
        let nice: i32 = stat_fields(&stat)[16].parse().unwrap();
        out.push((comm.trim().to_string(), nice));
    }
    out
}

/// The store's writer, the crawl's one serial stage, keeps the process's
/// priority; the runtime's threads (fetching, parsing: workers and the
/// blocking pool alike) run 10 nicer, so that the writer is not left part
/// of a core while polls queue behind it (`bench/ANALYSIS.md`).
#[test]
fn the_writer_keeps_the_process_s_priority_and_the_runtime_yields() {
    let env = Env::sqlite();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config(&env.source("财经", "rss", "/rss.xml"));
    let log = env.dir.path().join("daemon.log");
    let mut d = Daemon::start(&env, None);
    wait_for("READY=1 and a poll", LIMIT, &log, || {
        d.count("READY=1") == 1 && env.try_count("SELECT COUNT(*) FROM posts").unwrap_or(0) > 0
    });
    let threads = thread_niceness(d.child.id());
    let nice_of = |name: &str| -> Vec<i32> {
        threads
            .iter()
            .filter(|(n, _)| n.starts_with(name))
            .map(|&(_, v)| v)
            .collect()
    };
    let (main, base) = threads.first().cloned().expect("the main thread");
    assert_eq!(main, "newscrawl", "{threads:?}");
    assert_eq!(nice_of("newscrawl-db"), [base], "{threads:?}");
    assert_eq!(nice_of("newscrawl-ckpt"), [base], "{threads:?}");
    let runtime = nice_of("tokio");
    // A worker at least (one a core), and the poll's parsing thread, which
    // a worker spawned (and would have started at the worker's value).
    assert!(runtime.len() >= 2, "{threads:?}");
    assert!(
        runtime.iter().all(|&n| n == (base + 10).min(19)),
        "{threads:?}"
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(LIMIT), Some(0));
}
