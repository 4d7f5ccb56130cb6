#!/usr/bin/env bash
# Consumption test: installs MiniUpnp.Net from the packed .nupkg files the way a user would, in a temporary folder
# outside the repository (so none of the repo's MSBuild settings apply), and runs it:
#   1. `dotnet new console`, `dotnet add package MiniUpnp.Net` from artifacts/packages only
#      (packageSourceMapping: MiniUpnp.Net* can come from nowhere else; other packages, such as the ILCompiler, from
#      the normal feed), into a package cache of its own under artifacts/ from which our packages are removed first;
#   2. `dotnet run` (JIT): strupnperror(718) and parserootdesc on upstream's testdesc/new_LiveBox_desc.xml;
#   3. `dotnet tool install MiniUpnp.Net.Tool` from the same feed: upnpc-net runs miniupnpc from its own runtimes/;
#   4. `dotnet publish -r <host rid> -p:PublishAot=true`: no IL2xxx/IL3xxx warning may mention MiniUpnp, then the
#      native executable must pass the same checks.
# Prints "consume: PASS" or "consume: FAIL ..." and exits non-zero on failure.
#
#   tests/packaging/consume.sh [--version V] [--rid RID] [--no-aot] [--junit FILE] [--keep]
# Needs: build/pack.sh run first; for NativeAOT on Linux: clang and zlib1g-dev (installed here when root on Debian).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ARTIFACTS="$ROOT/artifacts"
FEED="$ARTIFACTS/packages"
SRC="$ARTIFACTS/src/miniupnpc-2.3.3"
NUGET_FEED="${MINIUPNPNET_NUGET_FEED:-https://api.nuget.org/v3/index.json}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The consumer must get the library from its package, never from an override.
unset MINIUPNPNET_NATIVE_LIBRARY

DIE_PREFIX="consume: FAIL"
# say, die, have, now, native_path, host_rid
source "$ROOT/build/common.sh"
SUITE=packaging
# record, write_junit, step, unavailable, write_nuget_config
source "$ROOT/tests/packaging/steps.sh"

version="" rid="" aot=1 junit="" keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="$2"; shift 2 ;;
    --rid) rid="$2"; shift 2 ;;
    --no-aot) aot=0; shift ;;
    --junit) junit="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--version V] [--rid RID] [--no-aot] [--junit FILE] [--keep]" >&2; exit 2 ;;
  esac
done

# The consumer's own package cache, under artifacts/ (kept between runs for the ILCompiler and reference packs).
export NUGET_PACKAGES="$(native_path "${MINIUPNPNET_NUGET_PACKAGES:-$ARTIFACTS/nuget-packages}")"
exe_suffix() { case "$1" in win-*) echo .exe ;; *) echo "" ;; esac; }

[ -n "$rid" ] || rid="$(host_rid)"
command -v dotnet >/dev/null 2>&1 || die "the .NET SDK is required"
[ -f "$SRC/testdesc/new_LiveBox_desc.xml" ] || die "no $SRC/testdesc: run ./build.sh native first"
if [ -z "$version" ]; then
  # The newest MiniUpnp.Net package in the feed.
  f=$(ls -t "$FEED"/MiniUpnp.Net.[0-9]*.nupkg 2>/dev/null | head -1 || true)
  [ -n "$f" ] || die "no MiniUpnp.Net package in $FEED: run build/pack.sh first"
  version=$(basename "$f" .nupkg); version=${version#MiniUpnp.Net.}
fi
[ -f "$FEED/MiniUpnp.Net.$version.nupkg" ] || die "no $FEED/MiniUpnp.Net.$version.nupkg"

if [ $aot = 1 ] && [ "$(uname -s)" = Linux ]; then
  # NativeAOT links with clang and needs zlib (Debian: clang, zlib1g-dev).
  missing=()
  command -v clang >/dev/null 2>&1 || missing+=(clang)
  [ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ -f /etc/debian_version ] && [ "$(id -u)" = 0 ]; then
      say "installing ${missing[*]} (NativeAOT)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
    else
      die "NativeAOT needs ${missing[*]} (Debian: apt-get install ${missing[*]})"
    fi
  fi
fi

# ---------- results (steps.sh) ----------
finish() {
  write_junit
  if [ $keep = 0 ] && [ -n "${WORK:-}" ]; then rm -rf "$WORK"; fi
  if [ $failed = 0 ]; then echo "consume: PASS (MiniUpnp.Net $version, ${#names[@]} steps)"; else echo "consume: FAIL ($failed of ${#names[@]} steps failed)"; fi
}
trap finish EXIT

# The folder's name must not contain "miniupnp": warnings about the consumer's own code carry its path.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/nupkg-consumer.XXXXXX")"
LOG="$WORK/step.log"
APP="$WORK/Consumer"
mkdir -p "$NUGET_PACKAGES"
# A cached copy of the same version would hide a rebuilt package: our packages always come fresh from the feed.
rm -rf "$NUGET_PACKAGES"/miniupnp.net "$NUGET_PACKAGES"/miniupnp.net.native.*

write_nuget_config "$WORK" "$FEED" "$NUGET_FEED"

say "consume: MiniUpnp.Net $version in $WORK ($rid)"
xml="$(native_path "$SRC/testdesc/new_LiveBox_desc.xml")"; values="$(native_path "$SRC/testdesc/new_LiveBox_desc.values")"

create() {
  (cd "$WORK" && dotnet new console -n Consumer -o Consumer) &&
  cp "$ROOT/tests/packaging/Consumer/Program.cs" "$APP/Program.cs" &&
  # NativeAOT analyses only what it compiles: rooting the whole library makes the warning check cover all of it,
  # not just the two functions this program calls.
  sed -i.bak 's|</Project>|  <ItemGroup><TrimmerRootAssembly Include="MiniUpnp.Net" /></ItemGroup></Project>|' "$APP/Consumer.csproj" &&
  (cd "$APP" && dotnet add package MiniUpnp.Net --version "$version") &&
  # The package came from the local feed, with its runtime packages.
  grep -q "\"MiniUpnp.Net/$version\"" "$APP/obj/project.assets.json" &&
  grep -q "\"MiniUpnp.Net.Native.$rid/$version\"" "$APP/obj/project.assets.json"
}
step "install MiniUpnp.Net $version from the local feed (dotnet new console + dotnet add package)" create || exit 1

run_jit() {
  (cd "$APP" && dotnet run -c Release -- "$xml" "$values") >"$WORK/jit.out" 2>&1; local rc=$?
  cat "$WORK/jit.out"
  [ $rc = 0 ] && grep -q '^consumer: PASS (JIT' "$WORK/jit.out"
}
step "dotnet run (JIT)" run_jit || true
grep '^consumer: ' "$LOG" | sed 's/^/    /' || true

# The tool: `dotnet tool install` from the same feed; it must run miniupnpc from its own runtimes/<rid>/native/ (the
# runtime package's library, not one copied from the packing machine). A description URL nobody serves on loopback
# gets upnpc's own answer, which only a loaded miniupnpc gives.
tool_run() {
  local store out
  dotnet tool install MiniUpnp.Net.Tool --version "$version" --tool-path "$(native_path "$WORK/tool")" \
    --configfile "$(native_path "$WORK/NuGet.config")" || return 1
  store="$WORK/tool/.store/miniupnp.net.tool/$version/miniupnp.net.tool/$version/tools"
  ls "$store"/*/any/runtimes/"$rid"/native/ || return 1
  out=$("$WORK/tool/upnpc-net$(exe_suffix "$rid")" -u http://127.0.0.1:9/rootDesc.xml -s 2>&1); echo "$out"
  grep -q 'No valid UPNP Internet Gateway Device found' <<<"$out"
}
step "dotnet tool install MiniUpnp.Net.Tool $version, then upnpc-net runs miniupnpc from its runtimes/$rid/native/" tool_run || true

if [ $aot = 1 ]; then
  publish_aot() {
    # TrimmerSingleWarn=false: a package's warnings in full, not one IL2104 "assembly produced trim warnings".
    (cd "$APP" && dotnet publish -c Release -r "$rid" -p:PublishAot=true -p:TrimmerSingleWarn=false -o "$WORK/aot") \
      >"$WORK/publish.out" 2>&1; local rc=$?
    cat "$WORK/publish.out"
    [ $rc = 0 ] || return 1
    # Any trimming (IL2xxx) or AOT (IL3xxx) warning that mentions our assemblies fails the test.
    local ours all
    # (MSBuild appends " [<project file>]" to each line: that is the consumer, not the origin of the warning.)
    ours=$(grep -E 'warning IL[23][0-9]{3}' "$WORK/publish.out" | sed 's/ \[[^]]*\]$//' | grep -i 'miniupnp' | sort -u || true)
    all=$(grep -E 'warning IL[23][0-9]{3}' "$WORK/publish.out" | sort -u | grep -c . || true)
    echo "trim/AOT warnings: $all in total, $(printf '%s' "$ours" | grep -c . || true) from MiniUpnp.Net"
    [ -z "$ours" ]
  }
  step "dotnet publish -r $rid -p:PublishAot=true (no trim/AOT warning from MiniUpnp.Net)" publish_aot || true
  grep -E 'warning IL[23][0-9]{3}|^trim/AOT warnings' "$LOG" | sort -u | sed 's/^/    /' | head -20 || true
  run_aot() {
    ls -la "$WORK/aot" && "$WORK/aot/Consumer$(exe_suffix "$rid")" "$xml" "$values" | grep '^consumer: PASS (NativeAOT'
  }
  step "run the NativeAOT executable" run_aot || true
  grep '^consumer: ' "$LOG" | sed 's/^/    /' || true
fi
[ $failed = 0 ]
