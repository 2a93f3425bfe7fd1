#!/usr/bin/env bash
# Entry by entry against feedparser: downloads feedparser's source release
# from PyPI (its test suite is a corpus of ~2,200 real-world-shaped feed
# documents), installs the same version into a venv, builds newscrawl, and
# runs compare.py over every document, each served on 127.0.0.1.
#
#   bench/compat/run.sh                  # feedparser's whole test corpus
#   bench/compat/run.sh DIR...           # any other directories of feeds
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=${FEEDPARSER_VERSION:-6.0.14}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "feedparser==$VERSION"
if [ "$#" -eq 0 ]; then
    "$work/venv/bin/pip" download -q --no-deps --no-binary :all: -d "$work" "feedparser==$VERSION"
    tar xzf "$work/feedparser-$VERSION.tar.gz" -C "$work"
    set -- "$work/feedparser-$VERSION/tests"
fi
cargo build --release --locked -q
"$work/venv/bin/python" bench/compat/compare.py target/release/newscrawl "$@"
