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
# upgrades. POSIX sh: Debian, Ubuntu, CentOS, EulerOS, Alpine.
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
      if [ -f "$0" ]; then sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; else say "options: see the README"; fi
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

if [ "$real_root" = yes ] && [ "$(id -u)" != 0 ]; then
  die "run it as root (sudo sh install.sh), or give --root DIR to install below a directory"
fi

# systemctl only ever runs against the real machine, never for a --root install.
systemd_running() { [ "$real_root" = yes ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }
systemctl_do() {
  if systemd_running; then
    systemctl "$@"
  else
    say "  (not running 'systemctl $*': systemd is not running here or the root is $root)"
  fi
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
    systemctl_do disable --now "$NAME.service" || true
    rm -f "$unit"
    systemctl_do daemon-reload || true
  fi
  remove_cron
  rm -f "$bin"
  rm -rf "$share"
  if [ "$purge" = yes ]; then
    rm -rf "$conf_dir" "$state_dir"
    say "removed the configuration $conf_dir and the state $state_dir"
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

download() { # URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 --connect-timeout 15 --max-time 600 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 60 -O "$2" "$1"
  else
    die "neither curl nor wget is installed; install one of them"
  fi
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

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

base_url="${base_url%/}"
if [ -z "$version" ]; then
  download "$base_url/latest/download/VERSION" "$tmp/VERSION" ||
    die "cannot learn the latest version from $base_url/latest/download/VERSION; give --version"
  version="$(tr -d ' \r\n' <"$tmp/VERSION")"
fi
version="${version#v}"
archive="$NAME-$version-$target.tar.gz"
url="$base_url/download/v$version/$archive"

say "installing $NAME $version for $target into ${root:-/}"
say "downloading $url"
download "$url" "$tmp/$archive" || die "download failed: $url (a release for $target and version $version must exist; a mirror can be given with --base-url)"
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
cp "$src/README.md" "$src/README.zh-CN.md" "$share/"
cp "$src/.env.example" "$share/env.example"
if [ -n "$old_version" ]; then
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
    systemctl_do daemon-reload
    systemctl_do enable "$NAME.service"
    if systemd_running && systemctl is-active --quiet "$NAME.service"; then
      systemctl restart "$NAME.service"
      say "systemd: restarted the running service with the new binary"
    fi
    ;;
  cron)
    if [ -f "$unit" ]; then
      # Switching from systemd: one scheduler only.
      systemctl_do disable --now "$NAME.service" || true
      rm -f "$unit"
      systemctl_do daemon-reload || true
      say "systemd: removed ${unit#"$root"} (cron runs it now)"
    fi
    install_cron
    ;;
  none) say "no service installed (--init none)" ;;
esac

# ---- check it ----

configured=no
if [ "$run_check" = yes ]; then
  say ""
  say "== $NAME config =="
  "$bin" --env-file "$env_file" config || true
  say ""
  say "== $NAME check (a dry run with throwaway state: it never powers the server off) =="
  scratch="$(mktemp -d "$state_dir/install-check.XXXXXX")"
  code=0
  (cd "$scratch" && DRY_RUN=true STATE_DIR="$scratch" "$bin" --env-file "$env_file" check) || code=$?
  rm -rf "$scratch"
  case "$code" in
    0) configured=yes; say "check: ok" ;;
    1) say "check: not configured yet (see the problems above)" ;;
    *) say "check failed (exit $code): read the message above, fix ${env_file#"$root"} and run the check again" ;;
  esac
fi

if [ "$real_root" = yes ] && [ -n "$migrate" ] && command -v crontab >/dev/null 2>&1 &&
  crontab -l 2>/dev/null | grep -q 'start\.sh'; then
  say ""
  say "note: root's crontab still runs the Python script's start.sh; remove that line (crontab -e)"
fi

say ""
say "Next:"
step=1
if [ "$configured" = no ]; then
  say "  $step. edit /etc/$NAME/env: HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK, FREE_RESOURCE_IDS"
  say "     (\`$NAME --env-file /etc/$NAME/env discover\` prints them), TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID"
  say "     and check it: $NAME --env-file /etc/$NAME/env config"
  step=2
fi
case "$init" in
  systemd) say "  $step. systemctl start $NAME    (then: journalctl -u $NAME -f)" ;;
  cron) say "  $step. cron runs 'check' every hour; its log is /var/log/$NAME.log" ;;
  none) say "  $step. run: $NAME --env-file /etc/$NAME/env serve" ;;
esac
