#!/usr/bin/env bash
# The heavier checks of how the program is shipped, run by .ci/run after the test suite:
#   lint     shellcheck on the shell scripts (install.sh as POSIX sh, also parsed by dash),
#            actionlint on the GitHub workflows
#   release  the portable x86_64 archive built with cargo-zigbuild against glibc 2.17, checked by
#            scripts/check-release.sh (symbol versions, contents, --version)
#   deb      the Debian package built with cargo-deb, checked with dpkg-deb and lintian
#   container  the Dockerfile (hadolint when installed, a build when a Docker daemon answers) and
#            the compose file (schema and the files it mounts)
#
#   bash scripts/check-packaging.sh            # every stage
#   bash scripts/check-packaging.sh lint deb   # some stages
#
# A stage whose tool is missing fails under CI (CI set) and is skipped with a note elsewhere.
# `scripts/test.sh` does not run these: a release build takes minutes on a small machine.
set -euo pipefail
cd "$(dirname "$0")/.."

stages=("$@")
[ "${#stages[@]}" -gt 0 ] || stages=(lint release deb container)

have() {
  if command -v "$1" >/dev/null 2>&1; then
    return 0
  fi
  if [ -n "${CI:-}" ]; then
    echo "check-packaging: $1 is not installed; .ci/run installs it" >&2
    exit 1
  fi
  echo "note: $1 is not installed; skipping what needs it"
  return 1
}

lint() {
  if have shellcheck; then
    shellcheck -s sh scripts/install.sh
    shellcheck -s bash scripts/release.sh scripts/check-release.sh scripts/check-packaging.sh \
      scripts/test.sh .ci/run
    echo "shellcheck: ok"
  fi
  if have dash; then
    dash -n scripts/install.sh
    echo "dash -n scripts/install.sh: ok"
  fi
  if have actionlint; then
    actionlint .github/workflows/*.yml
    echo "actionlint: ok"
  fi
}

release() {
  have cargo-zigbuild || return 0
  local version archive start
  version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
  start=$SECONDS
  bash scripts/release.sh --target x86_64-unknown-linux-gnu
  echo "release build: $((SECONDS - start)) s"
  archive="dist/flexus-traffic-monitor-$version-x86_64-unknown-linux-gnu.tar.gz"
  bash scripts/check-release.sh "$archive"
}

deb() {
  have cargo-deb || return 0
  have lintian || return 0
  local target=x86_64-unknown-linux-gnu deb contents ctrl
  [ -x "target/$target/release/flexus-traffic-monitor" ] || bash scripts/release.sh --target "$target"
  deb="$(bash scripts/build-deb.sh "$target" | tail -n 1)"
  dpkg-deb --info "$deb"
  contents="$(dpkg-deb --contents "$deb")"
  echo "$contents"
  ctrl="$(mktemp -d)"
  dpkg-deb --control "$deb" "$ctrl"
  expect() { grep -Eq "$1" <<<"$2" || { echo "check-packaging: $deb: $3" >&2; exit 1; }; }
  expect ' \./usr/bin/flexus-traffic-monitor$' "$contents" "no /usr/bin/flexus-traffic-monitor"
  expect '^-rw------- 0/0 .* \./etc/flexus-traffic-monitor/env$' "$contents" "the env file is not root's, mode 0600"
  expect ' \./usr/lib/systemd/system/flexus-traffic-monitor\.service$' "$contents" "no systemd unit"
  expect '^/etc/flexus-traffic-monitor/env$' "$(cat "$ctrl/conffiles")" "the env file is not a conffile"
  expect 'install -d -m 0750 /var/lib/flexus-traffic-monitor' "$(cat "$ctrl/postinst")" "postinst does not create the state directory"
  expect '^Depends: libc6 \(>= 2\.17\)$' "$(cat "$ctrl/control")" "wrong Depends"
  dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/lib/systemd/system/flexus-traffic-monitor.service |
    grep -q '^ExecStart=/usr/bin/flexus-traffic-monitor --env-file /etc/flexus-traffic-monitor/env serve$' ||
    { echo "check-packaging: the packaged unit does not start /usr/bin/flexus-traffic-monitor with the env file" >&2; exit 1; }
  rm -rf "$ctrl"
  # Errors and warnings fail; deploy/debian/lintian-overrides lists the accepted ones and why.
  lintian --fail-on error,warning --display-level '>=info' "$deb"
  echo "deb: ok ($deb)"
}

container() {
  if have hadolint; then
    hadolint Dockerfile
    echo "hadolint: ok"
  fi
  python3 scripts/check-compose.py
  # The build stage copies every source the manifest needs (a missing bench fails `cargo build`).
  local needed=(Cargo.toml Cargo.lock src) n
  grep -q '^\[\[bench\]\]' Cargo.toml && needed+=(benches)
  [ ! -f build.rs ] || needed+=(build.rs)
  for n in "${needed[@]}"; do
    grep -Eq "^COPY(.* )?$n( |/|$)" Dockerfile || { echo "check-packaging: the Dockerfile does not copy $n" >&2; exit 1; }
  done
  echo "docker build context: ok"
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    docker build -t flexus-traffic-monitor:check .
    docker run --rm flexus-traffic-monitor:check --version
  else
    echo "note: no container engine answers here, so the image is not built (hadolint and the compose checks ran)"
  fi
}

for stage in "${stages[@]}"; do
  case "$stage" in
    lint | release | deb | container) echo "== $stage =="; "$stage" ;;
    *) echo "check-packaging: unknown stage $stage" >&2; exit 2 ;;
  esac
done
