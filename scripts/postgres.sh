#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (Debian's package), on loopback:
#   scripts/postgres.sh start DIR   creates a cluster in DIR, starts it, prints its URL
#   scripts/postgres.sh stop DIR    stops it (DIR can then be removed)
#   scripts/postgres.sh again DIR   starts a stopped one again, on the same port
# The server runs as an unprivileged user (postgres when started by root), trusts
# local connections of the user mimamori, compares text bytewise (locale C) and
# skips fsync: it holds test data only, and a test kills mimamori, never it.
set -euo pipefail
usage="usage: scripts/postgres.sh start|stop|again DIR"
cmd=${1:?$usage}
dir=${2:?$usage}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $bin/pg_ctl ]] || { echo "scripts/postgres.sh: PostgreSQL is not installed (apt install postgresql)" >&2; exit 1; }
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
  start)
    mkdir -p "$dir"
    [[ $(id -u) -ne 0 ]] || chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U mimamori --auth=trust --locale=C -E UTF8 >"$dir/initdb.log"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$port" >"$dir/port"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-h 127.0.0.1 -p $port -k $dir -F -c max_connections=400" start >/dev/null
    echo "postgres://mimamori@127.0.0.1:$port/postgres"
    ;;
  again)
    port=$(cat "$dir/port")
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-h 127.0.0.1 -p $port -k $dir -F -c max_connections=400" start >/dev/null
    ;;
  stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
