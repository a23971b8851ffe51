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
#   --lang zh|en       language of what it prints (see below)
#
# Language: Chinese by default, English with --lang en. Without --lang, MESSAGE_LANG decides (the
# setting the program's messages and commands follow): from the environment (sudo drops it: give
# it after sudo, `| sudo MESSAGE_LANG=en sh`), else from the env file it migrates or keeps. The
# `config` and `check` it runs print in the same language.
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
lang_given="${MESSAGE_LANG:-}"

say() { printf '%s\n' "$*"; }
# The language of what it prints: zh (the default) or en; see the header.
lang_of() {
  case "$1" in
    en | en-us | en_us | EN | En) printf en ;;
    *) printf zh ;;
  esac
}
lang="$(lang_of "$lang_given")"
# t ENGLISH CHINESE: the text in the language.
t() { if [ "$lang" = en ]; then printf '%s' "$1"; else printf '%s' "$2"; fi; }
say2() { say "$(t "$1" "$2")"; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}
die2() { die "$(t "$1" "$2")"; }
usage() {
  if [ "$lang" = zh ]; then
    cat <<'EOF_USAGE_ZH'
从发布包在 Linux 服务器上安装（或升级、卸载）flexus-traffic-monitor。

  curl -fsSL https://github.com/flexus-traffic-monitor/flexus-traffic-monitor/releases/latest/download/install.sh | sudo sh
  curl -fsSL …/install.sh | sudo sh -s -- [选项]
  sudo sh install.sh [选项]

选项（每个也可用环境变量给出；sudo 会清空环境，所以请把选项写在 `sh -s --` 之后，或把变量写在
sudo 之后：`sudo FTM_BASE_URL=URL sh`）：
  --version V        要安装的版本，例如 0.1.0（FTM_VERSION；默认：最新版）
  --base-url URL     下载发布包的地址，目录结构与 GitHub 相同：URL/download/vV/ARCHIVE 和
                     URL/latest/download/VERSION；GitHub 慢时可指向镜像（FTM_BASE_URL）
  --migrate FILE     导入 Python 脚本的 .env 作为配置
  --init KIND        `systemd`、`cron` 或 `none`（FTM_INIT；默认：systemd 在运行时用它，否则用 cron）
  --arch ARCH        用这个架构代替 `uname -m` 的结果（FTM_ARCH）
  --libc `gnu|musl`  用这个 C 库代替检测到的（FTM_LIBC；Alpine 上是 musl）
  --root DIR         安装到 DIR 下而不是 /（FTM_ROOT 或 DESTDIR）；不运行 systemctl
  --no-check         安装后不运行 `config` 和 `check`
  --uninstall        删除安装脚本装的东西；保留配置和状态
  --purge            与 --uninstall 一起用：连配置、状态和日志也删除
  --lang `zh|en`     输出的语言：默认中文；不给时按 MESSAGE_LANG（环境变量，或迁移/保留的 env 文件中的值）

安装 /usr/local/bin/flexus-traffic-monitor、/etc/flexus-traffic-monitor/env（权限 0600，升级时保留）、
/var/lib/flexus-traffic-monitor、/usr/local/share/flexus-traffic-monitor（README、env.example、deploy/），
以及 systemd 单元或一行 cron。再次运行即升级。
EOF_USAGE_ZH
    return
  fi
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
  --lang zh|en       language of what it prints: Chinese by default; without it, MESSAGE_LANG
                     (from the environment, or in the env file it migrates or keeps)

Installs /usr/local/bin/flexus-traffic-monitor, /etc/flexus-traffic-monitor/env (mode 0600,
kept on upgrade), /var/lib/flexus-traffic-monitor, /usr/local/share/flexus-traffic-monitor
(READMEs, env.example, deploy/), and the systemd unit or a cron line. Running it again upgrades.
EOF_USAGE
}
need_arg() {
  if [ $# -lt 2 ] || [ -z "$2" ]; then die2 "$1 needs a value (see --help)" "$1 需要一个值（见 --help）"; fi
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
    --lang) need_arg "$@"; lang_given="$2"; lang="$(lang_of "$2")"; lang_flag=yes; shift 2 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die2 "unknown option '$1' (see --help)" "未知选项 '$1'（见 --help）" ;;
  esac
done

case "$init" in auto | systemd | cron | none) ;; *) die2 "--init must be systemd, cron or none, not '$init'" "--init 只能是 systemd、cron 或 none，不能是 '$init'" ;; esac
[ "$purge" = no ] || [ "$action" = uninstall ] || die2 "--purge goes with --uninstall" "--purge 要与 --uninstall 一起用"

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

# Without --lang or MESSAGE_LANG in the environment: the MESSAGE_LANG of the env file this
# installation uses (the one migrated, else the one kept).
if [ -z "${lang_flag:-}" ] && [ -z "${MESSAGE_LANG:-}" ]; then
  for f in "$migrate" "$env_file"; do
    if [ -n "$f" ] && [ -r "$f" ]; then
      v="$(sed -n "s/^[[:space:]]*MESSAGE_LANG[[:space:]]*=[[:space:]]*[\"']\{0,1\}\([A-Za-z_-]*\).*/\1/p" "$f" | tail -n 1)"
      if [ -n "$v" ]; then
        lang_given="$v"
        lang="$(lang_of "$v")"
        break
      fi
    fi
  done
fi

if [ "$real_root" = yes ] && [ "$(id -u)" != 0 ]; then
  die2 "run it as root (sudo sh install.sh), or give --root DIR to install below a directory" "请以 root 运行（sudo sh install.sh），或用 --root DIR 安装到某个目录下"
fi

# systemctl only ever runs against the real machine, never for a --root install.
systemd_running() { [ "$real_root" = yes ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }
systemctl_do() {
  if systemd_running; then
    # systemd may be present but not answering (a container, a chroot of a running system):
    # say so and go on, rather than stop half-way with the unit written and no next step.
    systemctl "$@" || say2 "  ('systemctl $*' failed: systemd is not answering here)" "  （\`systemctl $*\` 失败：这里的 systemd 没有应答）"
  elif [ "$real_root" = no ]; then
    say2 "  (not running 'systemctl $*': installing below $root)" "  （不运行 \`systemctl $*\`：正安装到 $root 下）"
  else
    say2 "  (not running 'systemctl $*': systemd is not running here)" "  （不运行 \`systemctl $*\`：这里没有运行 systemd）"
  fi
}

# Enables the unit as `systemctl enable` does (its [Install] WantedBy=multi-user.target link), for
# a root where systemctl cannot run: the unit starts when that system boots with systemd.
enable_by_link() {
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
  ln -sf "/etc/systemd/system/$NAME.service" "$root/etc/systemd/system/multi-user.target.wants/$NAME.service"
  say2 "systemd: enabled (link in /etc/systemd/system/multi-user.target.wants)" "systemd：已启用（/etc/systemd/system/multi-user.target.wants 中的链接）"
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
    say2 "cron: added an hourly 'check' to $crontabs" "cron：已在 $crontabs 中加入每小时一次的 'check'"
  else
    mkdir -p "$root/etc/cron.d"
    {
      say "$cron_mark: hourly check, like the original script."
      say "SHELL=/bin/sh"
      say "0 * * * * root $cron_command"
    } >"$cron_d.new"
    chmod 0644 "$cron_d.new"
    mv -f "$cron_d.new" "$cron_d"
    say2 "cron: installed $cron_d (hourly 'check')" "cron：已安装 $cron_d（每小时一次 'check'）"
  fi
}

uninstall() {
  say2 "removing $NAME from ${root:-/}" "正在从 ${root:-/} 删除 $NAME"
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
    say2 "removed the configuration $conf_dir, the state $state_dir and the log $log_file" "已删除配置 $conf_dir、状态 $state_dir 和日志 $log_file"
  else
    [ ! -e "$conf_dir" ] || say2 "kept the configuration $env_file (remove it with --uninstall --purge)" "保留了配置 $env_file（用 --uninstall --purge 删除）"
    [ ! -e "$state_dir" ] || say2 "kept the state $state_dir" "保留了状态 $state_dir"
  fi
  say2 "$NAME is uninstalled" "$NAME 已卸载"
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
  *) die2 "unsupported architecture '$arch': prebuilt binaries exist for x86_64 (amd64) and aarch64 (arm64, Kunpeng). On other machines build from source: cargo build --release (see the README)" "不支持的架构 '$arch'：预编译程序只有 x86_64（amd64）和 aarch64（arm64、鲲鹏）。其他机器请从源码构建：cargo build --release（见 README）" ;;
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
        die2 "this system has glibc $1.$2; the prebuilt binary needs 2.17 or newer (CentOS 7 and later)" "本系统的 glibc 是 $1.$2；预编译程序需要 2.17 或更新（CentOS 7 及以后）"
      fi
    fi
    ;;
  musl) ;;
  *) die2 "--libc must be gnu or musl, not '$libc'" "--libc 只能是 gnu 或 musl，不能是 '$libc'" ;;
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
    die2 "neither curl nor wget is installed; install one of them" "没有安装 curl 或 wget；请安装其中一个"
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
    die2 "no sha256sum, shasum or openssl to verify the download; install coreutils or openssl" "没有 sha256sum、shasum 或 openssl 来校验下载；请安装 coreutils 或 openssl"
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
    t "; if you exported FTM_BASE_URL or FTM_VERSION before sudo, sudo dropped it: give it as an option, \`curl -fsSL URL/install.sh | sudo sh -s -- --base-url URL\`, or after sudo, \`| sudo FTM_BASE_URL=URL sh\`" "；如果你在 sudo 之前 export 了 FTM_BASE_URL 或 FTM_VERSION，sudo 把它丢掉了：请作为选项给出，\`curl -fsSL URL/install.sh | sudo sh -s -- --base-url URL\`，或写在 sudo 之后，\`| sudo FTM_BASE_URL=URL sh\`"
  fi
}
if [ -z "$version" ]; then
  download "$base_url/latest/download/VERSION" "$tmp/VERSION" ||
    die2 "cannot download $base_url/latest/download/VERSION (the network, or the address, is at fault; a mirror can be given with --base-url, a version with --version)$(sudo_hint)" "无法下载 $base_url/latest/download/VERSION（网络或地址有问题；可用 --base-url 指定镜像，用 --version 指定版本）$(sudo_hint)"
  version="$(tr -d ' \r\n' <"$tmp/VERSION")"
fi
version="${version#v}"
archive="$NAME-$version-$target.tar.gz"
url="$base_url/download/v$version/$archive"

say2 "installing $NAME $version for $target into ${root:-/}" "正在安装 $NAME $version（$target）到 ${root:-/}"
say2 "downloading $url" "正在下载 $url"
download "$url" "$tmp/$archive" || die2 "download failed: $url (a release for $target and version $version must exist; a mirror can be given with --base-url)$(sudo_hint)" "下载失败：$url（必须存在 $target、版本 $version 的发布包；可用 --base-url 指定镜像）$(sudo_hint)"
download "$url.sha256" "$tmp/$archive.sha256" || die2 "download failed: $url.sha256" "下载失败：$url.sha256"

expected="$(cut -d ' ' -f 1 <"$tmp/$archive.sha256" | tr -d '\r\n')"
actual="$(sha256_of "$tmp/$archive")"
if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
  die2 "checksum mismatch for $archive: expected ${expected:-nothing}, got $actual. The download is damaged or was altered; nothing was installed" "$archive 的校验和不符：应为 ${expected:-（空）}，实际为 $actual。下载已损坏或被篡改；没有安装任何东西"
fi
say2 "checksum ok ($actual)" "校验和正确（$actual）"

mkdir "$tmp/x"
tar -xzf "$tmp/$archive" -C "$tmp/x"
src="$tmp/x/$NAME-$version-$target"
[ -x "$src/$NAME" ] || die2 "$archive does not contain $NAME-$version-$target/$NAME" "$archive 中没有 $NAME-$version-$target/$NAME"
new_version="$("$src/$NAME" --version 2>/dev/null)" || die2 "the downloaded binary does not run on this machine ($target); nothing was installed" "下载的程序无法在本机（$target）上运行；没有安装任何东西"

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
  say2 "reinstalled $new_version (it was already installed)" "已重新安装 $new_version（之前已安装）"
elif [ -n "$old_version" ]; then
  say2 "upgraded: $old_version -> $new_version" "已升级：$old_version -> $new_version"
else
  say2 "installed $new_version as ${bin#"$root"}" "已安装 $new_version 为 ${bin#"$root"}"
fi

mkdir -p "$conf_dir"
chmod 0750 "$conf_dir"
if [ -n "$migrate" ]; then
  [ -f "$migrate" ] || die2 "--migrate: no file at $migrate" "--migrate：$migrate 处没有文件"
  if [ -f "$env_file" ]; then
    cp -p "$env_file" "$env_file.before-migrate"
    say2 "saved the previous configuration as ${env_file#"$root"}.before-migrate" "已把之前的配置保存为 ${env_file#"$root"}.before-migrate"
  fi
  (umask 077 && cp "$migrate" "$env_file.new")
  mv -f "$env_file.new" "$env_file"
  say2 "imported $migrate as ${env_file#"$root"} (same variables as the Python script)" "已把 $migrate 导入为 ${env_file#"$root"}（变量与 Python 脚本相同）"
elif [ -f "$env_file" ]; then
  say2 "kept the configuration ${env_file#"$root"}" "保留了配置 ${env_file#"$root"}"
else
  (umask 077 && cp "$src/.env.example" "$env_file.new")
  mv -f "$env_file.new" "$env_file"
  say2 "created ${env_file#"$root"} from .env.example" "已从 .env.example 创建 ${env_file#"$root"}"
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
    say2 "systemd: installed ${unit#"$root"}" "systemd：已安装 ${unit#"$root"}"
    if systemd_running; then
      systemctl_do daemon-reload
      systemctl_do enable "$NAME.service"
      if systemctl is-active --quiet "$NAME.service" 2>/dev/null; then
        systemctl_do restart "$NAME.service"
        say2 "systemd: restarted the running service with the new binary" "systemd：已用新程序重启正在运行的服务"
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
      say2 "systemd: removed ${unit#"$root"} (cron runs it now)" "systemd：已删除 ${unit#"$root"}（现在由 cron 运行）"
    fi
    install_cron
    if daemon="$(cron_daemon)"; then
      say2 "cron: the daemon is /$daemon" "cron：守护进程是 /$daemon"
    else
      cron_ok=no
      say2 "cron: no cron daemon is installed here (no cron or crond), so nothing will run the hourly check:" "cron：这里没有安装 cron 守护进程（没有 cron 或 crond），不会有人每小时运行 check："
      say2 "      install one (Debian/Ubuntu: apt-get install cron; CentOS/EulerOS: yum install cronie;" "      请安装一个（Debian/Ubuntu：\`apt-get install cron\`；CentOS/EulerOS：\`yum install cronie\`；"
      say2 "      Alpine: rc-update add crond) or run the service instead (--init systemd, or serve)" "      Alpine：\`rc-update add crond\`），或改为运行服务（--init systemd，或 serve）"
    fi
    ;;
  none) say2 "no service installed (--init none)" "没有安装服务（--init none）" ;;
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
  MESSAGE_LANG="$lang" "$bin" --env-file "$env_file" config || true
  say ""
  say2 "== $NAME check (a dry run with throwaway state: it never powers the server off, and its messages are printed here, not sent) ==" "== $NAME check（用临时状态演练：绝不会关机，消息打印在这里，不会发送）=="
  scratch="$(mktemp -d "$state_dir/install-check.XXXXXX")"
  code=0
  # --no-send: trying the configuration must not wake the owner with a countdown; no countdown
  # either (SHUTDOWN_DELAY=0s), as nothing will be shut down.
  (cd "$scratch" && MESSAGE_LANG="$lang" DRY_RUN=true SHUTDOWN_DELAY=0s STATE_DIR="$scratch" "$bin" --env-file "$env_file" check --no-send >"$scratch/table") || code=$?
  cat "$scratch/table"
  # The LEVEL column of the table: a package at level 1 is one the next real run acts on.
  below=$(awk 'NR == 1 { p = index($0, "LEVEL") } NR > 1 && p { v = substr($0, p); sub(/ .*/, "", v); if (v == "1") n++ } END { print n + 0 }' "$scratch/table")
  rm -rf "$scratch"
  [ "$below" = 0 ] || acts=yes
  case "$code" in
    0) outcome=configured; say2 "check: ok" "check：正常" ;;
    1) outcome=config; say2 "check: not configured yet (see the problems above)" "check：尚未配置（见上面的问题）" ;;
    2) outcome=network; say2 "check: the configuration is read, but Huawei Cloud could not be reached (exit 2; see the error above)" "check：配置已读取，但连不上华为云（退出码 2；见上面的错误）" ;;
    3) outcome=partial; say2 "check: some packages could not be read (exit 3; see the table above)" "check：部分资源包读取失败（退出码 3；见上面的表格）" ;;
    4) outcome=state; say2 "check: the state directory could not be used (exit 4)" "check：状态目录不可用（退出码 4）" ;;
    *) outcome=failed; say2 "check failed (exit $code): read the message above" "check 失败（退出码 $code）：请看上面的提示" ;;
  esac
  if [ "$acts" = yes ]; then
    say ""
    say2 "WARNING: a package is below THRESHOLD_LEVEL_1. This check was a dry run; the next scheduled run" "警告：有资源包低于 THRESHOLD_LEVEL_1。这次 check 只是演练；下一次按计划的运行"
    say2 "(the service once started, or cron's next hourly check) will really act: SHUTDOWN_MODE decides how" "（服务启动后，或 cron 下一次每小时的 check）会真的动作：方式由 SHUTDOWN_MODE 决定"
    say2 "(default: shut the server down). If that is not wanted yet, set SHUTDOWN_MODE=off in ${env_file#"$root"} first." "（默认：关机）。如果暂时不想这样，请先在 ${env_file#"$root"} 中设置 SHUTDOWN_MODE=off。"
  fi
fi

if [ "$real_root" = yes ] && [ -n "$migrate" ] && command -v crontab >/dev/null 2>&1 &&
  crontab -l 2>/dev/null | grep -q 'start\.sh'; then
  say ""
  say2 "note: root's crontab still runs the Python script's start.sh; remove that line (crontab -e)" "注意：root 的 crontab 仍在运行 Python 脚本的 start.sh；请删除那一行（crontab -e）"
fi

conf="/etc/$NAME/env"
say ""
say2 "Next:" "接下来："
step=1
next() {
  say "  $step. $*"
  step=$((step + 1))
}
case "$outcome" in
  config)
    next "$(t "edit $conf: HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK, FREE_RESOURCE_IDS" "编辑 $conf：HUAWEICLOUD_SDK_AK、HUAWEICLOUD_SDK_SK、FREE_RESOURCE_IDS")"
    say2 "     (\`$NAME --env-file $conf discover\` prints them), TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID" "     （\`$NAME --env-file $conf discover\` 会打印它们）、TELEGRAM_BOT_TOKEN、TELEGRAM_CHAT_ID"
    say2 "     and check it: $NAME --env-file $conf config" "     然后检查：\`$NAME --env-file $conf config\`"
    ;;
  unchecked)
    next "$(t "if not done yet, fill in $conf (HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK, FREE_RESOURCE_IDS," "如果还没做，填写 $conf（HUAWEICLOUD_SDK_AK、HUAWEICLOUD_SDK_SK、FREE_RESOURCE_IDS、")"
    say2 "     TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID), then check it: $NAME --env-file $conf config" "     TELEGRAM_BOT_TOKEN、TELEGRAM_CHAT_ID），然后检查：\`$NAME --env-file $conf config\`"
    say2 "     and $NAME --env-file $conf check --no-send" "     和 \`$NAME --env-file $conf check --no-send\`"
    ;;
  network)
    next "$(t "check that this server reaches Huawei Cloud (DNS in /etc/resolv.conf, a proxy, a firewall," "确认这台服务器能连上华为云（/etc/resolv.conf 中的 DNS、代理、防火墙、")"
    say2 "     HUAWEICLOUD_BSS_ENDPOINT), then run: $NAME --env-file $conf check --no-send" "     HUAWEICLOUD_BSS_ENDPOINT），然后运行：\`$NAME --env-file $conf check --no-send\`"
    ;;
  partial)
    next "$(t "compare FREE_RESOURCE_IDS in $conf with what \`$NAME --env-file $conf discover\` lists" "把 $conf 中的 FREE_RESOURCE_IDS 与 \`$NAME --env-file $conf discover\` 列出的对照")"
    ;;
  state)
    next "$(t "make /var/lib/$NAME writable for root (or set STATE_DIR in $conf), then run the check again" "让 root 能写 /var/lib/$NAME（或在 $conf 中设置 STATE_DIR），然后再运行一次 check")"
    ;;
  failed)
    next "$(t "fix what the message above names, then run: $NAME --env-file $conf check --no-send" "修正上面提示指出的问题，然后运行：\`$NAME --env-file $conf check --no-send\`")"
    ;;
esac
case "$init" in
  systemd) next "$(t "systemctl start $NAME    (then: journalctl -u $NAME -f)" "\`systemctl start $NAME\`    （然后：\`journalctl -u $NAME -f\`）")" ;;
  cron)
    if [ "${cron_ok:-yes}" = no ]; then
      next "$(t "install and start a cron daemon: until then nothing runs 'check' (its log would be /var/log/$NAME.log)" "安装并启动一个 cron 守护进程：在此之前没有人运行 'check'（它的日志会是 /var/log/$NAME.log）")"
    else
      next "$(t "cron runs 'check' every hour; its log is /var/log/$NAME.log" "cron 每小时运行一次 'check'；日志在 /var/log/$NAME.log")"
    fi
    ;;
  none) next "$(t "run: $NAME --env-file $conf serve" "运行：\`$NAME --env-file $conf serve\`")" ;;
esac
