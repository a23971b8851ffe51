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
[ "${#stages[@]}" -gt 0 ] || stages=(lint release)

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

for stage in "${stages[@]}"; do
  case "$stage" in
    lint | release) echo "== $stage =="; "$stage" ;;
    *) echo "check-packaging: unknown stage $stage" >&2; exit 2 ;;
  esac
done
