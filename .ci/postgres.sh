# Sourced by .ci/test and bench/scale.sh: `pg_start DIR` starts a throwaway
# PostgreSQL cluster in DIR (created), listening on a free loopback port
# only, as an unprivileged user (`postgres` when run as root: PostgreSQL
# refuses root), and sets PG_URL (an admin URL, user `newscrawl`, trust
# authentication on loopback), PG_BIN and PG_PID (the postmaster), and,
# when openssl is there, PG_CA: the certificate of a CA made for the
# cluster, which signed the certificate it offers TLS with (for
# 127.0.0.1);
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
    local tls=""
    PG_CA=""
    if command -v openssl >/dev/null 2>&1; then
        local d="$PG_DIR/data"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=newscrawl test CA" \
            -keyout "$PG_DIR/ca.key" -out "$PG_DIR/ca.crt" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
            -keyout "$d/server.key" -out "$PG_DIR/server.csr" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$PG_DIR/ext.cnf"
        openssl x509 -req -in "$PG_DIR/server.csr" -CA "$PG_DIR/ca.crt" -CAkey "$PG_DIR/ca.key" \
            -CAcreateserial -days 2 -extfile "$PG_DIR/ext.cnf" -out "$d/server.crt" 2>/dev/null
        chmod 600 "$d/server.key"
        [ ${#PG_AS[@]} -gt 0 ] && chown postgres "$d/server.key" "$d/server.crt"
        chmod 644 "$PG_DIR/ca.crt"
        PG_CA="$PG_DIR/ca.crt"
        tls="-c ssl=on"
    fi
    # fsync off: a throwaway cluster; max_connections for tests that run at once.
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c max_connections=200 $tls" >/dev/null
    PG_URL="postgres://newscrawl@127.0.0.1:$port/postgres"
    PG_PID="$(head -1 "$PG_DIR/data/postmaster.pid")"
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" stop -m immediate >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
