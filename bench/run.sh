#!/usr/bin/env bash
# newscrawl's benchmark, side by side with newsboat and with the floor
# (downloading every feed with parallel curl, then tokenizing it with
# quick-xml). Generates a seeded corpus, serves it on 127.0.0.1, runs each
# phase RUNS times under /usr/bin/time, and prints a table of medians per
# corpus, also written to bench/RESULTS.md with the machine's description.
# Two corpora (see bench/src/main.rs): `html`, shaped like real news feeds
# (HTML bodies, teasers to 5 KB, real word frequencies: jieba's Chinese
# dictionary from PyPI, Debian's wamerican word list, both fetched here
# once into bench/.cache), and `plain`, the first benchmark's plain text.
#
#   bench/run.sh                       # both corpora, 1,000 feeds × 50 items, 3 runs, 5 min idle
#   CORPORA=html FEEDS=100 RUNS=1 IDLE_SECS=30 bench/run.sh    # a quick look
#   bench/run.sh extract               # only the article extractor's scores, printed
#
# The article extractor is scored on the pages of bench/extract (and on
# bench/extract/holdout, pages written after its rules were settled); see
# bench/src/extract.rs. Its tables end RESULTS.md.
#
# newsboat is installed with apt where apt works; elsewhere its rows say so.
set -euo pipefail
cd "$(dirname "$0")/.."
FEEDS=${FEEDS:-1000}
ITEMS=${ITEMS:-50}
RUNS=${RUNS:-3}
IDLE_SECS=${IDLE_SECS:-300}
PORT=${PORT:-18400}
SEED=${SEED:-42}
CORPORA=${CORPORA:-html plain}

work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

[ -x /usr/bin/time ] || { apt-get install -y time >/dev/null 2>&1 || { echo "needs /usr/bin/time (Debian package 'time')"; exit 1; }; }
if ! command -v newsboat >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y newsboat >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y newsboat >/dev/null 2>&1; }) || true
fi

# The realistic corpus's vocabularies.
cache="bench/.cache"
mkdir -p "$cache"
if [ ! -s "$cache/jieba-dict.txt" ]; then
    python3 -m pip download -q --no-deps --no-binary :all: -d "$work" jieba==0.42.1
    tar xzf "$work/jieba-0.42.1.tar.gz" -C "$work" jieba-0.42.1/jieba/dict.txt
    cp "$work/jieba-0.42.1/jieba/dict.txt" "$cache/jieba-dict.txt"
fi
en_words=/usr/share/dict/american-english
[ -s "$en_words" ] || apt-get install -y wamerican >/dev/null 2>&1 || { echo "needs $en_words (Debian package 'wamerican')"; exit 1; }

cargo build --release --locked -p newscrawl -p newscrawl-bench 2>&1 | tail -1
NC="$(pwd)/target/release/newscrawl"
NB="$(pwd)/target/release/newscrawl-bench"

# The extractor's scores: per language and overall on the set, the pages
# whose recall fell against the scores before the pruning rules
# (bench/extract/baseline.tsv), and the held-out pages.
extract_tables() {
    echo "## Article extraction: bench/extract"
    echo
    echo "Token-shingle F1 of the body against hand-annotated truth, headline and date as the page shows them, extraction time per page (median of 20 runs each); no selectors, so readability and the pruning rules do the work."
    echo
    echo "The set ($(grep -c '^\[\[page\]\]' bench/extract/pages.toml) pages):"
    echo
    "$NB" extract-eval --pages bench/extract --repeat 20 --against bench/extract/baseline.tsv | sed -n '/^| set /,$p'
    echo
    echo "Held out ($(grep -c '^\[\[page\]\]' bench/extract/holdout/pages.toml) pages written after the rules were settled):"
    echo
    "$NB" extract-eval --pages bench/extract/holdout --repeat 20 | sed -n '/^| set /,$p'
}
if [ "${1:-}" = extract ]; then
    extract_tables
    exit 0
fi

rows=()
declare -A dbsize pages indexed baseline
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_corpus() {
corpus="$1"
echo "=== corpus: $corpus" >&2
# Another server on the port would answer in this one's place.
if curl -fs -o /dev/null "http://127.0.0.1:$PORT/feed/0.xml"; then
    echo "port $PORT is taken: stop what listens there or set PORT" >&2
    exit 1
fi
"$NB" serve --port "$PORT" --feeds "$FEEDS" --items "$ITEMS" --seed "$SEED" \
    --corpus "$corpus" --vocab-zh "$cache/jieba-dict.txt" --vocab-en "$en_words" 2>"$work/server.log" &
server=$!
pids+=($server)
base="http://127.0.0.1:$PORT"
for _ in $(seq 1 600); do
    curl -fs -o /dev/null "$base/feed/0.xml" && break
    sleep 0.1
done
"$NB" urls --port "$PORT" --feeds "$FEEDS" > "$work/urls"
"$NB" config --port "$PORT" --feeds "$FEEDS" --database "$work/feeds.db" > "$work/feeds.toml"
"$NB" config --port "$PORT" --feeds "$FEEDS" --database "$work/searchable.db" > "$work/searchable.toml"
"$NB" config --port "$PORT" --feeds "$FEEDS" --database "$work/articles.db" --follow link > "$work/articles.toml"
"$NB" config --port "$PORT" --feeds "$FEEDS" --database "$work/feeds.db" --schedule "*/10 * * * *" > "$work/daemon.toml"


# measure TOOL PHASE PREP ITEMS-CMD -- COMMAND...: RUNS runs, medians of wall, CPU, peak RSS.
measure() {
    local tool="$1" phase="$2" prep="$3" count="$4"
    shift 5
    : > "$work/walls"; : > "$work/cpus"; : > "$work/rss"
    for _ in $(seq 1 "$RUNS"); do
        eval "$prep"
        /usr/bin/time -f "%e %U %S %M" -o "$work/t" "$@" >/dev/null 2>>"$work/errors" || true
        read -r e u s m < "$work/t"
        echo "$e" >> "$work/walls"
        echo "$u $s" | awk '{print $1 + $2}' >> "$work/cpus"
        echo "$m" >> "$work/rss"
    done
    local wall cpu rss items
    wall=$(median < "$work/walls"); cpu=$(median < "$work/cpus")
    rss=$(median < "$work/rss" | awk '{printf "%.1f", $1 / 1024}')
    items=$(eval "$count" 2>/dev/null || echo "-")
    rows+=("$corpus|$tool|$phase|$wall|$cpu|$rss|$items")
    echo "  $tool $phase: ${wall}s wall, ${cpu}s CPU, ${rss} MB, $items items" >&2
}

posts() { "$NC" -q --config "$1" export jsonl | wc -l; }

echo "== the floor: download every feed (curl, 16 in parallel), then tokenize (quick-xml)" >&2
mkdir -p "$work/feeds"
measure floor download "rm -rf '$work/feeds'; mkdir -p '$work/feeds'" "ls '$work/feeds' | wc -l" -- \
    bash -c "cd '$work/feeds' && xargs -P 16 -n 50 curl -s --remote-name-all < '$work/urls'"
measure floor tokenize "true" "echo -" -- "$NB" tokenize "$work/feeds"

echo "== newscrawl" >&2
# Cold: returns once the posts are durable; the search index is built
# after, measured on its own ("index all"), and the crawl that indexes
# everything before it returns is the "searchable" row.
measure newscrawl "cold (feeds)" "rm -f '$work'/feeds.db*" "posts '$work/feeds.toml'" -- \
    "$NC" -q --config "$work/feeds.toml" crawl --once --defer-index
cp "$work/feeds.db" "$work/pending.db"
indexed[$corpus]=$(posts "$work/feeds.toml")
measure newscrawl "index all (posts index)" "cp '$work/pending.db' '$work/feeds.db'; rm -f '$work'/feeds.db-*" "posts '$work/feeds.toml'" -- \
    "$NC" -q --config "$work/feeds.toml" posts index
baseline[$corpus]=$("$NB" index-baseline "$work/pending.db")
echo "  baseline: ${baseline[$corpus]}" >&2
rm -f "$work/pending.db"
# The database against the text it stores (every text column of posts), search index included.
dbsize[$corpus]=$(python3 - "$work/feeds.db" <<'PY'
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
cols = [r[1] for r in c.execute("PRAGMA table_info(posts)") if r[2] == "TEXT"]
text = c.execute("SELECT SUM(" + " + ".join(f"COALESCE(LENGTH(CAST({x} AS BLOB)), 0)" for x in cols) + ") FROM posts").fetchone()[0] or 1
size = os.path.getsize(sys.argv[1])
print(f"{size / 1e6:.0f} MB for {text / 1e6:.0f} MB of stored text ({size / text:.2f}×)")
PY
)
measure newscrawl "warm (all 304)" "true" "posts '$work/feeds.toml'" -- \
    "$NC" -q --config "$work/feeds.toml" crawl --once
measure newscrawl "cold (feeds), searchable" "rm -f '$work'/searchable.db*" "posts '$work/searchable.toml'" -- \
    "$NC" -q --config "$work/searchable.toml" crawl --once
measure newscrawl "cold + articles" "rm -f '$work'/articles.db*" "posts '$work/articles.toml'" -- \
    "$NC" -q --config "$work/articles.toml" crawl --once --defer-index
# Share pages fetched by the last run (a repeated infoCode is fetched once).
pages[$corpus]=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT COUNT(*) FROM fetches WHERE url LIKE '%/html_News/%'\").fetchone()[0])" "$work/articles.db")

if [ "$corpus" = "${CORPORA%% *}" ]; then
echo "== newscrawl daemon, idle for ${IDLE_SECS}s" >&2
"$NC" -q --config "$work/daemon.toml" crawl 2>>"$work/errors" &
dpid=$!
pids+=($dpid)
sleep 10 # the start-up round (all 304 now) is not part of "idle"
t0=$(awk '{print $14 + $15}' "/proc/$dpid/stat")
maxrss=0
for _ in $(seq 1 "$IDLE_SECS"); do
    r=$(awk '/VmRSS/ {print $2}' "/proc/$dpid/status")
    [ "$r" -gt "$maxrss" ] && maxrss=$r
    sleep 1
done
t1=$(awk '{print $14 + $15}' "/proc/$dpid/stat")
kill -TERM "$dpid"; wait "$dpid" || true
hz=$(getconf CLK_TCK)
idle_cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz}')
rows+=("$corpus|newscrawl|daemon idle ${IDLE_SECS}s|$IDLE_SECS|$idle_cpu|$(awk -v m="$maxrss" 'BEGIN {printf "%.1f", m / 1024}')|$FEEDS sources")
echo "  daemon idle: ${idle_cpu}s CPU over ${IDLE_SECS}s, max RSS $((maxrss / 1024)) MB" >&2
fi

if command -v newsboat >/dev/null 2>&1; then
    echo "== newsboat $(newsboat -v 2>/dev/null | head -1 | awk '{print $2}')" >&2
    printf 'reload-threads 8\nshow-read-feeds yes\n' > "$work/newsboat.conf"
    nb_items() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from rss_item').fetchone()[0])" "$work/newsboat.db"; }
    measure newsboat "cold (feeds)" "rm -f '$work/newsboat.db'*" "nb_items" -- \
        newsboat -u "$work/urls" -c "$work/newsboat.db" -C "$work/newsboat.conf" -x reload
    measure newsboat "warm (all 304)" "true" "nb_items" -- \
        newsboat -u "$work/urls" -c "$work/newsboat.db" -C "$work/newsboat.conf" -x reload
else
    rows+=("$corpus|newsboat|not installed (apt unavailable)|-|-|-|-")
fi

kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
}

for c in $CORPORA; do
    run_corpus "$c"
done

# The tables: ratios against newsboat's and the floor's wall time for the same kind of phase.
wall_of() { printf '%s\n' "${rows[@]}" | awk -F'|' -v c="$1" -v t="$2" -v p="$3" '$1 == c && $2 == t && $3 == p {print $4}'; }
cpu_model=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
{
    echo "# Benchmark results"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores ($cpu_model), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr)."
    echo "Corpora: $FEEDS feeds × $ITEMS items, seed $SEED, served on 127.0.0.1; medians of $RUNS runs."
    for corpus in $CORPORA; do
        floor_total=$(awk -v a="$(wall_of "$corpus" floor download)" -v b="$(wall_of "$corpus" floor tokenize)" 'BEGIN {print a + b}')
        echo
        case "$corpus" in
            html) echo "## Realistic corpus (html): HTML bodies, teasers to 5 KB, real word frequencies" ;;
            plain) echo "## Plain corpus: the first benchmark's plain-text bodies, 47 phrases" ;;
        esac
        echo
        echo "Floor: parallel curl download plus quick-xml tokenize = ${floor_total}s."
        echo
        echo "| tool | phase | wall s | CPU s | peak RSS MB | items stored | ratio to newsboat | ratio to floor |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|"
        for r in "${rows[@]}"; do
            IFS='|' read -r c tool phase wall cpu rss items <<< "$r"
            [ "$c" = "$corpus" ] || continue
            nb="-"; fl="-"
            case "$phase" in
                "cold (feeds)"|"warm (all 304)"|"cold (feeds), searchable")
                    ref=$(wall_of "$corpus" newsboat "${phase%, searchable}")
                    [ -n "$ref" ] && [ "$tool" != newsboat ] && nb=$(awk -v a="$wall" -v b="$ref" 'BEGIN {printf "%.1f× faster", b / a}')
                    [ "$phase" = "cold (feeds)" ] && fl=$(awk -v a="$wall" -v b="$floor_total" 'BEGIN {printf "%.2f×", a / b}')
                    ;;
            esac
            echo "| $tool | $phase | $wall | $cpu | $rss | $items | $nb | $fl |"
        done
        echo
        idx=$(wall_of "$corpus" newscrawl "index all (posts index)")
        echo "\"cold (feeds)\" returns once the posts are durable (\`crawl --once --defer-index\`); \"searchable\" indexes everything before it returns (\`crawl --once\`)."
        echo "Search index (\"index all\"): ${indexed[$corpus]} posts in ${idx} s, $(awk -v n="${indexed[$corpus]}" -v w="$idx" 'BEGIN {printf "%.0f", n / w}') posts/s; the same posts in the trigram index newscrawl built up to schema 6 (\`newscrawl-bench index-baseline\`): ${baseline[$corpus]}."
        echo "Database after the cold crawl, search index included: ${dbsize[$corpus]}."
        art=$(wall_of "$corpus" newscrawl "cold + articles")
        echo "Share pages per second (cold + articles): $(awk -v n="${pages[$corpus]}" -v w="$art" 'BEGIN {printf "%.0f", n / w}') (${pages[$corpus]} pages fetched for $((FEEDS * ITEMS)) items: a repeated infoCode is fetched once)."
    done
    echo
    extract_tables
} | tee bench/RESULTS.md
