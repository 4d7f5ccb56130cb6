#!/usr/bin/env bash
# The Mono step: proves the package's lib/netstandard2.0 works on Mono (Unity's scripting runtime; .NET Framework 4.7.2+
# loads the same assembly), run against the IGD lab's real router.
# In a temporary folder outside the repository (so none of the repo's MSBuild settings apply), as consume.sh does:
#   1. tests/packaging/MonoConsumer/ (net472 and net10.0) built against MiniUpnp.Net from artifacts/packages only
#      (packageSourceMapping; everything else from the normal feed, Microsoft.NETFramework.ReferenceAssemblies 1.0.3
#      for net472): the net472 build must have taken lib/netstandard2.0/MiniUpnp.Net.dll, net10.0 lib/net10.0;
#   2. the ABI guard under Mono: Debian's API 17 miniupnpc (libminiupnpc17, as the NUnit suite's guard test uses),
#      first on LD_LIBRARY_PATH as libminiupnpc.so, must be refused with IncompatibleNativeLibraryException before any call;
#   3. its own IGD lab (tests/lab/lab.sh up --id monoNNN), then inside its lan namespace the program on .NET 10
#      (linux-x64, the reference) and under `mono` (net472), libminiupnpc.so and libnatpmp.so found as a Mono user
#      finds them: LD_LIBRARY_PATH at the MiniUpnp.Net.Native.linux-x64 package's runtimes/linux-x64/native/.
#      conformance.py's sequence through the faithful UPnP port, miniwget, discovery, add, get, AddAny, list, delete,
#      a lease renewed then disposed, NAT-PMP through libnatpmp, the port mapper over PCP and NAT-PMP. Both must pass
#      their own checks and print the same lines (only the "platform:" lines differ).
#
#   tests/packaging/mono.sh [--version V] [--junit FILE] [--keep]
# Needs: build/pack.sh run first (linux-x64 among the RIDs); root (network namespaces), the lab's packages
# (iproute2 nftables miniupnpd-nftables python3), libminiupnpc17, and Mono 6.8 (Debian: mono-runtime libmono-system-core4.0-cil
# libmono-system4.0-cil, plus mono-devel, the Debian package that holds Mono's 4.5/Facades/netstandard.dll without which
# no netstandard2.0 assembly loads), installed here when root on Debian.
# A missing prerequisite skips the step, except under CI=true, where it is a failure.
# Prints "mono: PASS ..." or "mono: FAIL ..." and exits non-zero on failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ARTIFACTS="$ROOT/artifacts"
FEED="$ARTIFACTS/packages"
NUGET_FEED="${MINIUPNPNET_NUGET_FEED:-https://api.nuget.org/v3/index.json}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The programs must get the library from their packages, never from an override.
unset MINIUPNPNET_NATIVE_LIBRARY MINIUPNPNET_NATPMP_LIBRARY

DIE_PREFIX="mono: FAIL"
# say, die, have, now, elapsed, native_path, ensure_packages
source "$ROOT/build/common.sh"
SUITE=mono
# record, write_junit, step, unavailable, write_nuget_config
source "$ROOT/tests/packaging/steps.sh"

version="" junit="" keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="$2"; shift 2 ;;
    --junit) junit="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--version V] [--junit FILE] [--keep]" >&2; exit 2 ;;
  esac
done

export NUGET_PACKAGES="$(native_path "${MINIUPNPNET_NUGET_PACKAGES:-$ARTIFACTS/nuget-packages}")"
BASE_PORT=45000
# Bounds (seconds): the build, every program run.
T_BUILD=600 T_RUN=180

# ---------- clean-up: the lab, the work folder ----------
WORK="" LAB_ID="" failed=0 started=$(now)
finish() {
  local rc=$?
  # Ended early by something other than a recorded step (a die, a signal): one failure, so that CI counts it.
  if [ $rc != 0 ] && [ $failed = 0 ]; then record "mono.sh ended early (exit $rc)" fail 0 "see its output"; failed=1; fi
  if [ -n "$LAB_ID" ]; then timeout 60 "$ROOT/tests/lab/lab.sh" down --id "$LAB_ID" >/dev/null 2>&1 || true; fi
  if [ $keep = 0 ] && [ -n "$WORK" ]; then rm -rf "$WORK"; fi
  write_junit
  local took; took=$(elapsed "$started")
  if [ $failed = 0 ] && [ $rc = 0 ] && [ "${states[0]:-}" = skip ]; then echo "mono: SKIP (${texts[0]})"
  elif [ $failed = 0 ] && [ $rc = 0 ]; then echo "mono: PASS (MiniUpnp.Net ${version:-?}, ${#names[@]} steps, $took s)"
  else echo "mono: FAIL ($failed of ${#names[@]} steps failed, $took s)"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# A prerequisite that is missing: a skip on a developer's machine, a failure under CI=true.

# step NAME command... : runs it with its output in $LOG, records pass/fail and the time.

# ---------- prerequisites ----------
[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] || unavailable "the lab and the linux-x64 package need Linux x86_64 (this is $(uname -s)/$(uname -m))"
[ "$(id -u)" = 0 ] || unavailable "not root (the lab's network namespaces need root)"
if [ -f /etc/debian_version ]; then
  (ensure_packages iproute2 nftables miniupnpd-nftables python3 libminiupnpc17 \
    mono-runtime libmono-system-core4.0-cil libmono-system4.0-cil mono-devel) ||
    unavailable "could not install the lab's packages, libminiupnpc17 and Mono (Debian: mono-runtime libmono-system-core4.0-cil libmono-system4.0-cil mono-devel)"
fi
have mono || unavailable "no mono (Debian: apt-get install mono-runtime libmono-system-core4.0-cil libmono-system4.0-cil mono-devel)"
[ -f /usr/lib/mono/4.5/Facades/netstandard.dll ] || unavailable "Mono has no 4.5/Facades/netstandard.dll (Debian: mono-devel)"
API17="$(ls /usr/lib/*/libminiupnpc.so.17 2>/dev/null | head -1 || true)"
[ -n "$API17" ] || unavailable "no libminiupnpc.so.17 (Debian: libminiupnpc17), the ABI guard's incompatible library"
[ -x /usr/sbin/miniupnpd ] && ip netns list >/dev/null 2>&1 || unavailable "the lab cannot run: no miniupnpd or no network namespaces"
have dotnet || unavailable "the .NET SDK is required"
if [ -z "$version" ]; then
  f=$(ls -t "$FEED"/MiniUpnp.Net.[0-9]*.nupkg 2>/dev/null | head -1 || true)
  [ -n "$f" ] || unavailable "no MiniUpnp.Net package in $FEED: run build/pack.sh first"
  version=$(basename "$f" .nupkg); version=${version#MiniUpnp.Net.}
fi
for p in MiniUpnp.Net MiniUpnp.Net.Native.linux-x64; do
  [ -f "$FEED/$p.$version.nupkg" ] || unavailable "no $FEED/$p.$version.nupkg (build/pack.sh with linux-x64 among the RIDs)"
done

# The folder's name must not contain "miniupnp" (as in consume.sh); outside the repository.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mono-consumer.XXXXXX")"
LOG="$WORK/step.log"
APP="$WORK/MonoConsumer"
mkdir -p "$NUGET_PACKAGES"
# A cached copy of the same version would hide a rebuilt package: our packages always come fresh from the feed.
rm -rf "$NUGET_PACKAGES"/miniupnp.net "$NUGET_PACKAGES"/miniupnp.net.native.*
write_nuget_config "$WORK" "$FEED" "$NUGET_FEED"
say "mono: MiniUpnp.Net $version in $WORK ($(mono --version | head -1))"

# ---------- the program, for net472 (Mono) and net10.0 (the reference) ----------
build() {
  mkdir -p "$APP" && cp "$ROOT"/tests/packaging/MonoConsumer/{MonoConsumer.csproj,Program.cs} "$APP/" &&
  (cd "$APP" && timeout $T_BUILD dotnet build -c Release "-p:MiniUpnpNetVersion=$version") || return 1
  # Which asset each target took: lib/netstandard2.0 for net472, lib/net10.0 for net10.0.
  python3 - "$APP/obj/project.assets.json" "$version" <<'PY'
import json, sys
assets, version = json.load(open(sys.argv[1])), sys.argv[2]
for target, lib in ((".NETFramework,Version=v4.7.2", "lib/netstandard2.0/MiniUpnp.Net.dll"), ("net10.0", "lib/net10.0/MiniUpnp.Net.dll")):
    compile = assets["targets"][target][f"MiniUpnp.Net/{version}"]["runtime"]
    print(f"{target}: MiniUpnp.Net {version} {', '.join(compile)}")
    assert lib in compile, f"{target} did not take {lib}"
PY
  ls "$APP/bin/Release/net472"
}
step "build MonoConsumer (net472 and net10.0) against MiniUpnp.Net $version from the local feed" build || exit 1
NATIVE="$NUGET_PACKAGES/miniupnp.net.native.linux-x64/$version/runtimes/linux-x64/native"
MONO_APP="$APP/bin/Release/net472/MonoConsumer.exe"
NET_APP="$APP/bin/Release/net10.0/MonoConsumer"
[ -f "$NATIVE/libminiupnpc.so" ] && [ -f "$NATIVE/libnatpmp.so" ] || { record "the runtime package's native folder" fail 0 "no $NATIVE/libminiupnpc.so"; failed=$((failed + 1)); exit 1; }

# ---------- the ABI guard under Mono ----------
# Debian's miniupnpc 2.2.4 (API 17: no UPNP_GetGenericPortMappingEntryExt, other signatures), named libminiupnpc.so
# first on LD_LIBRARY_PATH: Mono's DllImport finds it, and it must be refused before strupnperror is called.
abi_guard() {
  mkdir -p "$WORK/api17" && ln -sf "$API17" "$WORK/api17/libminiupnpc.so" &&
  LD_LIBRARY_PATH="$WORK/api17" timeout -k 5 60 mono "$MONO_APP" --expect-incompatible
}
step "the ABI guard under Mono: Debian's API 17 miniupnpc is refused (IncompatibleNativeLibraryException)" abi_guard || true

# ---------- the lab, and the runs inside its lan namespace ----------
# The lab's own id (at most 12 characters, as bench/run.sh); torn down by the EXIT trap.
LAB_ID="mono$$"; LAB_ID="${LAB_ID:0:12}"
lab_up() {
  local env_file
  env_file="$(timeout 120 "$ROOT/tests/lab/lab.sh" up --id "$LAB_ID" | tail -1)" || return 1
  [ -f "$env_file" ] || { echo "lab.sh up did not print its lab.env"; return 1; }
  cp "$env_file" "$WORK/lab.env"
  cat "$WORK/lab.env"
}
step "the IGD lab (lab.sh up --id $LAB_ID)" lab_up || exit 1
# shellcheck disable=SC1091
source "$WORK/lab.env"
NS=(ip netns exec "$LAN_NS")

ARGS=("$ROOTDESC_URL" "$LAN_ADDR" "$IGD_WAN_ADDR" "$BASE_PORT")
run_net() {
  timeout -k 5 $T_RUN "${NS[@]}" "$NET_APP" "${ARGS[@]}" >"$WORK/net.out" 2>&1; local rc=$?
  cat "$WORK/net.out"; return $rc
}
run_mono() {
  timeout -k 5 $T_RUN "${NS[@]}" env "LD_LIBRARY_PATH=$NATIVE" mono "$MONO_APP" "${ARGS[@]}" </dev/null >"$WORK/mono.out" 2>&1; local rc=$?
  cat "$WORK/mono.out"; return $rc
}
step "MonoConsumer on .NET 10, linux-x64 (lib/net10.0) against the lab" run_net || true
step "MonoConsumer under Mono (net472: lib/netstandard2.0) against the lab" run_mono || true
grep -hE '^(FAIL|PASS)' "$WORK/net.out" "$WORK/mono.out" 2>/dev/null | sed 's/^/    /' || true

# Identical output, except the lines that say which platform ran ("platform: ...").
compare_runs() {
  [ -s "$WORK/net.out" ] && [ -s "$WORK/mono.out" ] || { echo "a run printed nothing"; return 1; }
  grep -v '^platform: ' "$WORK/net.out" >"$WORK/net.cmp" || true
  grep -v '^platform: ' "$WORK/mono.out" >"$WORK/mono.cmp" || true
  grep -h '^platform: ' "$WORK/net.out" "$WORK/mono.out" || true
  diff -u "$WORK/net.cmp" "$WORK/mono.cmp" && echo "$(wc -l <"$WORK/mono.cmp") lines identical"
}
step "the same output under Mono as on .NET 10 (all but the platform lines)" compare_runs || true

[ $failed = 0 ]
