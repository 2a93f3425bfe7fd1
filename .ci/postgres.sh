# Sourced by .ci/test and bench/scale.sh: `pg_start DIR` starts a throwaway
# PostgreSQL cluster in DIR (created), listening on a free loopback port
# only, as an unprivileged user (`postgres` when run as root: PostgreSQL
# refuses root), and sets PG_URL (an admin URL, user `newscrawl`, trust
# authentication on loopback), PG_BIN and PG_PID (the postmaster);
# `pg_stop` stops it and deletes DIR. `pg_bin` finds the programs (returns
# 1 when PostgreSQL is not installed).

pg_bin() {
    PG_BIN=""
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && PG_BIN="$dir"
    done
    if [ -z "$PG_BIN" ] && command -v initdb >/dev/null 2>&1; then
        PG_BIN="$(dirname "$(command -v initdb)")"
    fi
    [ -n "$PG_BIN" ]
}

pg_start() {
    PG_DIR="$1"
    pg_bin || return 1
    mkdir -p "$PG_DIR"
    PG_AS=()
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$PG_DIR"
        PG_AS=(runuser -u postgres --)
    fi
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U newscrawl -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log"
    # fsync off: a throwaway cluster; max_connections for tests that run at once.
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c max_connections=200" >/dev/null
    PG_URL="postgres://newscrawl@127.0.0.1:$port/postgres"
    PG_PID="$(head -1 "$PG_DIR/data/postmaster.pid")"
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" stop -m immediate >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
