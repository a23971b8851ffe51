#!/usr/bin/env bash
# /metrics under load next to a minimal axum handler serving a body of the same size, at 1, 100 and
# 1,000 packages; prints requests per second and the ratio (target: at least 0.8x). Uses Debian's
# wrk, installed here when missing. Not a test: it asserts nothing.
#   BENCH_SECONDS=10 bash scripts/bench-metrics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing Debian's wrk"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
cargo bench --locked --bench metrics_http
