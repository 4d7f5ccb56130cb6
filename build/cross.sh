#!/usr/bin/env bash
# Cross-builds miniupnpc and libnatpmp for every RID this machine can produce and smoke-tests each binary on its
# target or under an emulator (design.md, "Building for other platforms").
#
#   build/cross.sh install-toolchains   Debian cross compilers, qemu-user, musl-tools, mingw-w64 (-win32), wine (root)
#   build/cross.sh build RID            ./build.sh native --rid RID, then the smoke program for RID
#   build/cross.sh smoke RID            exports, imports, upstream's C tests where they can run, and the smoke program
#   build/cross.sh test [RID...]        smoke every RID already built (default: all this host can build) and print a summary
#   build/cross.sh all                  install-toolchains, build and smoke every RID this host can build
#
# Options (any verb): --junit FILE   also write the results as a JUnit file (one testsuite), for build.sh's totals.
#
# RIDs: on Debian x86_64: linux-x64 linux-arm64 linux-musl-x64 win-x64 win-x86 (win-x86 cannot run here: 32-bit wine
# needs the i386 architecture, which must never be added on these machines; its exports and imports are checked with
# objdump, and the hosted-CI workflow runs its smoke program on Windows). On macOS: osx-arm64 osx-x64 (x64 runs under
# Rosetta on Apple silicon). On Windows (Git Bash, in CI): win-x64 win-x86 smoke programs built on Linux.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARTIFACTS="$ROOT/artifacts"
SRC="$ARTIFACTS/src/miniupnpc-2.3.3"
NATPMP_SRC="$ARTIFACTS/src/libnatpmp-20230423"
TESTDESC_XML="new_LiveBox_desc.xml"
TESTDESC_VALUES="new_LiveBox_desc.values"
WINE_PREFIX_DIR="$ARTIFACTS/wine"

DIE_PREFIX="cross.sh:"
# say, die, have, now, elapsed, host_os, host_rid, buildable_rids, ensure_packages
source "$ROOT/build/common.sh"

# Debian packages per RID (verified on Debian 12, design.md). Never the i386 architecture.
PKGS_COMMON="cmake ninja-build gcc libc6-dev binutils"
pkgs_for() {
  case "$1" in
    linux-x64) echo "" ;;
    linux-arm64) echo "gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu qemu-user" ;;
    linux-musl-x64) echo "musl-tools" ;;
    win-x64) echo "gcc-mingw-w64-x86-64-win32 binutils-mingw-w64-x86-64 wine wine64" ;;
    win-x86) echo "gcc-mingw-w64-i686-win32 binutils-mingw-w64-i686" ;;
    *) echo "" ;;
  esac
}

# ---------- results (printed, and optionally written as JUnit) ----------
JUNIT=""
RESULT_NAMES=(); RESULT_STATUS=(); RESULT_TIMES=(); RESULT_TEXT=()
record() { # name status(pass|fail|skip) seconds text
  RESULT_NAMES+=("$1"); RESULT_STATUS+=("$2"); RESULT_TIMES+=("$3"); RESULT_TEXT+=("$4")
  local tag
  case "$2" in pass) tag=PASS ;; fail) tag=FAIL ;; *) tag=SKIP ;; esac
  printf '%-5s %s (%ss)%s\n' "$tag" "$1" "$3" "${4:+: $(printf '%s' "$4" | head -1)}"
  # A failure also shows the lines that say why.
  if [ "$2" = fail ]; then
    printf '%s\n' "$4" | grep -iE 'error|fail|unexpected|neither public|not exported|expected [0-9]+|no runner|cannot|lacks' | grep -v '^Errors while running CTest' |
      head -8 | sed 's/^[[:space:]]*/      /'
  fi
}
xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }
write_junit() {
  [ -n "$JUNIT" ] || return 0
  local n=${#RESULT_NAMES[@]} failures=0 skipped=0 i
  for ((i = 0; i < n; i++)); do
    [ "${RESULT_STATUS[$i]}" = fail ] && failures=$((failures + 1))
    [ "${RESULT_STATUS[$i]}" = skip ] && skipped=$((skipped + 1))
  done
  mkdir -p "$(dirname "$JUNIT")"
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo "<testsuite name=\"cross\" tests=\"$n\" failures=\"$failures\" errors=\"0\" skipped=\"$skipped\">"
    for ((i = 0; i < n; i++)); do
      printf '  <testcase classname="cross" name="%s" time="%s">' "$(printf '%s' "${RESULT_NAMES[$i]}" | xml_escape)" "${RESULT_TIMES[$i]}"
      case "${RESULT_STATUS[$i]}" in
        fail) printf '<failure message="failed">%s</failure>' "$(printf '%s' "${RESULT_TEXT[$i]}" | xml_escape)" ;;
        skip) printf '<skipped message="%s"/>' "$(printf '%s' "${RESULT_TEXT[$i]}" | head -1 | xml_escape)" ;;
        *) printf '<system-out>%s</system-out>' "$(printf '%s' "${RESULT_TEXT[$i]}" | xml_escape)" ;;
      esac
      echo '</testcase>'
    done
    echo '</testsuite>'
  } >"$JUNIT"
}
summary() {
  local n=${#RESULT_NAMES[@]} p=0 f=0 s=0 i
  for ((i = 0; i < n; i++)); do
    case "${RESULT_STATUS[$i]}" in pass) p=$((p + 1)) ;; fail) f=$((f + 1)) ;; *) s=$((s + 1)) ;; esac
  done
  write_junit
  echo "cross: $p passed, $f failed, $s skipped"
  [ "$f" -eq 0 ]
}

# Runs a check, records it. Usage: check NAME command...   (stdout+stderr become the record's text)
check() {
  local name="$1" out rc t0 t1; shift
  t0=$(now)
  set +e; out=$("$@" 2>&1); rc=$?; set -e
  local secs; secs=$(elapsed "$t0")
  if [ $rc -eq 0 ]; then record "$name" pass "$secs" "$out"; else record "$name" fail "$secs" "$out"; fi
  [ -z "${CROSS_VERBOSE:-}" ] || printf '%s\n' "$out" | sed 's/^/      /'
  return 0
}

# ---------- toolchains ----------
install_toolchains() {
  local pkgs="$PKGS_COMMON" rid
  for rid in $(buildable_rids); do pkgs="$pkgs $(pkgs_for "$rid")"; done
  [ "$(host_os)" = linux ] && [ -f /etc/debian_version ] || { say "install-toolchains: nothing to install on $(host_os)"; return 0; }
  # shellcheck disable=SC2086
  ensure_packages $pkgs
  say "install-toolchains: all present"
}

# ---------- build ----------
toolchain_file() { echo "$ROOT/cmake/toolchains/$1.cmake"; }

# The smoke programs for RID, built with the same toolchain file as the libraries: artifacts/smoke/<rid>/smoke[.exe]
# (miniupnpc) and natpmp_smoke[.exe] (libnatpmp).
build_smoke() {
  local rid="$1" bdir="$ARTIFACTS/smoke/$1" args=()
  [ -d "$SRC/include" ] || die "no miniupnpc headers in $SRC/include: run ./build.sh native first"
  [ -f "$NATPMP_SRC/natpmp.h" ] || die "no libnatpmp header in $NATPMP_SRC: run ./build.sh native first"
  have ninja && args+=(-G Ninja)
  if [ "$rid" != "$(host_rid)" ]; then
    [ -f "$(toolchain_file "$rid")" ] || die "no toolchain file cmake/toolchains/$rid.cmake"
    args+=("-DCMAKE_TOOLCHAIN_FILE=$(toolchain_file "$rid")")
  fi
  cmake -S "$ROOT/native/smoke" -B "$bdir" "${args[@]+"${args[@]}"}" -DCMAKE_BUILD_TYPE=Release \
    "-DMINIUPNPC_INCLUDE_DIR=$SRC/include" "-DLIBNATPMP_INCLUDE_DIR=$NATPMP_SRC" >/dev/null || return 1
  cmake --build "$bdir" >/dev/null || return 1
}

build_rid() {
  local rid="$1" t0
  t0=$(now)
  # (Explicit returns: this also runs where errexit is off, as the condition of an if.)
  "$ROOT/build.sh" native --rid "$rid" || return 1
  [ -f "$(lib_of "$rid")" ] || { echo "no $(lib_of "$rid") after the build" >&2; return 1; }
  [ -f "$(natpmp_lib_of "$rid")" ] || { echo "no $(natpmp_lib_of "$rid") after the build" >&2; return 1; }
  build_smoke "$rid" || return 1
  say "build $rid: $(elapsed "$t0") s"
}

# ---------- checks ----------
lib_of() {
  case "$1" in
    win-*) echo "$ARTIFACTS/native/$1/libminiupnpc.dll" ;;
    osx-*) echo "$ARTIFACTS/native/$1/libminiupnpc.dylib" ;;
    *) echo "$ARTIFACTS/native/$1/libminiupnpc.so" ;;
  esac
}
natpmp_lib_of() { local m; m="$(lib_of "$1")"; echo "${m%/libminiupnpc.*}/libnatpmp.${m##*.}"; }
smoke_exe() { case "$1" in win-*) echo "$ARTIFACTS/smoke/$1/smoke.exe" ;; *) echo "$ARTIFACTS/smoke/$1/smoke" ;; esac; }
natpmp_smoke_exe() { local e; e="$(smoke_exe "$1")"; echo "${e%/smoke*}/natpmp_${e##*/}"; }

tool_for() { # RID TOOL -> the binutils program that reads RID's binaries
  case "$1/$2" in
    linux-arm64/*) echo "aarch64-linux-gnu-$2" ;;
    win-x64/*) echo "x86_64-w64-mingw32-$2" ;;
    win-x86/*) echo "i686-w64-mingw32-$2" ;;
    *) echo "$2" ;;
  esac
}

# All 41 MINIUPNP_LIBSPEC functions exported, nothing unexpected (the project's own CheckExports.cmake).
check_exports() {
  local rid="$1"
  cmake -D "OUTPUT_DIR=$ARTIFACTS/native/$rid" -D "HEADERS_DIR=$SRC/include" \
    -D "KNOWN_INTERNALS=$ROOT/native/known-internal-exports.txt" \
    -D "NM=$(command -v "$(tool_for "$rid" nm)" || true)" -D "OBJDUMP=$(command -v "$(tool_for "$rid" objdump)" || true)" \
    -P "$ROOT/cmake/CheckExports.cmake"
}

# All 7 NATPMP_LIBSPEC functions of natpmp.h exported, nothing unexpected (the same CheckExports.cmake).
check_natpmp_exports() {
  local rid="$1"
  cmake -D "OUTPUT_DIR=$ARTIFACTS/native/$rid" -D "HEADERS_DIR=$NATPMP_SRC" -D HEADERS_GLOB=natpmp.h \
    -D LIBRARY=libnatpmp -D LIBSPEC=NATPMP_LIBSPEC -D PUBLIC_COUNT=7 \
    -D "KNOWN_INTERNALS=$ROOT/native/libnatpmp/known-internal-exports.txt" \
    -D "NM=$(command -v "$(tool_for "$rid" nm)" || true)" -D "OBJDUMP=$(command -v "$(tool_for "$rid" objdump)" || true)" \
    -P "$ROOT/cmake/CheckExports.cmake"
}

# The library links nothing a plain target machine lacks.
#   Windows: only system DLLs (no libgcc_s_*, libwinpthread-1, no UCRT/VC runtime DLLs);
#   Linux (glibc): libc.so.6 only (and ld-linux); musl: libc.so only (musl's loader maps it to itself);
#   macOS: /usr/lib/libSystem.B.dylib only (and its own install name).
check_imports() { # RID [LIBRARY]   (default: RID's libminiupnpc)
  local rid="$1" lib="${2:-$(lib_of "$1")}"
  local allowed deps bad=""
  case "$rid" in
    win-*)
      deps=$("$(tool_for "$rid" objdump)" -p "$lib" | sed -n 's/^[[:space:]]*DLL Name: //p' | tr -d '\r')
      allowed="iphlpapi.dll kernel32.dll msvcrt.dll ws2_32.dll" ;;
    linux-musl-*)
      deps=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
      allowed="libc.so" ;;
    linux-*)
      deps=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
      allowed="libc.so.6 ld-linux-x86-64.so.2 ld-linux-aarch64.so.1" ;;
    osx-*)
      deps=$(otool -L "$lib" | tail -n +2 | awk '{print $1}' | grep -v 'libminiupnpc\|libnatpmp')
      allowed="/usr/lib/libSystem.B.dylib" ;;
  esac
  local d
  for d in $deps; do
    case " $allowed " in *" $(printf '%s' "$d" | tr 'A-Z' 'a-z') "*) ;; *) bad="$bad $d" ;; esac
  done
  echo "imports:" $deps
  case "$rid" in
    linux-x64|linux-arm64)
      # The newest glibc symbol version the library needs: the oldest glibc it runs on.
      echo "newest glibc symbol version:" \
        "$(objdump -T "$lib" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -t. -k1,1 -k2,2n -k3,3n -V | tail -1)" ;;
  esac
  [ -z "$bad" ] || { echo "unexpected dependencies:$bad"; return 1; }
}

# 64-bit wine in the project's own prefix under artifacts/ (the same runner CTest uses, see win-x64.cmake).
WINE_RUN="$ROOT/cmake/toolchains/wine64-run.sh"
wine_env() { echo "WINEPREFIX=$WINE_PREFIX_DIR/$1" "WINEDEBUG=-all" "WINEDLLOVERRIDES=mscoree,mshtml=;winemenubuilder.exe=d"; }
# One persistent wineserver per run (each wine start otherwise pays about 3 s); ended by wine_stop, scoped to the prefix.
# wineboot starts the prefix's background services (creating the prefix the first time) with their output on /dev/null:
# started by a test program instead, they would keep its captured output open.
wine_start() {
  mkdir -p "$WINE_PREFIX_DIR/$1"
  env $(wine_env "$1") wineserver -p </dev/null >/dev/null 2>&1 || true
  env $(wine_env "$1") "$WINE_RUN" wineboot </dev/null >/dev/null 2>&1 || true
}
wine_stop() { env $(wine_env "$1") wineserver -k </dev/null >/dev/null 2>&1 || true; }
winpath() { local p="$1"; printf 'Z:%s' "${p//\//\\}"; }

# The smoke program on RID's target, or under the emulator this host has for it.
run_smoke() {
  local rid="$1" lib xml values exe; lib="$(lib_of "$rid")"; exe="$(smoke_exe "$rid")"
  xml="$SRC/testdesc/$TESTDESC_XML"; values="$SRC/testdesc/$TESTDESC_VALUES"
  [ -x "$exe" ] || [ -f "$exe" ] || { echo "no smoke program $exe: run build/cross.sh build $rid"; return 1; }
  case "$(host_os)/$rid" in
    linux/linux-x64) "$exe" "$lib" "$xml" "$values" ;;
    linux/linux-arm64) qemu-aarch64 -L /usr/aarch64-linux-gnu "$exe" "$lib" "$xml" "$values" ;;
    linux/linux-musl-x64) /lib/ld-musl-x86_64.so.1 "$exe" "$lib" "$xml" "$values" ;;
    linux/win-x64)
      # Our own prefix under artifacts/, no Mono/Gecko prompts, no debug noise. The wineserver of this prefix is
      # ended right after (wineserver -k, scoped to the prefix).
      local rc=0 out
      wine_start x64
      out=$(env $(wine_env x64) "$WINE_RUN" "$(winpath "$exe")" "$(winpath "$lib")" "$(winpath "$xml")" "$(winpath "$values")" 2>&1) || rc=$?
      printf '%s\n' "$out" | tr -d '\r'
      wine_stop x64
      return $rc ;;
    windows/win-*|osx/osx-"$(uname -m | sed 's/x86_64/x64/')")
      "$exe" "$lib" "$xml" "$values" | tr -d '\r' ;;
    osx/osx-x64) arch -x86_64 "$exe" "$lib" "$xml" "$values" ;;
    *) echo "no runner for $rid on $(host_os)"; return 2 ;;
  esac
}

# libnatpmp's smoke program on RID's target, or under the emulator this host has for it.
run_natpmp_smoke() {
  local rid="$1" lib exe; lib="$(natpmp_lib_of "$rid")"; exe="$(natpmp_smoke_exe "$rid")"
  [ -f "$exe" ] || { echo "no smoke program $exe: run build/cross.sh build $rid"; return 1; }
  case "$(host_os)/$rid" in
    linux/linux-x64) "$exe" "$lib" ;;
    linux/linux-arm64) qemu-aarch64 -L /usr/aarch64-linux-gnu "$exe" "$lib" ;;
    linux/linux-musl-x64) /lib/ld-musl-x86_64.so.1 "$exe" "$lib" ;;
    linux/win-x64)
      local rc=0 out
      wine_start x64
      out=$(env $(wine_env x64) "$WINE_RUN" "$(winpath "$exe")" "$(winpath "$lib")" 2>&1) || rc=$?
      printf '%s\n' "$out" | tr -d '\r'
      wine_stop x64
      return $rc ;;
    windows/win-*|osx/osx-"$(uname -m | sed 's/x86_64/x64/')") "$exe" "$lib" | tr -d '\r' ;;
    osx/osx-x64) arch -x86_64 "$exe" "$lib" ;;
    *) echo "no runner for $rid on $(host_os)"; return 2 ;;
  esac
}

# Upstream's own C tests for the cross target, through CMAKE_CROSSCOMPILING_EMULATOR (qemu-aarch64, the musl loader,
# wine64). Its shell-script cases exec target binaries directly: without binfmt they fail or hang, so they are left
# out for foreign architectures; the timeout bounds everything else.
run_ctest() {
  local rid="$1" exclude="" bdir="$ARTIFACTS/cmake/$1"
  [ -d "$bdir" ] || { echo "no build tree $bdir"; return 1; }
  case "$rid" in
    linux-arm64|win-x64) exclude='validateminiwget|validateupnpreplyparse' ;;
    win-x86) exclude='validate' ;; # no runner for 32-bit Windows programs here
  esac
  local rc=0
  if [ "$rid" = win-x64 ]; then
    wine_start x64
    env $(wine_env x64) ctest --test-dir "$bdir" --timeout 60 ${exclude:+-E "$exclude"} --output-on-failure || rc=$?
    wine_stop x64
  else
    ctest --test-dir "$bdir" --timeout 60 ${exclude:+-E "$exclude"} --output-on-failure || rc=$?
  fi
  return $rc
}

smoke_rid() {
  local rid="$1"
  [ -f "$(lib_of "$rid")" ] || { record "$rid build" fail 0 "no $(lib_of "$rid"): run build/cross.sh build $rid"; return 0; }
  case "$(host_os)" in
    linux|osx)
      check "$rid exports (41 public functions)" check_exports "$rid"
      check "$rid imports" check_imports "$rid"
      check "$rid libnatpmp exports (7 public functions)" check_natpmp_exports "$rid"
      check "$rid libnatpmp imports" check_imports "$rid" "$(natpmp_lib_of "$rid")"
      # The host RID's CTest run is the test command's own (./build.sh test); the others' run here.
      if [ "$rid" != "$(host_rid)" ] || [ -n "${CROSS_HOST_CTEST:-}" ]; then
        check "$rid upstream C tests and ours (ctest)" run_ctest "$rid"
      fi ;;
  esac
  if [ "$(host_os)/$rid" = linux/win-x86 ]; then
    record "$rid smoke program" skip 0 "32-bit Windows programs cannot run here (no i386 wine); the hosted-CI Windows job runs it"
    record "$rid libnatpmp smoke program" skip 0 "32-bit Windows programs cannot run here (no i386 wine); the hosted-CI Windows job runs it"
  elif [ "$(host_os)/$rid/$(uname -m)" = osx/osx-arm64/x86_64 ]; then
    record "$rid smoke program" skip 0 "arm64 programs cannot run on an Intel Mac"
    record "$rid libnatpmp smoke program" skip 0 "arm64 programs cannot run on an Intel Mac"
  else
    check "$rid smoke program" run_smoke "$rid"
    check "$rid libnatpmp smoke program" run_natpmp_smoke "$rid"
  fi
}

# ---------- main ----------
main() {
  local args=() a
  while [ $# -gt 0 ]; do
    case "$1" in
      --junit) JUNIT="$2"; shift 2 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  set -- "${args[@]+"${args[@]}"}"
  local verb="${1:-help}"; [ $# -gt 0 ] && shift
  case "$verb" in
    install-toolchains) install_toolchains ;;
    build) [ $# -ge 1 ] || die "build RID"; for a in "$@"; do build_rid "$a"; done ;;
    smoke) [ $# -ge 1 ] || die "smoke RID"; for a in "$@"; do smoke_rid "$a"; done; summary ;;
    test)
      local rids="${*:-$(buildable_rids)}"
      for a in $rids; do smoke_rid "$a"; done
      summary ;;
    all)
      install_toolchains
      for a in $(buildable_rids); do
        local t0; t0=$(now)
        if (build_rid "$a"); then record "$a build" pass "$(elapsed "$t0")" ""; else record "$a build" fail "$(elapsed "$t0")" "build failed"; fi
      done
      for a in $(buildable_rids); do smoke_rid "$a"; done
      summary ;;
    help|-h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown verb '$verb' (install-toolchains | build RID | smoke RID | test [RID...] | all)" ;;
  esac
}
main "$@"
