#!/usr/bin/env bash
# Several daemons on one PostgreSQL database (README "Running on
# PostgreSQL"): FEEDS sources on the loopback benchmark server, every one
# scheduled every minute. The server logs each feed request; every full
# minute every feed must be requested exactly once, whatever the number of
# daemons, and after one daemon is killed with SIGKILL the others must go
# on polling every source. Reports, per run: the minutes checked, the
# feeds polled twice or not at all in them, how soon after the minute all
# FEEDS were polled (the schedule's jitter spreads them over 6 s; longer
# means the daemons could not keep up) and so the polls per second, the
# peak RSS of each daemon, and PostgreSQL's CPU time.
#
#   bench/scale.sh                 # 10,000 feeds; 1, 2, 3 daemons; SQLite with one
#   FEEDS=2000 MINUTES=3 RUNS="postgres-3" bench/scale.sh
#
# Needs the release build of newscrawl and newscrawl-bench, PostgreSQL's
# programs (a throwaway cluster is started, as for the tests) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/postgres.sh

FEEDS=${FEEDS:-10000}
ITEMS=${ITEMS:-5}
MINUTES=${MINUTES:-5}
PORT=${PORT:-18181}
NC=$PWD/target/release/newscrawl
BENCH=$PWD/target/release/newscrawl-bench
work=$(mktemp -d "${TMPDIR:-/tmp}/newscrawl-scale.XXXXXX")
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    pkill -f "$work/" 2>/dev/null || true
    pg_stop
    rm -rf "$work"
}
trap cleanup EXIT
pg_start "$(mktemp -d "${TMPDIR:-/tmp}/newscrawl-scale-pg.XXXXXX")"
db="${PG_URL%/postgres}/scale?sslmode=disable"
psql -q "$PG_URL" -c "CREATE DATABASE scale"

start_server() { # $1: request log
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    "$BENCH" serve --port "$PORT" --feeds "$FEEDS" --items "$ITEMS" --seed 42 --corpus plain --log "$1" \
        >"$work/server.log" 2>&1 &
    server=$!
    for _ in $(seq 600); do
        curl -sf -o /dev/null "http://127.0.0.1:$PORT/feed/0.xml" && return
        sleep 0.1
    done
    echo "the benchmark server did not start" >&2
    exit 1
}

config() { # $1: database
    "$BENCH" config --port "$PORT" --feeds "$FEEDS" --database "$1" --schedule "* * * * *"
}

pg_cpu() { # the cluster's CPU seconds so far: the postmaster's, its
    # children's that have ended (counted into it), and the live ones'
    local ticks pid
    ticks=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$PG_PID/stat")
    for pid in $(pgrep -P "$PG_PID"); do
        [ -r "/proc/$pid/stat" ] && ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "scale=2; $ticks / $(getconf CLK_TCK)" | bc
}

# Sleeps until `offset` seconds past the next minute.
until_minute() {
    local now
    now=$(date +%s.%N)
    sleep "$(echo "60 - ($now % 60) + $1" | bc)"
}

# $1: name, $2: daemons, $3: database, $4: minutes, $5: kill one after
# that many minutes (0: none)
run() {
    local name=$1 n=$2 database=$3 minutes=$4 kill_after=$5
    local dir="$work/$name"
    mkdir -p "$dir"
    config "$database" >"$dir/newscrawl.toml"
    start_server "$dir/requests.log"
    # Everything stored first (the cold crawl is another benchmark's): the
    # minutes measured are polls that find their feed unchanged.
    local t0
    t0=$(date +%s.%N)
    "$NC" --config "$dir/newscrawl.toml" -q crawl --once 2>"$dir/warm.log" || true
    echo "$name: warm crawl $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-6) s" >&2
    until_minute 30
    local cpu0 start pids=()
    cpu0=$(pg_cpu)
    start=$(date +%s)
    for i in $(seq "$n"); do
        /usr/bin/time -f "%M" -o "$dir/rss-$i" "$NC" --config "$dir/newscrawl.toml" crawl \
            2>"$dir/daemon-$i.log" &
        pids+=($!)
    done
    local killed_at=0
    if [ "$kill_after" -gt 0 ]; then
        sleep $((kill_after * 60))
        # The real daemon under /usr/bin/time.
        pkill -KILL -P "${pids[0]}" -f "$NC" || true
        killed_at=$(date +%s)
        sleep $(((minutes - kill_after) * 60))
    else
        sleep $((minutes * 60))
    fi
    for p in "${pids[@]}"; do pkill -TERM -P "$p" -f "$NC" 2>/dev/null || true; done
    wait "${pids[@]}" 2>/dev/null || true
    local cpu1 end
    cpu1=$(pg_cpu)
    end=$(date +%s)
    python3 - "$dir/requests.log" "$FEEDS" "$start" "$killed_at" "$name" "$n" \
        "$(echo "$cpu1 - $cpu0" | bc)" "$dir" "$end" <<'PY'
import sys, collections, glob
log, feeds, start, killed, name, n, cpu, d, end = sys.argv[1:]
feeds, start, killed, n, end = int(feeds), int(start), int(killed), int(n), int(end)
per = collections.defaultdict(collections.Counter)
times = collections.defaultdict(list)
for line in open(log):
    try:
        ms, feed, status = line.split()
        int(ms), int(feed)
    except ValueError:
        continue
    minute = int(ms) // 60000
    per[minute][int(feed)] += 1
    times[minute].append(int(ms) / 1000 - minute * 60)
# The full minutes the daemons ran (they start at :30 of a minute).
minutes = list(range(start // 60 + 1, end // 60))
rss = [int(open(f).read().split()[-1]) // 1024 for f in sorted(glob.glob(f"{d}/rss-*")) if open(f).read().strip()]
print(f"### {name}: {n} daemon{'s' if n > 1 else ''}")
print()
print("| minute | feeds polled once | twice or more | not polled | all polled by (s after :00) | polls/s over that span |")
print("|---|---:|---:|---:|---:|---:|")
for m in minutes:
    c = per[m]
    once = sum(1 for f in range(feeds) if c[f] == 1)
    more = sum(1 for f in range(feeds) if c[f] > 1)
    none = sum(1 for f in range(feeds) if c[f] == 0)
    t = sorted(times[m])
    span = t[-1] - t[0] if t else 0
    after = " (after the kill)" if killed and m * 60 >= killed else ""
    last = f"{t[-1]:.1f}" if t else "-"
    print(f"| {m - start // 60}{after} | {once} | {more} | {none} | {last} | {len(t) / max(span, 0.001):.0f} |")
print()
print(f"Peak RSS per daemon: {', '.join(str(r) + ' MB' for r in rss)}; PostgreSQL CPU over the run: {cpu} s.")
print()
PY
}

RUNS=${RUNS:-postgres-1 postgres-2 postgres-3 sqlite-1}
for r in $RUNS; do
    case $r in
        postgres-1) run postgres-1 1 "$db" 3 0 ;;
        postgres-2) run postgres-2 2 "$db" 3 0 ;;
        # MINUTES full minutes, then one daemon killed at :30, then two more.
        postgres-3) run postgres-3 3 "$db" $((MINUTES + 3)) $((MINUTES + 1)) ;;
        sqlite-1) run sqlite-1 1 "$work/sqlite.db" 3 0 ;;
    esac
done
posts_pg=$(psql -Atq "$db" -c "SELECT COUNT(*) FROM posts")
posts_sqlite=$(sqlite3 "$work/sqlite.db" "SELECT COUNT(*) FROM posts" 2>/dev/null || echo "?")
echo "Posts stored: $posts_pg in PostgreSQL (three runs, up to three daemons), $posts_sqlite in SQLite (one run): the same items, each stored once."
