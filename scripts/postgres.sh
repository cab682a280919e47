#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (Debian's package), on loopback:
#   scripts/postgres.sh start DIR   creates a cluster in DIR, starts it, prints its URL
#   scripts/postgres.sh stop DIR    stops it (DIR can then be removed)
#   scripts/postgres.sh again DIR   starts a stopped one again, on the same port
#   scripts/postgres.sh start-tls DIR   as start, but it takes only TLS connections, with
#                                   a certificate for 127.0.0.1 from a CA of its own
#                                   (DIR/ca.pem); the URL printed verifies it
# The server runs as an unprivileged user (postgres when started by root), trusts
# local connections of the user mimamori, compares text bytewise (locale C) and
# skips fsync: it holds test data only, and a test kills mimamori, never it.
set -euo pipefail
usage="usage: scripts/postgres.sh start|start-tls|stop|again DIR"
cmd=${1:?$usage}
dir=${2:?$usage}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $bin/pg_ctl ]] || { echo "scripts/postgres.sh: PostgreSQL is not installed (apt install postgresql)" >&2; exit 1; }
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
  start|start-tls)
    mkdir -p "$dir"
    [[ $(id -u) -ne 0 ]] || chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U mimamori --auth=trust --locale=C -E UTF8 >"$dir/initdb.log"
    port=$(python3 "$(dirname "$0")/free_ports.py")
    echo "$port" >"$dir/port"
    query=
    if [[ $cmd == start-tls ]]; then
      tls=$dir/data
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$tls/server.key" -out "$dir/server.csr" 2>/dev/null
      printf 'subjectAltName=IP:127.0.0.1\n' >"$dir/san.ext"
      openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/san.ext" -out "$tls/server.crt" 2>/dev/null
      chmod 600 "$tls/server.key"
      [[ $(id -u) -ne 0 ]] || chown postgres "$tls/server.key" "$tls/server.crt"
      # TLS only: a connection without it is refused.
      printf 'hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n' \
        | as_owner tee "$tls/pg_hba.conf" >/dev/null
      printf "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n" \
        | as_owner tee -a "$tls/postgresql.conf" >/dev/null
      query="?sslmode=verify-full&sslrootcert=$dir/ca.pem"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-h 127.0.0.1 -p $port -k $dir -F -c max_connections=400" start >/dev/null
    echo "postgres://mimamori@127.0.0.1:$port/postgres$query"
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
