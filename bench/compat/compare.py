#!/usr/bin/env python3
"""Entry by entry: how many of the entries that feedparser finds in a corpus
of feed documents newscrawl stores.

Each document is served on 127.0.0.1 as its own source, one `crawl --once`
reads them all, and each source's deliveries (`post_sources`, so that one
document's items are counted even where another document holds the same
article) are compared with feedparser's `entries` for the same bytes.

    compare.py NEWSCRAWL_BINARY DIR... [--show N]

Prints the totals, the share found, and the documents where newscrawl found
fewer entries (the first N, default 20). Needs `feedparser` importable (see
bench/compat/run.sh, which makes a venv with the version the README names).
"""

import argparse
import functools
import http.server
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading

import feedparser

EXTENSIONS = (".xml", ".rdf", ".atom", ".rss", ".json")


def documents(dirs):
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in sorted(files):
                if f.endswith(EXTENSIONS):
                    yield os.path.join(root, f)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def guess_type(self, path):
        return "application/json" if path.endswith(".json") else "application/xml"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--show", type=int, default=20)
    args = ap.parse_args()

    docs = list(documents(args.dirs))
    with tempfile.TemporaryDirectory() as tmp:
        serve = os.path.join(tmp, "www")
        os.mkdir(serve)
        expected = {}
        for i, path in enumerate(docs):
            with open(path, "rb") as f:
                body = f.read()
            ext = os.path.splitext(path)[1]
            with open(os.path.join(serve, f"d{i}{ext}"), "wb") as f:
                f.write(body)
            expected[f"d{i}"] = (path, len(feedparser.parse(body).entries), ext)

        handler = functools.partial(Quiet, directory=serve)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"

        config = os.path.join(tmp, "newscrawl.toml")
        with open(config, "w") as f:
            f.write('database = "c.db"\n[crawler]\nconcurrency = 16\nper_host = 16\n')
            for slug, (_, _, ext) in expected.items():
                f.write(f'[[sources]]\nname = "{slug}"\nslug = "{slug}"\nurl = "{base}/{slug}{ext}"\n')
        run = subprocess.run(
            [args.binary, "--config", config, "-q", "crawl", "--once"],
            capture_output=True,
            text=True,
        )
        server.shutdown()
        if run.returncode not in (0, 1):
            sys.exit(f"newscrawl exited {run.returncode}: {run.stderr[-2000:]}")

        db = sqlite3.connect(os.path.join(tmp, "c.db"))
        found = dict(db.execute("SELECT source, COUNT(*) FROM post_sources GROUP BY source"))
        errors = dict(
            db.execute("SELECT slug, last_error FROM sources WHERE last_error IS NOT NULL")
        )

    want = sum(n for _, n, _ in expected.values())
    got = sum(min(found.get(s, 0), n) for s, (_, n, _) in expected.items())
    extra = sum(max(found.get(s, 0) - n, 0) for s, (_, n, _) in expected.items())
    silent = [
        s for s, (_, n, _) in expected.items() if n > 0 and found.get(s, 0) == 0 and s not in errors
    ]
    short = [
        (p, n, found.get(s, 0), errors.get(s))
        for s, (p, n, _) in expected.items()
        if found.get(s, 0) < n
    ]
    print(f"documents: {len(docs)}")
    print(f"feedparser entries: {want}")
    print(f"newscrawl found of those: {got} ({100.0 * got / max(want, 1):.2f}%)")
    print(f"newscrawl entries beyond feedparser's: {extra}")
    print(f"documents with entries that newscrawl read as 0 items without an error: {len(silent)}")
    print(f"documents where newscrawl found fewer: {len(short)}")
    for p, n, g, e in short[: args.show]:
        print(f"  {p}: feedparser {n}, newscrawl {g}" + (f" ({e})" if e else ""))


if __name__ == "__main__":
    main()
