#!/bin/sh
# Installs (or upgrades, or removes) flexus-traffic-monitor on a Linux server from a release archive.
#
#   curl -fsSL https://github.com/flexus-traffic-monitor/flexus-traffic-monitor/releases/latest/download/install.sh | sudo sh
#   sudo sh install.sh [options]
#
# Options (each also as an environment variable):
#   --version V        release to install, e.g. 0.1.0 (FTM_VERSION; default: the latest)
#   --base-url URL     where releases are downloaded from, laid out like GitHub's
#                      URL/download/vV/ARCHIVE and URL/latest/download/VERSION; point it at a
#                      mirror where GitHub is slow (FTM_BASE_URL)
#   --migrate FILE     import the Python script's .env as the configuration
#   --init KIND        systemd | cron | none (FTM_INIT; default: systemd when it runs, else cron)
#   --arch ARCH        machine architecture instead of `uname -m` (FTM_ARCH)
#   --libc gnu|musl    C library instead of the detected one (FTM_LIBC; musl on Alpine)
#   --root DIR         install below DIR instead of / (FTM_ROOT or DESTDIR); systemctl is not run
#   --no-check         do not run `config` and `check` after installing
#   --uninstall        remove what the installer installed; keeps the configuration and state
#   --purge            with --uninstall: remove the configuration and state too
#
# Installs /usr/local/bin/flexus-traffic-monitor, /etc/flexus-traffic-monitor/env (mode 0600,
# kept on upgrade), /var/lib/flexus-traffic-monitor, /usr/local/share/flexus-traffic-monitor
# (READMEs, .env.example, deploy/), and the systemd unit or a cron line. Running it again
# upgrades. POSIX sh: Debian, Ubuntu, CentOS, EulerOS, Alpine. `--help` prints the options (also
# through `curl … | sh -s -- --help`, where there is no file to read them from).
set -eu

NAME=flexus-traffic-monitor
# Release builds replace these two defaults with the repository and the version they come from.
DEFAULT_BASE_URL="https://github.com/flexus-traffic-monitor/flexus-traffic-monitor/releases"
DEFAULT_VERSION=""

version="${FTM_VERSION:-$DEFAULT_VERSION}"
base_url="${FTM_BASE_URL:-$DEFAULT_BASE_URL}"
migrate=""
init="${FTM_INIT:-auto}"
arch="${FTM_ARCH:-}"
libc="${FTM_LIBC:-}"
root="${FTM_ROOT:-${DESTDIR:-/}}"
run_check=yes
action=install
purge=no

say() { printf '%s\n' "$*"; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}
usage() {
  cat <<'EOF_USAGE'
Installs (or upgrades, or removes) flexus-traffic-monitor on a Linux server from a release archive.

  curl -fsSL https://github.com/flexus-traffic-monitor/flexus-traffic-monitor/releases/latest/download/install.sh | sudo sh
  curl -fsSL …/install.sh | sudo sh -s -- [options]
  sudo sh install.sh [options]

Options (each also as an environment variable; sudo resets the environment, so give options after
`sh -s --` or the variable after sudo: `sudo FTM_BASE_URL=URL sh`):
  --version V        release to install, e.g. 0.1.0 (FTM_VERSION; default: the latest)
  --base-url URL     where releases are downloaded from, laid out like GitHub's
                     URL/download/vV/ARCHIVE and URL/latest/download/VERSION; point it at a
                     mirror where GitHub is slow (FTM_BASE_URL)
  --migrate FILE     import the Python script's .env as the configuration
  --init KIND        systemd | cron | none (FTM_INIT; default: systemd when it runs, else cron)
  --arch ARCH        machine architecture instead of `uname -m` (FTM_ARCH)
  --libc gnu|musl    C library instead of the detected one (FTM_LIBC; musl on Alpine)
  --root DIR         install below DIR instead of / (FTM_ROOT or DESTDIR); systemctl is not run
  --no-check         do not run `config` and `check` after installing
  --uninstall        remove what the installer installed; keeps the configuration and state
  --purge            with --uninstall: remove the configuration, state and log too

Installs /usr/local/bin/flexus-traffic-monitor, /etc/flexus-traffic-monitor/env (mode 0600,
kept on upgrade), /var/lib/flexus-traffic-monitor, /usr/local/share/flexus-traffic-monitor
(READMEs, env.example, deploy/), and the systemd unit or a cron line. Running it again upgrades.
EOF_USAGE
}
need_arg() {
  if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --version) need_arg "$@"; version="$2"; shift 2 ;;
    --base-url) need_arg "$@"; base_url="$2"; shift 2 ;;
    --migrate) need_arg "$@"; migrate="$2"; shift 2 ;;
    --init) need_arg "$@"; init="$2"; shift 2 ;;
    --arch) need_arg "$@"; arch="$2"; shift 2 ;;
    --libc) need_arg "$@"; libc="$2"; shift 2 ;;
    --root) need_arg "$@"; root="$2"; shift 2 ;;
    --no-check) run_check=no; shift ;;
    --uninstall) action=uninstall; shift ;;
    --purge) purge=yes; shift ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

case "$init" in auto | systemd | cron | none) ;; *) die "--init must be systemd, cron or none, not '$init'" ;; esac
[ "$purge" = no ] || [ "$action" = uninstall ] || die "--purge goes with --uninstall"

# Paths, all below the root.
root="${root%/}"
real_root=no
[ -n "$root" ] || real_root=yes
bin_dir="$root/usr/local/bin"
bin="$bin_dir/$NAME"
share="$root/usr/local/share/$NAME"
conf_dir="$root/etc/$NAME"
env_file="$conf_dir/env"
state_dir="$root/var/lib/$NAME"
unit="$root/etc/systemd/system/$NAME.service"
cron_d="$root/etc/cron.d/$NAME"
crontabs="$root/etc/crontabs/root"
cron_mark="# $NAME (added by install.sh)"
log_file="$root/var/log/$NAME.log"

if [ "$real_root" = yes ] && [ "$(id -u)" != 0 ]; then
  die "run it as root (sudo sh install.sh), or give --root DIR to install below a directory"
fi

# systemctl only ever runs against the real machine, never for a --root install.
systemd_running() { [ "$real_root" = yes ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }
systemctl_do() {
  if systemd_running; then
    # systemd may be present but not answering (a container, a chroot of a running system):
    # say so and go on, rather than stop half-way with the unit written and no next step.
    systemctl "$@" || say "  ('systemctl $*' failed: systemd is not answering here)"
  elif [ "$real_root" = no ]; then
    say "  (not running 'systemctl $*': installing below $root)"
  else
    say "  (not running 'systemctl $*': systemd is not running here)"
  fi
}

# Enables the unit as `systemctl enable` does (its [Install] WantedBy=multi-user.target link), for
# a root where systemctl cannot run: the unit starts when that system boots with systemd.
enable_by_link() {
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
  ln -sf "/etc/systemd/system/$NAME.service" "$root/etc/systemd/system/multi-user.target.wants/$NAME.service"
  say "systemd: enabled (link in /etc/systemd/system/multi-user.target.wants)"
}

# The cron line: `check` every hour, like the original script, reading the installed env file.
cron_command="cd /var/lib/$NAME && STATE_DIRECTORY=/var/lib/$NAME /usr/local/bin/$NAME --env-file /etc/$NAME/env check >>/var/log/$NAME.log 2>&1"

remove_cron() {
  rm -f "$cron_d"
  if [ -f "$crontabs" ] && grep -q "$NAME" "$crontabs"; then
    grep -v -e "$cron_mark" -e "/usr/local/bin/$NAME " "$crontabs" >"$crontabs.new" || true
    cat "$crontabs.new" >"$crontabs"
    rm -f "$crontabs.new"
  fi
}

# A cron daemon below the root (Debian minbase and most containers have none).
cron_daemon() {
  for d in usr/sbin usr/bin sbin bin; do
    for c in cron crond; do
      if [ -x "$root/$d/$c" ]; then
        say "$d/$c"
        return 0
      fi
    done
  done
  if [ -x "$root/bin/busybox" ] && "$root/bin/busybox" --list 2>/dev/null | grep -qx crond; then
    say "bin/busybox crond"
    return 0
  fi
  return 1
}

install_cron() {
  remove_cron
  if [ -d "$root/etc/crontabs" ] && [ ! -d "$root/etc/cron.d" ]; then
    # BusyBox crond (Alpine) reads per-user crontabs only.
    {
      say "$cron_mark"
      say "0 * * * * $cron_command"
    } >>"$crontabs"
    say "cron: added an hourly 'check' to $crontabs"
  else
    mkdir -p "$root/etc/cron.d"
    {
      say "$cron_mark: hourly check, like the original script."
      say "SHELL=/bin/sh"
      say "0 * * * * root $cron_command"
    } >"$cron_d.new"
    chmod 0644 "$cron_d.new"
    mv -f "$cron_d.new" "$cron_d"
    say "cron: installed $cron_d (hourly 'check')"
  fi
}

uninstall() {
  say "removing $NAME from ${root:-/}"
  if [ -f "$unit" ]; then
    systemctl_do disable --now "$NAME.service"
    rm -f "$unit" "$root/etc/systemd/system/multi-user.target.wants/$NAME.service"
    systemctl_do daemon-reload
  fi
  remove_cron
  rm -f "$bin"
  rm -rf "$share"
  if [ "$purge" = yes ]; then
    rm -rf "$conf_dir" "$state_dir"
    rm -f "$log_file" "$log_file".[0-9]* "$log_file".[0-9]*.gz
    say "removed the configuration $conf_dir, the state $state_dir and the log $log_file"
  else
    [ ! -e "$conf_dir" ] || say "kept the configuration $env_file (remove it with --uninstall --purge)"
    [ ! -e "$state_dir" ] || say "kept the state $state_dir"
  fi
  say "$NAME is uninstalled"
}

if [ "$action" = uninstall ]; then
  uninstall
  exit 0
fi

# ---- what to download ----

[ -n "$arch" ] || arch="$(uname -m)"
case "$arch" in
  x86_64 | amd64) cpu=x86_64 ;;
  aarch64 | arm64 | armv8*) cpu=aarch64 ;;
  *) die "unsupported architecture '$arch': prebuilt binaries exist for x86_64 (amd64) and aarch64 (arm64, Kunpeng). On other machines build from source: cargo build --release (see the README)" ;;
esac

if [ -z "$libc" ]; then
  if [ -e /etc/alpine-release ] || { command -v ldd >/dev/null 2>&1 && ldd --version 2>&1 | grep -qi musl; }; then
    libc=musl
  else
    libc=gnu
  fi
fi
case "$libc" in
  gnu)
    # The glibc build needs glibc 2.17 or newer (CentOS 7, Debian 8, Ubuntu 14.04 and later).
    glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')"
    if [ -n "$glibc" ]; then
      # shellcheck disable=SC2086 # split "MAJOR MINOR" on purpose
      set -- $glibc
      if [ "$1" -lt 2 ] || { [ "$1" -eq 2 ] && [ "$2" -lt 17 ]; }; then
        die "this system has glibc $1.$2; the prebuilt binary needs 2.17 or newer (CentOS 7 and later)"
      fi
    fi
    ;;
  musl) ;;
  *) die "--libc must be gnu or musl, not '$libc'" ;;
esac
target="$cpu-unknown-linux-$libc"

# The download runs in the background and is waited for, so that a signal (a dropped SSH session,
# Ctrl-C, `| head` closing our output) is handled at once: the trap kills the download and removes
# the temporary files, instead of leaving a 5 MB archive in /tmp and an orphan curl running for
# minutes.
dl_pid=""
download() { # URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 --connect-timeout 15 --max-time 600 -o "$2" "$1" &
  elif command -v wget >/dev/null 2>&1; then
    if wget --help 2>&1 | grep -q BusyBox; then
      # BusyBox's wget (Alpine, minimal images): Debian's build 1.35 crashes on -T; its own
      # read timeout applies, and a signal still stops it (see the trap below).
      wget -q -O "$2" "$1" &
    else
      wget -q -T 60 -O "$2" "$1" &
    fi
  else
    die "neither curl nor wget is installed; install one of them"
  fi
  dl_pid=$!
  dl_code=0
  wait "$dl_pid" || dl_code=$?
  dl_pid=""
  return "$dl_code"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  else
    die "no sha256sum, shasum or openssl to verify the download; install coreutils or openssl"
  fi
}

tmp=""
cleanup() {
  if [ -n "$dl_pid" ]; then kill "$dl_pid" 2>/dev/null || true; fi
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM
tmp="$(mktemp -d)"

base_url="${base_url%/}"
# Under sudo, a variable exported before `curl … | sudo sh` is gone (sudo resets the environment):
# name that when a download from the default address fails.
sudo_hint() {
  if [ -n "${SUDO_USER:-}" ] && [ "$base_url" = "${DEFAULT_BASE_URL%/}" ]; then
    printf '%s' "; if you exported FTM_BASE_URL or FTM_VERSION before sudo, sudo dropped it: give it as an option, \`curl -fsSL URL/install.sh | sudo sh -s -- --base-url URL\`, or after sudo, \`| sudo FTM_BASE_URL=URL sh\`"
  fi
}
if [ -z "$version" ]; then
  download "$base_url/latest/download/VERSION" "$tmp/VERSION" ||
    die "cannot download $base_url/latest/download/VERSION (the network, or the address, is at fault; a mirror can be given with --base-url, a version with --version)$(sudo_hint)"
  version="$(tr -d ' \r\n' <"$tmp/VERSION")"
fi
version="${version#v}"
archive="$NAME-$version-$target.tar.gz"
url="$base_url/download/v$version/$archive"

say "installing $NAME $version for $target into ${root:-/}"
say "downloading $url"
download "$url" "$tmp/$archive" || die "download failed: $url (a release for $target and version $version must exist; a mirror can be given with --base-url)$(sudo_hint)"
download "$url.sha256" "$tmp/$archive.sha256" || die "download failed: $url.sha256"

expected="$(cut -d ' ' -f 1 <"$tmp/$archive.sha256" | tr -d '\r\n')"
actual="$(sha256_of "$tmp/$archive")"
if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
  die "checksum mismatch for $archive: expected ${expected:-nothing}, got $actual. The download is damaged or was altered; nothing was installed"
fi
say "checksum ok ($actual)"

mkdir "$tmp/x"
tar -xzf "$tmp/$archive" -C "$tmp/x"
src="$tmp/x/$NAME-$version-$target"
[ -x "$src/$NAME" ] || die "$archive does not contain $NAME-$version-$target/$NAME"
new_version="$("$src/$NAME" --version 2>/dev/null)" || die "the downloaded binary does not run on this machine ($target); nothing was installed"

# ---- install ----

old_version=""
[ ! -x "$bin" ] || old_version="$("$bin" --version 2>/dev/null || true)"

umask 022
mkdir -p "$bin_dir" "$share"
# Replace the binary in one step, so a running service or cron job never sees half a file.
cp "$src/$NAME" "$bin_dir/.$NAME.new"
chmod 0755 "$bin_dir/.$NAME.new"
mv -f "$bin_dir/.$NAME.new" "$bin"
rm -rf "$share/deploy"
cp -R "$src/deploy" "$share/deploy"
# The Debian package's maintainer scripts are no use to a user of this installation.
rm -rf "$share/deploy/debian"
cp "$src/README.md" "$src/README.zh-CN.md" "$share/"
cp "$src/.env.example" "$share/env.example"
if [ "$old_version" = "$new_version" ]; then
  say "reinstalled $new_version (it was already installed)"
elif [ -n "$old_version" ]; then
  say "upgraded: $old_version -> $new_version"
else
  say "installed $new_version as ${bin#"$root"}"
fi

mkdir -p "$conf_dir"
chmod 0750 "$conf_dir"
if [ -n "$migrate" ]; then
  [ -f "$migrate" ] || die "--migrate: no file at $migrate"
  if [ -f "$env_file" ]; then
    cp -p "$env_file" "$env_file.before-migrate"
    say "saved the previous configuration as ${env_file#"$root"}.before-migrate"
  fi
  (umask 077 && cp "$migrate" "$env_file.new")
  mv -f "$env_file.new" "$env_file"
  say "imported $migrate as ${env_file#"$root"} (same variables as the Python script)"
elif [ -f "$env_file" ]; then
  say "kept the configuration ${env_file#"$root"}"
else
  (umask 077 && cp "$src/.env.example" "$env_file.new")
  mv -f "$env_file.new" "$env_file"
  say "created ${env_file#"$root"} from .env.example"
fi
chmod 0600 "$env_file"
mkdir -p "$state_dir"
chmod 0750 "$state_dir"

if [ "$init" = auto ]; then
  if systemd_running || { [ "$real_root" = no ] && [ -d "$root/run/systemd/system" ]; }; then
    init=systemd
  else
    init=cron
  fi
fi
case "$init" in
  systemd)
    remove_cron
    mkdir -p "$(dirname "$unit")"
    cp "$src/deploy/systemd/$NAME.service" "$unit.new"
    chmod 0644 "$unit.new"
    mv -f "$unit.new" "$unit"
    say "systemd: installed ${unit#"$root"}"
    if systemd_running; then
      systemctl_do daemon-reload
      systemctl_do enable "$NAME.service"
      if systemctl is-active --quiet "$NAME.service" 2>/dev/null; then
        systemctl_do restart "$NAME.service"
        say "systemd: restarted the running service with the new binary"
      fi
    else
      systemctl_do daemon-reload
      enable_by_link
    fi
    ;;
  cron)
    if [ -f "$unit" ]; then
      # Switching from systemd: one scheduler only.
      systemctl_do disable --now "$NAME.service"
      rm -f "$unit" "$root/etc/systemd/system/multi-user.target.wants/$NAME.service"
      systemctl_do daemon-reload
      say "systemd: removed ${unit#"$root"} (cron runs it now)"
    fi
    install_cron
    if daemon="$(cron_daemon)"; then
      say "cron: the daemon is /$daemon"
    else
      cron_ok=no
      say "cron: no cron daemon is installed here (no cron or crond), so nothing will run the hourly check:"
      say "      install one (Debian/Ubuntu: apt-get install cron; CentOS/EulerOS: yum install cronie;"
      say "      Alpine: rc-update add crond) or run the service instead (--init systemd, or serve)"
    fi
    ;;
  none) say "no service installed (--init none)" ;;
esac

# ---- check it ----

# The outcome decides the advice: configured | config (edit the env) | network (exit 2: the cloud
# could not be reached; the configuration may be fine) | partial (exit 3) | state (4) | failed |
# unchecked (--no-check).
outcome=unchecked
acts=no
if [ "$run_check" = yes ]; then
  say ""
  say "== $NAME config =="
  "$bin" --env-file "$env_file" config || true
  say ""
  say "== $NAME check (a dry run with throwaway state: it never powers the server off, and its messages are printed here, not sent) =="
  scratch="$(mktemp -d "$state_dir/install-check.XXXXXX")"
  code=0
  # --no-send: trying the configuration must not wake the owner with a countdown; no countdown
  # either (SHUTDOWN_DELAY=0s), as nothing will be shut down.
  (cd "$scratch" && DRY_RUN=true SHUTDOWN_DELAY=0s STATE_DIR="$scratch" "$bin" --env-file "$env_file" check --no-send >"$scratch/table") || code=$?
  cat "$scratch/table"
  # The LEVEL column of the table: a package at level 1 is one the next real run acts on.
  below=$(awk 'NR == 1 { p = index($0, "LEVEL") } NR > 1 && p { v = substr($0, p); sub(/ .*/, "", v); if (v == "1") n++ } END { print n + 0 }' "$scratch/table")
  rm -rf "$scratch"
  [ "$below" = 0 ] || acts=yes
  case "$code" in
    0) outcome=configured; say "check: ok" ;;
    1) outcome=config; say "check: not configured yet (see the problems above)" ;;
    2) outcome=network; say "check: the configuration is read, but Huawei Cloud could not be reached (exit 2; see the error above)" ;;
    3) outcome=partial; say "check: some packages could not be read (exit 3; see the table above)" ;;
    4) outcome=state; say "check: the state directory could not be used (exit 4)" ;;
    *) outcome=failed; say "check failed (exit $code): read the message above" ;;
  esac
  if [ "$acts" = yes ]; then
    say ""
    say "WARNING: a package is below THRESHOLD_LEVEL_1. This check was a dry run; the next scheduled run"
    say "(the service once started, or cron's next hourly check) will really act: SHUTDOWN_MODE decides how"
    say "(default: shut the server down). If that is not wanted yet, set SHUTDOWN_MODE=off in ${env_file#"$root"} first."
  fi
fi

if [ "$real_root" = yes ] && [ -n "$migrate" ] && command -v crontab >/dev/null 2>&1 &&
  crontab -l 2>/dev/null | grep -q 'start\.sh'; then
  say ""
  say "note: root's crontab still runs the Python script's start.sh; remove that line (crontab -e)"
fi

conf="/etc/$NAME/env"
say ""
say "Next:"
step=1
next() {
  say "  $step. $*"
  step=$((step + 1))
}
case "$outcome" in
  config)
    next "edit $conf: HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK, FREE_RESOURCE_IDS"
    say "     (\`$NAME --env-file $conf discover\` prints them), TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID"
    say "     and check it: $NAME --env-file $conf config"
    ;;
  unchecked)
    next "if not done yet, fill in $conf (HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK, FREE_RESOURCE_IDS,"
    say "     TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID), then check it: $NAME --env-file $conf config"
    say "     and $NAME --env-file $conf check --no-send"
    ;;
  network)
    next "check that this server reaches Huawei Cloud (DNS in /etc/resolv.conf, a proxy, a firewall,"
    say "     HUAWEICLOUD_BSS_ENDPOINT), then run: $NAME --env-file $conf check --no-send"
    ;;
  partial)
    next "compare FREE_RESOURCE_IDS in $conf with what \`$NAME --env-file $conf discover\` lists"
    ;;
  state)
    next "make /var/lib/$NAME writable for root (or set STATE_DIR in $conf), then run the check again"
    ;;
  failed)
    next "fix what the message above names, then run: $NAME --env-file $conf check --no-send"
    ;;
esac
case "$init" in
  systemd) next "systemctl start $NAME    (then: journalctl -u $NAME -f)" ;;
  cron)
    if [ "${cron_ok:-yes}" = no ]; then
      next "install and start a cron daemon: until then nothing runs 'check' (its log would be /var/log/$NAME.log)"
    else
      next "cron runs 'check' every hour; its log is /var/log/$NAME.log"
    fi
    ;;
  none) next "run: $NAME --env-file $conf serve" ;;
esac
