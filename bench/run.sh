#!/usr/bin/env bash
# The benchmark: starts an IGD lab of its own, runs the C loop, Python's module, the UPnP port and the async layer
# round by round inside its lan namespace, prints one table (medians, min–max, ratios to the C loop), and tears the
# lab down whatever happens. Root on Linux (network namespaces). About 5–6 minutes.
# The NAT-PMP and PCP section (natpmpc, a C loop over libnatpmp, a C PCP MAP, libnatpmp's Python module, NATPMP,
# NatpmpClient, PcpClient, PortMapper) runs in the same cold-start rounds and prints a second table.
#
#   bench/run.sh                 (or ./build.sh bench)
#   BENCH_ROUNDS=7 BENCH_BULK_ROUNDS=5 BENCH_GENERIC_ROUNDS=1 bench/run.sh
#   BENCH_SECTIONS=start bench/run.sh   cold starts of every client (UPnP, NAT-PMP, PCP) and the NAT-PMP/PCP per-call
#                                       figures only; BENCH_SECTIONS=pmp: the NAT-PMP/PCP clients and the UPnP async
#                                       layer only (a quick iteration)
#
# Needs what ./build.sh native and ./build.sh reference build (the native library, the Python reference module);
# it builds them when missing, then its own clients under artifacts/bench/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/artifacts/bench"
CONFIGURATION="${CONFIGURATION:-Release}"
DIE_PREFIX="bench:"
# say, die, host_rid
source "$ROOT/build/common.sh"

[ "$(id -u)" = 0 ] || die "the lab needs root (network namespaces)"
RID="$(host_rid)"
NATIVE="$ROOT/artifacts/native/$RID/libminiupnpc.so"
[ -f "$NATIVE" ] || "$ROOT/build.sh" native
NATPMP="$ROOT/artifacts/native/$RID/libnatpmp.so"
NATPMP_SRC="$ROOT/artifacts/src/libnatpmp-20230423"
{ [ -f "$NATPMP" ] && [ -f "$NATPMP_SRC/natpmpc.c" ]; } || "$ROOT/build.sh" native
{ ls "$ROOT"/artifacts/python-ref/lib/miniupnpc*.so && ls "$ROOT"/artifacts/python-ref-natpmp/lib/libnatpmp*.so; } >/dev/null 2>&1 \
  || "$ROOT/build.sh" reference

say "building the clients"
mkdir -p "$OUT/lib"
# The library's SONAME is libminiupnpc.so.21; the staged file is libminiupnpc.so: link by path, load via $ORIGIN/lib.
ln -sf "$NATIVE" "$OUT/lib/libminiupnpc.so.21"
gcc -O2 -Wall -Wextra -Wno-format-truncation -o "$OUT/cloop" "$ROOT/bench/cloop.c" \
  -I"$ROOT/artifacts/src/miniupnpc-2.3.3/include" "$NATIVE" -Wl,-rpath,'$ORIGIN/lib'
# The same for libnatpmp (SONAME libnatpmp.so.1).
ln -sf "$NATPMP" "$OUT/lib/libnatpmp.so.1"
gcc -O2 -Wall -Wextra -o "$OUT/cloop_pmp" "$ROOT/bench/cloop_pmp.c" -I"$NATPMP_SRC" "$NATPMP" -Wl,-rpath,'$ORIGIN/lib'
# natpmpc from the pinned (patched) source, built as native/libnatpmp/CMakeLists.txt builds tools/natpmpc (natpmp.c and
# getgateway.c linked in, -DENABLE_STRNATPMPERR), with one change: it refuses a public address in a reserved range
# (natpmpc.c, addr_is_reserved) before it maps anything, and the lab's is in 100.64/10. The bench's copy skips that
# check; everything else (the public address request first, then the mapping, its printing) is natpmpc's.
sed 's/if(addr_is_reserved(&response.pnu.publicaddress.addr))/if(0 \&\& addr_is_reserved(\&response.pnu.publicaddress.addr))/' \
  "$NATPMP_SRC/natpmpc.c" >"$OUT/natpmpc-lab.c"
grep -q 'if(0 && addr_is_reserved' "$OUT/natpmpc-lab.c" || die "natpmpc.c: the reserved-address check was not found"
gcc -O2 -DENABLE_STRNATPMPERR -I"$NATPMP_SRC" -o "$OUT/natpmpc" "$OUT/natpmpc-lab.c" "$NATPMP_SRC/natpmp.c" "$NATPMP_SRC/getgateway.c"
dotnet build "$ROOT/bench/MiniUpnp.Net.Bench" -c "$CONFIGURATION" -nologo -v quiet >"$OUT/dotnet-build.log" 2>&1 \
  || { tail -30 "$OUT/dotnet-build.log" >&2; die "building bench/MiniUpnp.Net.Bench failed"; }
DOTNET_CLIENT="$ROOT/artifacts/bin/MiniUpnp.Net.Bench/$(echo "$CONFIGURATION" | tr '[:upper:]' '[:lower:]')/MiniUpnp.Net.Bench"
[ -x "$DOTNET_CLIENT" ] || die "missing $DOTNET_CLIENT"
# The same client as an application published with NativeAOT: no JIT, what a start-up-sensitive app would ship.
AOT_CLIENT="$OUT/aot/MiniUpnp.Net.Bench"
dotnet publish "$ROOT/bench/MiniUpnp.Net.Bench" -c "$CONFIGURATION" -r "$RID" -p:PublishAot=true -o "$OUT/aot" -nologo -v quiet \
  >"$OUT/dotnet-aot.log" 2>&1 || { tail -30 "$OUT/dotnet-aot.log" >&2; die "publishing the NativeAOT client failed"; }
[ -x "$AOT_CLIENT" ] || die "missing $AOT_CLIENT"

# The same client published ReadyToRun (precompiled, still on the JIT runtime): the usual way to cut a .NET app's start.
R2R_CLIENT="$OUT/r2r/MiniUpnp.Net.Bench"
dotnet publish "$ROOT/bench/MiniUpnp.Net.Bench" -c "$CONFIGURATION" -r "$RID" --self-contained false -p:PublishReadyToRun=true -o "$OUT/r2r" \
  -nologo -v quiet >"$OUT/dotnet-r2r.log" 2>&1 || { tail -30 "$OUT/dotnet-r2r.log" >&2; die "publishing the ReadyToRun client failed"; }
[ -x "$R2R_CLIENT" ] || die "missing $R2R_CLIENT"

LAB_ID="bench$$"
LAB_ID="${LAB_ID:0:12}"
cleanup() { "$ROOT/tests/lab/lab.sh" down --id "$LAB_ID" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
say "starting lab $LAB_ID"
ENV_FILE="$("$ROOT/tests/lab/lab.sh" up --id "$LAB_ID" | tail -1)"
[ -f "$ENV_FILE" ] || die "lab.sh up did not print its lab.env"

STAMP="$(date +%Y%m%d-%H%M%S)"
say "running (results also in $OUT/results-$STAMP.json)"
timeout 900 ip netns exec "mu-$LAB_ID-lan" /usr/bin/python3 "$ROOT/bench/bench.py" \
  --env "$ENV_FILE" --cloop "$OUT/cloop" --dotnet-client "$DOTNET_CLIENT" --dotnet-aot-client "$AOT_CLIENT" --dotnet-r2r-client "$R2R_CLIENT" \
  --python-ref "$ROOT/artifacts/python-ref/lib" --cloop-pmp "$OUT/cloop_pmp" --natpmpc "$OUT/natpmpc" \
  --python-ref-natpmp "$ROOT/artifacts/python-ref-natpmp/lib" --json "$OUT/results-$STAMP.json" | tee "$OUT/results-$STAMP.md"
