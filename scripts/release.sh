#!/usr/bin/env bash
# Builds a release archive: dist/flexus-traffic-monitor-VERSION-TARGET.tar.gz and its .sha256.
#
#   bash scripts/release.sh                                   # x86_64, glibc 2.17
#   bash scripts/release.sh --target aarch64-unknown-linux-gnu
#   bash scripts/release.sh --target x86_64-unknown-linux-musl   # static, for Alpine
#   bash scripts/release.sh --binary target/debug/flexus-traffic-monitor   # package a given binary
#
# glibc targets are linked against glibc 2.17 (cargo-zigbuild with zig as the linker), so the
# binary runs on CentOS 7, Debian 8+, Ubuntu 16.04+ and EulerOS; musl targets are static.
# Needs `cargo-zigbuild` and `ziglang` (pip install cargo-zigbuild ziglang) and the Rust target
# (rustup target add TARGET). The archive holds one directory with the binary, both READMEs,
# .env.example and deploy/.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
binary=""
version=""
out=dist
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "release.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$version" ]; then
  version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
fi
[ -n "$version" ] || { echo "release.sh: cannot read the version from Cargo.toml" >&2; exit 1; }

if [ -z "$binary" ]; then
  case "$target" in
    *-linux-gnu) zig_target="$target.2.17" ;;
    *-linux-musl) zig_target="$target" ;;
    *) echo "release.sh: unsupported target $target (use *-unknown-linux-gnu or *-unknown-linux-musl)" >&2; exit 2 ;;
  esac
  command -v cargo-zigbuild >/dev/null || {
    echo "release.sh: cargo-zigbuild is missing: pip install cargo-zigbuild ziglang" >&2
    exit 1
  }
  nice cargo zigbuild --locked --release --target "$zig_target"
  binary="target/$target/release/flexus-traffic-monitor"
fi
[ -x "$binary" ] || { echo "release.sh: no executable at $binary" >&2; exit 1; }

name="flexus-traffic-monitor-$version-$target"
mkdir -p "$out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
install -m 0755 "$binary" "$stage/$name/flexus-traffic-monitor"
install -m 0644 README.md README.zh-CN.md .env.example "$stage/$name/"
cp -R deploy "$stage/$name/deploy"
# Reproducible: fixed order, owner and time (the last commit's, or SOURCE_DATE_EPOCH).
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
  -C "$stage" -czf "$out/$name.tar.gz" "$name"
(cd "$out" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
echo "$out/$name.tar.gz"
