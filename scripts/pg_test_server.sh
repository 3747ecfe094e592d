#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests: initialises it in a temporary directory, starts
# it on 127.0.0.1 on a free port and prints the URL of an empty database on stdout. The cluster
# trusts every local connection, so it is for tests only.
#
#   scripts/pg_test_server.sh            start; prints postgres://assent@127.0.0.1:PORT/assent
#   scripts/pg_test_server.sh stop DIR   stops the cluster started in DIR and removes DIR
#
# The directory of the cluster is printed on stderr and written to $PG_TEST_DIR_FILE when set.
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user that
# Debian's package creates.
set -euo pipefail

bin="${PG_BIN:-}"
if [ -z "$bin" ]; then
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
fi
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "pg_test_server: PostgreSQL is not installed (apt-get install postgresql)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = "stop" ]; then
  dir="${2:?usage: pg_test_server.sh stop DIR}"
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/assent-pg-XXXXXX")"
chmod 0755 "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
as_owner "$bin/initdb" -D "$dir/data" -U assent --auth=trust --encoding=UTF8 --locale=C \
  --no-sync >"$dir/initdb.log" 2>&1

# A port nobody listens on; a start that loses the race to another process tries the next one.
for _ in $(seq 1 20); do
  port=$((20000 + RANDOM % 40000))
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
  if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null; then
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U assent assent
    echo "pg_test_server: cluster in $dir" >&2
    [ -n "${PG_TEST_DIR_FILE:-}" ] && echo "$dir" >"$PG_TEST_DIR_FILE"
    echo "postgres://assent@127.0.0.1:$port/assent"
    exit 0
  fi
done
echo "pg_test_server: could not start PostgreSQL; see $dir/server.log" >&2
exit 1
