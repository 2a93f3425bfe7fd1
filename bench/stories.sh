#!/usr/bin/env bash
# What grouping posts into stories costs a crawl: newscrawl against a build
# without stories (BASE, e.g. the commit before them, built with
# `git worktree add /tmp/base ccbb5b8 && cd /tmp/base && cargo build --release`),
# on the benchmark's realistic corpus (1,000 feeds × 50 items, served on
# 127.0.0.1), runs alternating so that the machine's drift hits both alike.
# Phases: the cold crawl of the feeds (`crawl --once --defer-index`) and the
# cold crawl with every article page (`--follow link`). Prints every run
# and the medians (wall seconds, peak RSS MB); then the scale test
# (`newscrawl-bench stories-scale`: a million posts). Tables in bench/STORIES.md.
#
#   BASE=/tmp/base/target/release/newscrawl bench/stories.sh
#   RUNS=3 FEEDS=200 SCALE_POSTS=100000 BASE=… bench/stories.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BASE:?set BASE to a newscrawl binary built without stories}"
FEEDS=${FEEDS:-1000}
ITEMS=${ITEMS:-50}
RUNS=${RUNS:-5}
PORT=${PORT:-18401}
SCALE_POSTS=${SCALE_POSTS:-1000000}
cache="bench/.cache"
en_words=/usr/share/dict/american-english
[ -s "$cache/jieba-dict.txt" ] || { echo "run bench/run.sh once first (it fetches $cache/jieba-dict.txt)"; exit 1; }

cargo build --release --locked -p newscrawl -p newscrawl-bench 2>&1 | tail -1
NC="$(pwd)/target/release/newscrawl"
NB="$(pwd)/target/release/newscrawl-bench"
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

"$NB" serve --port "$PORT" --feeds "$FEEDS" --items "$ITEMS" --seed 42 --corpus html \
    --vocab-zh "$cache/jieba-dict.txt" --vocab-en "$en_words" 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 1 600); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/feed/0.xml" && break
    sleep 0.1
done
"$NB" config --port "$PORT" --feeds "$FEEDS" --database "$work/feeds.db" > "$work/feeds.toml"
"$NB" config --port "$PORT" --feeds "$FEEDS" --database "$work/articles.db" --follow link > "$work/articles.toml"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# run BIN CONFIG DB LABEL: one cold run; appends "wall rss" to $work/LABEL.
run() {
    rm -f "$3"*
    /usr/bin/time -f "%e %M" -o "$work/t" "$1" -q --config "$2" crawl --once --defer-index >/dev/null 2>>"$work/errors" || true
    read -r e m < "$work/t"
    echo "$e $((m / 1024))" >> "$work/$4"
    echo "  $4: ${e}s, $((m / 1024)) MB" >&2
}
for phase in feeds articles; do
    for _ in $(seq 1 "$RUNS"); do
        run "$BASE" "$work/$phase.toml" "$work/$phase.db" "$phase-base"
        run "$NC" "$work/$phase.toml" "$work/$phase.db" "$phase-stories"
    done
done
stories=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('select count(*) from posts').fetchone()[0], 'posts,', c.execute('select count(*) from stories').fetchone()[0], 'stories')" "$work/articles.db")

{
echo "# Stories: what grouping costs (bench/stories.sh)"
echo
echo "Written by \`bench/stories.sh\` (\`bench/run.sh\` writes RESULTS.md anew and leaves this file alone). The machine: RESULTS.md."
echo
echo "## A crawl, with and without stories"
echo
echo "Realistic corpus, $FEEDS feeds × $ITEMS items, cold, medians of $RUNS runs alternating with a build without stories ($BASE); the articles run ends with $stories."
echo
echo "| phase | without stories: wall s | with: wall s | more wall | without: peak MB | with: peak MB | more memory |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for phase in feeds articles; do
    bw=$(awk '{print $1}' "$work/$phase-base" | median); sw=$(awk '{print $1}' "$work/$phase-stories" | median)
    bm=$(awk '{print $2}' "$work/$phase-base" | median); sm=$(awk '{print $2}' "$work/$phase-stories" | median)
    echo "| cold ($phase) | $bw | $sw | $(awk -v a="$bw" -v b="$sw" 'BEGIN {printf "%+.1f%%", (b - a) / a * 100}') | $bm | $sm | $((sm - bm)) MB |"
done
echo
echo "Every run (wall s, peak MB): $(for f in feeds-base feeds-stories articles-base articles-stories; do printf '%s: %s; ' "$f" "$(tr '\n' ',' < "$work/$f" | sed 's/,$//; s/,/, /g')"; done)"
echo
echo "## Lookups as the database grows (newscrawl-bench stories-scale)"
echo
"$NB" stories-scale --posts "$SCALE_POSTS" --block $((SCALE_POSTS / 10)) --database "$work/scale.db" \
    --vocab-zh "$cache/jieba-dict.txt" --vocab-en "$en_words"
} | tee bench/STORIES.md
