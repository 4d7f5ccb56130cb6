# Shell helpers shared by build.sh, build/cross.sh, build/pack.sh, tests/packaging/consume.sh and bench/run.sh.
# Sourced, not run. The sourcing script sets DIE_PREFIX (what its error messages start with) first, and ROOT.
# shellcheck shell=bash

say() { printf '==> %s\n' "$*"; }
die() { printf '%s %s\n' "${DIE_PREFIX:-$(basename "$0"):}" "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# Seconds with a fraction where date has %N (GNU); whole seconds elsewhere (macOS).
now() { local t; t=$(date +%s.%N); case "$t" in *N) date +%s ;; *) echo "$t" ;; esac; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Paths handed to dotnet (a native Windows program under Git Bash) must be Windows paths there.
native_path() { if have cygpath; then cygpath -m "$1"; else printf '%s' "$1"; fi; }

host_os() {
  case "$(uname -s)" in
    Linux) echo linux ;;
    Darwin) echo osx ;;
    MINGW*|MSYS*|CYGWIN*) echo windows ;;
    *) die "unsupported host $(uname -s)" ;;
  esac
}

# The .NET runtime identifier of this machine: linux-x64, linux-musl-arm64, osx-arm64, win-x64 (Git Bash), ...
host_rid() {
  local os arch
  case "$(host_os)" in
    linux) os=linux; if ldd --version 2>&1 | grep -qi musl; then os=linux-musl; fi ;;
    osx) os=osx ;;
    windows) os=win ;;
  esac
  case "$(uname -m)" in
    x86_64|amd64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "unsupported architecture $(uname -m)" ;;
  esac
  echo "$os-$arch"
}

# The RIDs this host builds (build/cross.sh; ./build.sh pack packs them all). Debian x86_64: cross toolchains for
# five; macOS: both architectures; Windows: the two Windows ones; elsewhere the host's own.
buildable_rids() {
  case "$(host_os)/$(uname -m)" in
    linux/x86_64) if [ -f /etc/debian_version ]; then echo "linux-x64 linux-arm64 linux-musl-x64 win-x64 win-x86"; else host_rid; fi ;;
    osx/*) echo "osx-arm64 osx-x64" ;;
    windows/*) echo "win-x64 win-x86" ;;
    *) host_rid ;;
  esac
}

# Installs the Debian packages named (apt, as root) that are not installed yet; not root: dies with the command to
# run; not Debian: dies naming them. `apt-get update` only when a first install attempt fails.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -f /etc/debian_version ] && [ "$(id -u)" = 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
  elif [ -f /etc/debian_version ]; then
    die "missing packages; run: sudo apt-get install --no-install-recommends ${missing[*]}"
  else
    die "missing prerequisites (Debian names: ${missing[*]}); install their equivalents for your OS"
  fi
}
