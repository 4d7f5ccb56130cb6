#!/usr/bin/env bash
# The benchmark: starts an IGD lab of its own, runs the C loop, Python's module, the UPnP port and the async layer
# round by round inside its lan namespace, prints one table (medians, min–max, ratios to the C loop), and tears the
# lab down whatever happens. Root on Linux (network namespaces). About 4–5 minutes.
#
#   bench/run.sh                 (or ./build.sh bench)
#   BENCH_ROUNDS=7 BENCH_BULK_ROUNDS=5 BENCH_GENERIC_ROUNDS=1 bench/run.sh
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
ls "$ROOT"/artifacts/python-ref/lib/miniupnpc*.so >/dev/null 2>&1 || "$ROOT/build.sh" reference

say "building the clients"
mkdir -p "$OUT/lib"
# The library's SONAME is libminiupnpc.so.21; the staged file is libminiupnpc.so: link by path, load via $ORIGIN/lib.
ln -sf "$NATIVE" "$OUT/lib/libminiupnpc.so.21"
gcc -O2 -Wall -Wextra -Wno-format-truncation -o "$OUT/cloop" "$ROOT/bench/cloop.c" \
  -I"$ROOT/artifacts/src/miniupnpc-2.3.3/include" "$NATIVE" -Wl,-rpath,'$ORIGIN/lib'
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
  --python-ref "$ROOT/artifacts/python-ref/lib" --json "$OUT/results-$STAMP.json" | tee "$OUT/results-$STAMP.md"
