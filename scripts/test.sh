#!/usr/bin/env bash
# The whole test suite: unit, integration and end-to-end tests.
#
# The end-to-end tests run the real Prometheus and Alertmanager (Debian's packages prometheus and
# prometheus-alertmanager), and the systemd unit is checked with systemd-analyze (package systemd).
# When they are missing and apt-get is available, this script installs them (as root, or through
# sudo). The throttle and fence tests need iproute2, nftables, iptables and iperf3 and root (network
# namespaces). Without them, those tests print a note and pass, except under CI (CI set), where they are
# required.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in prometheus promtool prometheus-alertmanager amtool systemd-analyze tc nft iptables iperf3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing Debian's prometheus, prometheus-alertmanager and systemd (missing: ${missing[*]})"
  if ! { $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      prometheus prometheus-alertmanager systemd iproute2 nftables iptables iperf3 >/dev/null; }; then
    echo "could not install them; the tests that need them will say so"
  fi
fi

cargo test --locked "$@"
