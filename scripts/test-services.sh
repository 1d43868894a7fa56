#!/usr/bin/env bash
# PostgreSQL and Redis for the cluster tests and benchmarks, from Debian's packages.
#
#   scripts/test-services.sh start    install when missing (root only), then start both
#   scripts/test-services.sh stop     stop both
#   scripts/test-services.sh status   say what runs where
#
# Idempotent: a running service is left as it is. Private instances on loopback
# ports (PostgreSQL 55432, Redis 56379) with their files under $LS_SERVICES_DIR,
# so the machine's own clusters (and port 5432/6379) are never touched. Without
# root (a laptop) nothing is installed or started and the cluster tests skip, unless
# CI=true, where they fail. Trust authentication on 127.0.0.1 only: test use only.
set -euo pipefail

DIR="${LS_SERVICES_DIR:-/var/tmp/levelstream-services}"
PG_PORT="${LS_TEST_PG_PORT:-55432}"
REDIS_PORT="${LS_TEST_REDIS_PORT:-56379}"
PG_DATA="$DIR/pg"

say() { echo "test-services: $*"; }

pg_bin() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$bin" ] && echo "$bin"
}

pg_up() { [ -n "$(pg_bin)" ] && "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }
redis_up() { command -v redis-cli >/dev/null && [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

install_missing() {
    local wanted=()
    [ -n "$(pg_bin)" ] || wanted+=(postgresql)
    command -v redis-server >/dev/null || wanted+=(redis-server)
    [ ${#wanted[@]} -eq 0 ] && return 0
    say "installing ${wanted[*]} (Debian)"
    apt-get update -qq
    # Debian's postinst may try to start the packaged services; ours run on their own ports.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${wanted[@]}" >/dev/null
}

start_pg() {
    if pg_up; then
        say "PostgreSQL already running on 127.0.0.1:$PG_PORT"
        return 0
    fi
    local bin
    bin=$(pg_bin)
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        rm -rf "$PG_DATA"
        install -d -o postgres -g postgres -m 700 "$PG_DATA"
        runuser -u postgres -- "$bin/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 \
            --locale=C.UTF-8 >/dev/null
        cat >>"$PG_DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DATA'
max_connections = 400
shared_buffers = 256MB
logging_collector = off
EOF
    fi
    runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start >/dev/null
    say "PostgreSQL running on 127.0.0.1:$PG_PORT (data in $PG_DATA)"
}

start_redis() {
    if redis_up; then
        say "Redis already running on 127.0.0.1:$REDIS_PORT"
        return 0
    fi
    mkdir -p "$DIR/redis"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save "" \
        --appendonly no --dir "$DIR/redis" --pidfile "$DIR/redis.pid" \
        --logfile "$DIR/redis.log" --maxclients 4000
    for _ in $(seq 1 100); do
        redis_up && break
        sleep 0.1
    done
    redis_up || { say "Redis did not start; see $DIR/redis.log"; exit 1; }
    say "Redis running on 127.0.0.1:$REDIS_PORT"
}

case "${1:-start}" in
start)
    if pg_up && redis_up; then
        say "PostgreSQL (127.0.0.1:$PG_PORT) and Redis (127.0.0.1:$REDIS_PORT) already running"
        exit 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        say "not root (or no apt-get): PostgreSQL and Redis are not started here;"
        say "the cluster tests will skip (CI=true: they fail)"
        exit 0
    fi
    install_missing
    start_pg
    start_redis
    ;;
stop)
    if pg_up; then runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null; fi
    if redis_up; then redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; fi
    say "stopped"
    ;;
status)
    pg_up && say "PostgreSQL up on 127.0.0.1:$PG_PORT" || say "PostgreSQL down"
    redis_up && say "Redis up on 127.0.0.1:$REDIS_PORT" || say "Redis down"
    ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
