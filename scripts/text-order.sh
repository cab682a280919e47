#!/usr/bin/env bash
# Writes crates/mimamori/text-order.txt: the functions `mimamori serve` runs while it
# starts and records eight cameras, which the linker packs together at the head of
# the executable's code (crates/mimamori/build.rs; docs/BENCHMARKS.md, issue 11,
# sessions 20 and 21, says why). It checks binaries of `cargo build --release`:
# those of `cargo test --release` link other dependency features and other names. A function missing from the list still links and runs; it
# only lands elsewhere and costs memory at 64 KiB per stray page the kernel maps.
#
#   scripts/text-order.sh           regenerate the list (about 3 minutes)
#   scripts/text-order.sh --check   how much of the list the release binary still has
#
# Symbol names carry hashes that change when Cargo.lock, a build script or the
# compiler changes: rerun it then, and commit the list. It needs valgrind,
# linux-perf, ffmpeg and python3-gi (apt), and runs the simulated cameras of the
# integration tests (crates/mimamori/tests/camera/rtsp_server.py) on loopback.
set -euo pipefail
export LC_ALL=C # one byte order for sort and comm, whoever runs it
cd "$(dirname "$0")/.."
ORDER=crates/mimamori/text-order.txt
BIN=target/release/mimamori

text_symbols() { nm --defined-only "$1" | awk '$2 ~ /^[tTwW]$/ { print $3 }' | sort -u; }

if [[ ${1:-} == --check ]]; then
  [[ -x $BIN ]] || { echo "build it first: cargo build --release -p mimamori" >&2; exit 2; }
  listed=$(grep -cv '^#' "$ORDER")
  found=$(grep -v '^#' "$ORDER" | comm -12 - <(text_symbols "$BIN") | wc -l)
  echo "$found of $listed functions listed in $ORDER are in $BIN"
  # Below nine in ten the packing has mostly gone: regenerate.
  (( found * 10 >= listed * 9 )) || { echo "stale: run scripts/text-order.sh" >&2; exit 1; }
  exit 0
fi

for tool in valgrind perf ffmpeg nm curl; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install valgrind linux-perf ffmpeg binutils curl)" >&2; exit 2; }
done
cargo build --release --locked -p mimamori

WORK=$(mktemp -d "${TMPDIR:-/tmp}/text-order.XXXXXX")
CAM_PID=
cleanup() {
  [[ -n $CAM_PID ]] && kill "$CAM_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Eight cameras of the benchmark's kind: H.264 1280x720, 15 fps, 2 Mbit/s.
ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=15 -t 20 \
  -c:v libx264 -preset veryfast -g 30 -bf 0 -b:v 2000k -pix_fmt yuv420p -an "$WORK/clip.mp4"
read -r CAM_PORT WEB_PORT < <(python3 scripts/free_ports.py 2)
/usr/bin/python3 crates/mimamori/tests/camera/rtsp_server.py --port "$CAM_PORT" --streams 8 \
  --source file --file "$WORK/clip.mp4" --codec h264 --max-seconds 900 >"$WORK/cameras.log" 2>&1 &
CAM_PID=$!
for _ in $(seq 300); do grep -q 'ready:' "$WORK/cameras.log" && break; sleep 0.1; done
grep -q 'ready:' "$WORK/cameras.log" || { cat "$WORK/cameras.log" >&2; exit 1; }

DATA=$WORK/data
echo correct-horse-battery-9 >"$WORK/pw"
"$BIN" init --data "$DATA" --admin admin --admin-password-file "$WORK/pw" >"$WORK/setup.log" 2>&1 ||
  { cat "$WORK/setup.log" >&2; exit 1; }
for k in $(seq 8); do
  "$BIN" camera add --data "$DATA" --name "cam$k" --url "rtsp://127.0.0.1:$CAM_PORT/cam$k" \
    >>"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; exit 1; }
done
serve=("$BIN" serve --data "$DATA" --listen "127.0.0.1:$WEB_PORT")
# Someone opens the login page now and then while it records.
visit_pages() {
  for _ in 1 2 3; do
    sleep 15
    for page in / /login; do curl -s -o /dev/null "http://127.0.0.1:$WEB_PORT$page" || true; done
  done
}

# Every function a start and a minute of recording run, segment rotation included.
# valgrind shows the program a CPU without AVX-512, so this misses the variants
# that this CPU's dispatch picks (AES-GCM, BLAKE3, SHA-256)...
visit_pages &
timeout -s INT 90 valgrind --tool=callgrind --demangle=no --callgrind-out-file="$WORK/callgrind.out" \
  "${serve[@]}" >"$WORK/callgrind.log" 2>&1 || true
grep -oE '^c?fn=\([0-9]+\) .*' "$WORK/callgrind.out" | sed -E 's/^c?fn=\([0-9]+\) //' >"$WORK/names"
# ...which run natively, sampled by the clock and by every page fault (whose
# instruction ran, whether it fetched code or touched data).
visit_pages &
timeout -s INT 40 perf record -q -F 2000 -e cpu-clock -e page-faults -o "$WORK/perf.data" \
  -- "${serve[@]}" >"$WORK/perf.log" 2>&1 || true
perf script -i "$WORK/perf.data" -F sym --no-demangle 2>/dev/null | sed 's/^ *//' >>"$WORK/names"
wait # for the last page visits, so that none outlives the script

{
  echo "# Functions that run while mimamori starts and records (scripts/text-order.sh)."
  echo "# $(rustc --version); Cargo.lock $(sha256sum Cargo.lock | cut -c1-16)"
  sort -u "$WORK/names" | comm -12 - <(text_symbols "$BIN")
} >"$ORDER"
echo "$(grep -cv '^#' "$ORDER") functions written to $ORDER; cargo build --release relinks with them"
