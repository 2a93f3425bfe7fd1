#!/usr/bin/env bash
# What grouping posts into stories costs a crawl: the same newscrawl with
# `[stories] group = false` (nothing compared, no fingerprints, no
# signatures; each post a story of its own) and with grouping (the
# default), on the benchmark's realistic corpus (1,000 feeds × 50 items,
# served on 127.0.0.1), runs alternating so that the machine's drift hits
# both alike. With BASE (a build from before stories, e.g. `git worktree
# add /tmp/base ccbb5b8 && cd /tmp/base && cargo build --release`), that
# build runs too. Phases: the cold crawl of the feeds (`crawl --once
# --defer-index`) and the cold crawl with every article page (`--follow
# link`). Prints every run and the medians (wall seconds, peak RSS MB);
# then the scale test (`newscrawl-bench stories-scale`: a million posts).
# Tables in bench/STORIES.md.
#
#   bench/stories.sh
#   RUNS=3 FEEDS=200 SCALE_POSTS=100000 BASE=/tmp/base/target/release/newscrawl bench/stories.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BASE:-}
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
for phase in feeds articles; do
    { cat "$work/$phase.toml"; printf '\n[stories]\ngroup = false\n'; } > "$work/$phase-off.toml"
done

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
        [ -z "$BASE" ] || run "$BASE" "$work/$phase.toml" "$work/$phase.db" "$phase-base"
        run "$NC" "$work/$phase-off.toml" "$work/$phase.db" "$phase-off"
        run "$NC" "$work/$phase.toml" "$work/$phase.db" "$phase-stories"
    done
done
stories=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('select count(*) from posts').fetchone()[0], 'posts,', c.execute('select count(*) from stories').fetchone()[0], 'stories')" "$work/articles.db")

{
echo "# Stories: what grouping costs (bench/stories.sh)"
echo
echo "Written by \`bench/stories.sh\` (\`bench/run.sh\` writes RESULTS.md anew and leaves this file alone). The machine: RESULTS.md."
echo
echo "## A crawl, with and without grouping"
echo
echo "Realistic corpus, $FEEDS feeds × $ITEMS items, cold, medians of $RUNS runs, alternating: the same build with \`[stories] group = false\` (each post a story of its own: no fingerprints, no signatures, no comparisons) and with grouping (the default)${BASE:+, and a build from before stories ($BASE)}; the articles run ends with $stories."
echo
echo "| phase | group = false: wall s | grouping: wall s | more wall | group = false: peak MB | grouping: peak MB | more memory |"
echo "|---|---:|---:|---:|---:|---:|---:|"
# row PHASE FROM LABEL: the grouping build's runs against FROM's.
row() {
    bw=$(awk '{print $1}' "$work/$1-$2" | median); sw=$(awk '{print $1}' "$work/$1-stories" | median)
    bm=$(awk '{print $2}' "$work/$1-$2" | median); sm=$(awk '{print $2}' "$work/$1-stories" | median)
    echo "| $3 | $bw | $sw | $(awk -v a="$bw" -v b="$sw" 'BEGIN {printf "%+.1f%%", (b - a) / a * 100}') | $bm | $sm | $((sm - bm)) MB |"
}
for phase in feeds articles; do
    row "$phase" off "cold ($phase)"
done
if [ -n "$BASE" ]; then
    echo
    echo "Against the build from before stories (its table's first columns are that build's):"
    echo
    echo "| phase | before stories: wall s | grouping: wall s | more wall | before: peak MB | grouping: peak MB | more memory |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for phase in feeds articles; do
        row "$phase" base "cold ($phase)"
    done
fi
echo
labels="feeds-off feeds-stories articles-off articles-stories"
[ -z "$BASE" ] || labels="feeds-base $labels articles-base"
echo "Every run (wall s, peak MB): $(for f in $labels; do printf '%s: %s; ' "$f" "$(tr '\n' ',' < "$work/$f" | sed 's/,$//; s/,/, /g')"; done)"
echo
echo "## Lookups as the database grows (newscrawl-bench stories-scale)"
echo
"$NB" stories-scale --posts "$SCALE_POSTS" --block $((SCALE_POSTS / 10)) --database "$work/scale.db" \
    --vocab-zh "$cache/jieba-dict.txt" --vocab-en "$en_words"
} | tee bench/STORIES.md
