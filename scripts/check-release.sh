#!/usr/bin/env bash
# Checks a release archive built by scripts/release.sh:
#   - its .sha256 matches;
#   - it holds the binary, both READMEs, .env.example and the deploy files;
#   - a glibc binary needs no symbol version newer than GLIBC_2.17 (objdump -T), so it runs on
#     CentOS 7 / EulerOS 2 and every newer distribution; a musl binary is static;
#   - the binary runs and `--version` prints the archive's version.
#
#   bash scripts/check-release.sh dist/flexus-traffic-monitor-0.1.0-x86_64-unknown-linux-gnu.tar.gz
set -euo pipefail

max_glibc="2.17"
archive="${1:?usage: check-release.sh ARCHIVE.tar.gz}"
file="$(basename "$archive")"
name="${file%.tar.gz}"
rest="${name#flexus-traffic-monitor-}"
version="${rest%%-*}"
target="${rest#*-}"

fail() { echo "check-release: $*" >&2; exit 1; }

(cd "$(dirname "$archive")" && sha256sum -c --quiet "$file.sha256") || fail "checksum of $file does not match $file.sha256"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xzf "$archive" -C "$work"
dir="$work/$name"
for f in flexus-traffic-monitor README.md README.zh-CN.md .env.example \
  deploy/systemd/flexus-traffic-monitor.service deploy/prometheus/prometheus.yml \
  deploy/alertmanager/alertmanager.yml deploy/grafana/dashboards/flexus-traffic.json; do
  [ -e "$dir/$f" ] || fail "$file lacks $name/$f"
done
bin="$dir/flexus-traffic-monitor"

case "$target" in
  *-linux-gnu)
    # Every versioned glibc symbol the binary imports, e.g. "GLIBC_2.14".
    needed="$(objdump -T "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sort -u -V)"
    [ -n "$needed" ] || fail "objdump found no glibc symbol versions in $bin (not a glibc binary?)"
    newest="$(printf '%s\n' "$needed" | tail -n 1)"
    too_new=""
    for v in $needed; do
      n="${v#GLIBC_}"
      [ "$(printf '%s\n%s\n' "$n" "$max_glibc" | sort -V | tail -n 1)" = "$max_glibc" ] || too_new="$too_new $v"
    done
    [ -z "$too_new" ] || fail "$bin needs$too_new, newer than GLIBC_$max_glibc: it would not start on older distributions"
    echo "glibc: newest symbol version needed is $newest (limit GLIBC_$max_glibc)"
    ;;
  *-linux-musl)
    if readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
      fail "$bin is a musl binary but is dynamically linked"
    fi
    echo "musl: static binary"
    ;;
  *) fail "unknown target $target in $file" ;;
esac

# Another architecture runs under qemu-user when it is installed (with the target's C library for
# glibc builds: Debian's libc6-arm64-cross puts it in /usr/aarch64-linux-gnu).
cpu="${target%%-*}"
run=()
case "$target" in
  "$(uname -m)"-*) ;;
  *-linux-musl) command -v "qemu-$cpu" >/dev/null && run=("qemu-$cpu") ;;
  *) command -v "qemu-$cpu" >/dev/null && [ -d "/usr/$cpu-linux-gnu" ] && run=("qemu-$cpu" -L "/usr/$cpu-linux-gnu") ;;
esac
if [ "$cpu" = "$(uname -m)" ] || [ "${#run[@]}" -gt 0 ]; then
  printed="$("${run[@]}" "$bin" --version)"
  [ "$printed" = "flexus-traffic-monitor $version" ] || fail "--version printed '$printed', expected 'flexus-traffic-monitor $version'"
  echo "runs${run:+ under ${run[0]}}: $printed"
else
  echo "note: $target cannot run on $(uname -m) without qemu-$cpu; --version not run"
fi
echo "ok: $file"
