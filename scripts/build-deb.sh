#!/usr/bin/env bash
# Builds the Debian package (cargo-deb, [package.metadata.deb] in Cargo.toml) from a binary built
# for TARGET by scripts/release.sh, so the package runs wherever glibc >= 2.17 does:
#
#   bash scripts/release.sh --target x86_64-unknown-linux-gnu
#   bash scripts/build-deb.sh x86_64-unknown-linux-gnu      # prints dist/flexus-traffic-monitor_V-1_amd64.deb
#
# The package's unit is deploy/systemd's with the binary in /usr/bin; it is written to
# target/debian/ here rather than kept as a second copy that could drift.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${1:-x86_64-unknown-linux-gnu}"
out="${2:-dist}"
command -v cargo-deb >/dev/null || {
  echo "build-deb.sh: cargo-deb is missing: cargo install cargo-deb --locked" >&2
  exit 1
}
[ -x "target/$target/release/flexus-traffic-monitor" ] || {
  echo "build-deb.sh: no target/$target/release/flexus-traffic-monitor; run scripts/release.sh --target $target first" >&2
  exit 1
}
mkdir -p target/debian "$out"
sed 's#^ExecStart=/usr/local/bin/#ExecStart=/usr/bin/#' deploy/systemd/flexus-traffic-monitor.service \
  >target/debian/flexus-traffic-monitor.service
grep -q '^ExecStart=/usr/bin/flexus-traffic-monitor ' target/debian/flexus-traffic-monitor.service || {
  echo "build-deb.sh: the unit's ExecStart no longer starts with /usr/local/bin/flexus-traffic-monitor" >&2
  exit 1
}
# A Debian changelog for this version (Debian policy wants one in every package).
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
maintainer="$(sed -n 's/^maintainer = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
{
  echo "flexus-traffic-monitor ($version-1) unstable; urgency=medium"
  echo
  echo "  * Release $version; the changes are in the project's release notes."
  echo
  echo " -- $maintainer  $(LC_ALL=C date -u -R -d "@$epoch")"
} >target/debian/changelog
# --no-strip: the release profile strips already, and cargo-deb would need the target's strip.
cargo deb --no-build --no-strip --target "$target" --output "$out/" | tail -n 1
