#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for the coordinator's Postgres tests and for trying several
# coordinators on one machine. Not for production: it trusts every local connection and does not fsync.
#
#   scripts/postgres.sh start   # prints `export ZKR_TEST_POSTGRES_URL=postgres://...`; eval it
#   scripts/postgres.sh stop
#
# The server lives in $ZKR_PG_DIR (default /tmp/zkr-postgres-PORT: outside the checkout, whose folders the server's
# user may not be allowed to enter) and listens on 127.0.0.1:$ZKR_PG_PORT (default 55432).
# It needs Debian's postgresql package (scripts/test.sh installs it). Run as root, the server runs as the package's
# `postgres` user, since PostgreSQL refuses to run as root.
set -euo pipefail

port="${ZKR_PG_PORT:-55432}"
dir="${ZKR_PG_DIR:-${TMPDIR:-/tmp}/zkr-postgres-$port}"

bindir=""
if command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then
  bindir=$(pg_config --bindir)
else
  for candidate in /usr/lib/postgresql/*/bin; do
    [[ -x $candidate/initdb ]] && bindir=$candidate
  done
fi
if [[ -z $bindir ]]; then
  echo "postgres.sh: no PostgreSQL server found (apt-get install postgresql)" >&2
  exit 1
fi

as_owner() {
  if [[ $(id -u) == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "${1:-}" in
start)
  mkdir -p "$dir"
  [[ $(id -u) == 0 ]] && chown postgres: "$dir"
  if [[ ! -f $dir/PG_VERSION ]]; then
    as_owner "$bindir/initdb" --pgdata "$dir" --username postgres --auth trust --encoding UTF8 --no-instructions \
      >"$dir.initdb.log" 2>&1 || {
      cat "$dir.initdb.log" >&2
      exit 1
    }
  fi
  if ! as_owner "$bindir/pg_ctl" --pgdata "$dir" status >/dev/null 2>&1; then
    # Tests create a database each and coordinators keep a pool each: room for many connections.
    as_owner "$bindir/pg_ctl" --pgdata "$dir" --log "$dir/server.log" --wait --timeout 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=400 \
          -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null || {
      cat "$dir/server.log" >&2
      exit 1
    }
  fi
  echo "export ZKR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
  ;;
stop)
  if [[ -f $dir/PG_VERSION ]]; then
    as_owner "$bindir/pg_ctl" --pgdata "$dir" --mode fast stop >/dev/null 2>&1 || true
  fi
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
