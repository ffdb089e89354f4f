#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server on a local port, then stop it.
#   scripts/with-postgres.sh make test
# Installs Debian's postgresql if no server binaries are found; exports
# PURPORT_TEST_POSTGRES_URL for the archive tests. Runs as root (CI) or not.
set -euo pipefail

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

PGBIN=$(find_bin)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
  echo "with-postgres: installing PostgreSQL from Debian packages" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(find_bin)
fi

PORT=${PURPORT_TEST_PG_PORT:-54329}
PGDATA=$(mktemp -d "${TMPDIR:-/tmp}/purport-pg.XXXXXX")
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$PGDATA"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

stop() {
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDATA"
}
trap stop EXIT

as_pg "$PGBIN/initdb" -D "$PGDATA" -A trust -U purport --no-sync >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
  -o "-p $PORT -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
export PURPORT_TEST_POSTGRES_URL="postgresql://purport@127.0.0.1:$PORT/postgres"
echo "with-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2
"$@"
