#!/usr/bin/env bash
# The Windows step: proves the win-x64 packages work on Windows, run under wine against the IGD lab's real router.
# In a temporary folder outside the repository (so none of the repo's MSBuild settings apply), as consume.sh does:
#   1. `dotnet new console`, `dotnet add package MiniUpnp.Net` from artifacts/packages only (packageSourceMapping;
#      everything else, such as the win-x64 runtime pack, from the normal feed), its Program replaced by
#      tests/packaging/WinConsumer/Program.cs;
#   2. `dotnet publish -r win-x64 --self-contained -c Release`, and the same for linux-x64 (the reference run);
#   3. the upnpc-net tool for both: on Linux `dotnet tool install` from the same feed; for Windows what
#      `dotnet tool install` lays down there (the package's tools/net10.0/any/ unchanged, started by a Windows
#      apphost) with a Windows .NET runtime assembled from the runtime pack (see win_tool below);
#   4. its own IGD lab (tests/lab/lab.sh up --id wineNNN), a wine prefix of its own under artifacts/wine/ created
#      inside the lab's lan namespace, then both programs in that namespace: discovery (the binding's managed SSDP and
#      miniupnpc's), mappings added, read, listed, AddAny, a lease renewed then disposed, and conformance.py's
#      sequence through the faithful UPnP port. Both must pass their own checks and print the same lines (only the
#      "platform:" lines differ); `upnpc-net -l` must print the same under wine as on Linux.
# What it exercises on Windows: the binding's own Winsock start-up (socket() fails with WSANOTINITIALISED when the
# program starts, then the UPnP port runs before anything in System.Net.Sockets), loading libminiupnpc.dll (MinGW-built,
# from MiniUpnp.Net.Native.win-x64) next to the app and from the tool's runtimes/win-x64/native/, and C-runtime
# ownership (miniwget's body, malloc'ed by the DLL's msvcrt, freed through msvcrt's free). 45–55 s on a 2-core machine
# (the first win-x64 publish downloads its runtime packs).
#
#   tests/packaging/wine.sh [--version V] [--junit FILE] [--keep]
# Needs: build/pack.sh run first with win-x64 among the RIDs; root (network namespaces), the lab's packages
# (iproute2 nftables miniupnpd-nftables python3) and wine (Debian: wine wine64), installed here when root on Debian.
# A missing prerequisite skips the step, except under CI=true, where it is a failure.
# Prints "wine: PASS ..." or "wine: FAIL ..." and exits non-zero on failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ARTIFACTS="$ROOT/artifacts"
FEED="$ARTIFACTS/packages"
NUGET_FEED="${MINIUPNPNET_NUGET_FEED:-https://api.nuget.org/v3/index.json}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The programs must get the library from their packages, never from an override.
unset MINIUPNPNET_NATIVE_LIBRARY MINIUPNPNET_NATPMP_LIBRARY

DIE_PREFIX="wine: FAIL"
# say, die, have, now, elapsed, native_path, host_rid, ensure_packages
source "$ROOT/build/common.sh"
SUITE=wine
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
BASE_PORT=44000
# Bounds (seconds): every wine process, every program run, the whole lab start.
T_PUBLISH=600 T_PREFIX=120 T_RUN=180 T_TOOL=60

# ---------- clean-up: the lab, the prefix's wine processes, the work folder ----------
WORK="" LAB_ID="" PREFIX="" failed=0 started=$(now)
wine_env=()
finish() {
  local rc=$?
  # Ended early by something other than a recorded step (a die, a signal): one failure, so that CI counts it.
  if [ $rc != 0 ] && [ $failed = 0 ]; then record "wine.sh ended early (exit $rc)" fail 0 "see its output"; failed=1; fi
  if [ -n "$PREFIX" ] && [ -d "$PREFIX" ]; then
    # wineserver -k ends the processes of this prefix only (its own server), then the server itself.
    timeout 20 env "${wine_env[@]}" "$WINESERVER" -k >/dev/null 2>&1 || true
    timeout 20 env "${wine_env[@]}" "$WINESERVER" -w >/dev/null 2>&1 || true
    [ $keep = 1 ] || rm -rf "$PREFIX"
  fi
  if [ -n "$LAB_ID" ]; then timeout 60 "$ROOT/tests/lab/lab.sh" down --id "$LAB_ID" >/dev/null 2>&1 || true; fi
  if [ $keep = 0 ] && [ -n "$WORK" ]; then rm -rf "$WORK"; fi
  write_junit
  local took; took=$(elapsed "$started")
  if [ $failed = 0 ] && [ $rc = 0 ] && [ "${states[0]:-}" = skip ]; then echo "wine: SKIP (${texts[0]})"
  elif [ $failed = 0 ] && [ $rc = 0 ]; then echo "wine: PASS (MiniUpnp.Net ${version:-?}, ${#names[@]} steps, $took s)"
  else echo "wine: FAIL ($failed of ${#names[@]} steps failed, $took s)"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# A prerequisite that is missing: a skip on a developer's machine, a failure under CI=true.

# step NAME command... : runs it with its output in $LOG, records pass/fail and the time.

# ---------- prerequisites ----------
[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] || unavailable "wine64 and the lab need Linux x86_64 (this is $(uname -s)/$(uname -m))"
[ "$(id -u)" = 0 ] || unavailable "not root (the lab's network namespaces need root)"
if [ -f /etc/debian_version ]; then
  # The lab's packages and 64-bit wine (build.sh's PKGS_LAB and the win-x64 part of PKGS_CROSS).
  (ensure_packages iproute2 nftables miniupnpd-nftables python3 wine wine64) ||
    unavailable "could not install the lab's packages and wine (Debian: iproute2 nftables miniupnpd-nftables python3 wine wine64)"
fi
WINE64="$(command -v wine64 || echo /usr/lib/wine/wine64)"   # Debian 12: not on PATH
WINESERVER="$(command -v wineserver || echo /usr/lib/wine/wineserver)"
[ -x "$WINE64" ] && [ -x "$WINESERVER" ] || unavailable "no 64-bit wine (Debian: apt-get install wine wine64)"
[ -x /usr/sbin/miniupnpd ] && ip netns list >/dev/null 2>&1 || unavailable "the lab cannot run: no miniupnpd or no network namespaces"
have dotnet || unavailable "the .NET SDK is required"
if [ -z "$version" ]; then
  f=$(ls -t "$FEED"/MiniUpnp.Net.[0-9]*.nupkg 2>/dev/null | head -1 || true)
  [ -n "$f" ] || unavailable "no MiniUpnp.Net package in $FEED: run build/pack.sh first"
  version=$(basename "$f" .nupkg); version=${version#MiniUpnp.Net.}
fi
for p in MiniUpnp.Net MiniUpnp.Net.Native.win-x64 MiniUpnp.Net.Native.linux-x64 MiniUpnp.Net.Tool; do
  [ -f "$FEED/$p.$version.nupkg" ] || unavailable "no $FEED/$p.$version.nupkg (build/pack.sh with win-x64 among the RIDs)"
done

# The folder's name must not contain "miniupnp" (as in consume.sh); outside the repository.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/win-consumer.XXXXXX")"
LOG="$WORK/step.log"
APP="$WORK/WinConsumer"
mkdir -p "$NUGET_PACKAGES"
# A cached copy of the same version would hide a rebuilt package: our packages always come fresh from the feed.
rm -rf "$NUGET_PACKAGES"/miniupnp.net "$NUGET_PACKAGES"/miniupnp.net.native.* "$NUGET_PACKAGES"/miniupnp.net.tool
write_nuget_config "$WORK" "$FEED" "$NUGET_FEED"
say "wine: MiniUpnp.Net $version in $WORK"

# ---------- the app, published for both platforms ----------
create() {
  (cd "$WORK" && dotnet new console -n WinConsumer -o WinConsumer) &&
  cp "$ROOT/tests/packaging/WinConsumer/Program.cs" "$APP/Program.cs" &&
  (cd "$APP" && dotnet add package MiniUpnp.Net --version "$version") &&
  grep -q "\"MiniUpnp.Net/$version\"" "$APP/obj/project.assets.json" &&
  grep -q "\"MiniUpnp.Net.Native.win-x64/$version\"" "$APP/obj/project.assets.json"
}
step "install MiniUpnp.Net $version from the local feed (dotnet new console + dotnet add package)" create || exit 1

publish() { # RID
  (cd "$APP" && timeout $T_PUBLISH dotnet publish -c Release -r "$1" --self-contained -o "$WORK/$1") || return 1
  ls "$WORK/$1" | grep -E '^(libminiupnpc|libnatpmp)\.(dll|so)$'
}
step "dotnet publish -r win-x64 --self-contained" publish win-x64 || exit 1
step "dotnet publish -r linux-x64 --self-contained (the reference run)" publish linux-x64 || exit 1

# ---------- the upnpc-net tool for both platforms ----------
# Linux: as a user installs it (consume.sh does the same). Windows: `dotnet tool install` cannot lay a tool down for
# another OS, and no Windows SDK runs here; what it lays down on Windows is the package's tools/net10.0/any/ folder,
# unchanged (framework-dependent: its own deps.json picks runtimes/win-x64/native/libminiupnpc.dll), started by a shim,
# the SDK's apphost.exe with the tool's dll name written into it, run by the machine's .NET runtime. Here: the same
# folder, extracted from the package; the apphost of the win-x64 host pack with "upnpc-net.dll" written over its
# placeholder (what the SDK's HostWriter does for a shim); and a Windows .NET install (DOTNET_ROOT: host/fxr/ and
# shared/Microsoft.NETCore.App/<version>/) laid out from the win-x64 runtime pack the publish above restored.
linux_tool() {
  dotnet tool install MiniUpnp.Net.Tool --version "$version" --tool-path "$WORK/tool-linux" \
    --configfile "$WORK/NuGet.config" && [ -x "$WORK/tool-linux/upnpc-net" ]
}
step "dotnet tool install MiniUpnp.Net.Tool $version (linux-x64)" linux_tool || exit 1

win_tool() {
  local rt host packs="$NUGET_PACKAGES" out="$WORK/tool-win"
  # The runtime pack the self-contained publish used (its deps.json names it), and the apphost pack of that version.
  rt=$(grep -o '"runtimepack.Microsoft.NETCore.App.Runtime.win-x64/[^"]*"' "$WORK/win-x64/WinConsumer.deps.json" | head -1 |
    sed 's|.*/||; s|"||')
  [ -n "$rt" ] || { echo "no runtime pack in $WORK/win-x64/WinConsumer.deps.json"; return 1; }
  local pack="$packs/microsoft.netcore.app.runtime.win-x64/$rt/runtimes/win-x64"
  host="$packs/microsoft.netcore.app.host.win-x64/$rt/runtimes/win-x64/native/apphost.exe"
  [ -d "$pack/lib/net10.0" ] && [ -f "$pack/native/hostfxr.dll" ] && [ -f "$host" ] || { echo "no win-x64 runtime or host pack $rt in $packs"; return 1; }
  mkdir -p "$out/dotnet/host/fxr/$rt" "$out/dotnet/shared/Microsoft.NETCore.App/$rt" "$out/app"
  cp "$pack/native/hostfxr.dll" "$out/dotnet/host/fxr/$rt/"
  cp "$pack"/lib/net10.0/* "$out/dotnet/shared/Microsoft.NETCore.App/$rt/"
  find "$pack/native" -maxdepth 1 -type f ! -name hostfxr.dll -exec cp {} "$out/dotnet/shared/Microsoft.NETCore.App/$rt/" \;
  python3 - "$FEED/MiniUpnp.Net.Tool.$version.nupkg" "$host" "$out/app" <<'PY'
import os, sys, zipfile
package, apphost, out = sys.argv[1:]
prefix = "tools/net10.0/any/"
with zipfile.ZipFile(package) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            path = os.path.join(out, name[len(prefix):])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(z.read(name))
# The apphost's placeholder: the SHA-256 of "foobar" as text, where the SDK writes the app's dll path (NUL-terminated).
data = bytearray(open(apphost, "rb").read())
placeholder = b"c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"
at = data.find(placeholder)
assert at > 0 and data.find(placeholder, at + 1) < 0, "apphost.exe: placeholder not found exactly once"
name = b"upnpc-net.dll"
data[at:at + len(placeholder)] = name + b"\0" * (len(placeholder) - len(name))
open(os.path.join(out, "upnpc-net.exe"), "wb").write(data)
PY
  ls "$out/app" "$out/app/runtimes/win-x64/native"
  echo "Windows .NET runtime $rt in $out/dotnet"
}
step "upnpc-net for win-x64: the tool package's tools/net10.0/any/ with a Windows apphost and runtime" win_tool || exit 1

# ---------- the lab, and a wine prefix born inside its lan namespace ----------
# The lab's own id (at most 12 characters, as bench/run.sh); torn down by the EXIT trap.
LAB_ID="wine$$"; LAB_ID="${LAB_ID:0:12}"
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

winpath() { local p="$1"; printf 'Z:%s' "${p//\//\\}"; }
PREFIX="$ARTIFACTS/wine/wine-sh-$LAB_ID"
# Not WINEDLLOVERRIDES=mscoree= (build/cross.sh's setting for C programs): without wine's mscoree.dll, wine's loader
# refuses the IL-only assemblies CoreCLR maps (System.Runtime.dll: "Module not found"). No Gecko, no menu entries.
wine_env=("WINEPREFIX=$PREFIX" "WINEDEBUG=-all" "WINEDLLOVERRIDES=mshtml=;winemenubuilder.exe=d")
# Created inside the namespace (a wineserver started outside it would show the programs the host's interfaces, and
# SSDP would find nothing), as Windows 10 (wine 8.0 reports Windows 7 otherwise, which .NET 10 does not support);
# then its wineserver must end before the real runs (wineserver -w), so that they start one of their own in the namespace.
prefix() {
  rm -rf "$PREFIX"; mkdir -p "$PREFIX"
  timeout -k 5 $T_PREFIX "${NS[@]}" env "${wine_env[@]}" "$WINE64" reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f </dev/null || return 1
  timeout -k 5 60 "${NS[@]}" env "${wine_env[@]}" "$WINESERVER" -w
}
step "wine prefix $(basename "$PREFIX") created in $LAN_NS" prefix || exit 1

# ---------- the runs ----------
ARGS=("$ROOTDESC_URL" "$LAN_ADDR" "$IGD_WAN_ADDR" "$BASE_PORT")
run_linux() {
  timeout -k 5 $T_RUN "${NS[@]}" "$WORK/linux-x64/WinConsumer" "${ARGS[@]}" >"$WORK/linux.out" 2>&1; local rc=$?
  cat "$WORK/linux.out"; return $rc
}
run_windows() {
  timeout -k 5 $T_RUN "${NS[@]}" env "${wine_env[@]}" "$WINE64" "$(winpath "$WORK/win-x64/WinConsumer.exe")" "${ARGS[@]}" \
    </dev/null >"$WORK/win.raw" 2>&1; local rc=$?
  tr -d '\r' <"$WORK/win.raw" >"$WORK/win.out"
  cat "$WORK/win.out"; return $rc
}
step "WinConsumer on linux-x64 (JIT) against the lab" run_linux || true
step "WinConsumer on win-x64 under wine against the lab" run_windows || true
grep -hE '^(FAIL|PASS)' "$WORK/linux.out" "$WORK/win.out" 2>/dev/null | sed 's/^/    /' || true

# Identical output, except the lines that say which platform ran ("platform: ..."; the RID, the OS, the native
# library's file name and folder): everything that differs between two runs on one platform is not printed.
compare_runs() {
  [ -s "$WORK/linux.out" ] && [ -s "$WORK/win.out" ] || { echo "a run printed nothing"; return 1; }
  grep -v '^platform: ' "$WORK/linux.out" >"$WORK/linux.cmp" || true
  grep -v '^platform: ' "$WORK/win.out" >"$WORK/win.cmp" || true
  grep -h '^platform: ' "$WORK/linux.out" "$WORK/win.out" || true
  diff -u "$WORK/linux.cmp" "$WORK/win.cmp" && echo "$(wc -l <"$WORK/win.cmp") lines identical"
}
step "the same output on Windows as on Linux (all but the platform lines)" compare_runs || true

# upnpc-net on both: under wine it maps a port (-a), both list the router (-l: discovery, the IGD's URLs and status,
# the mappings), then it removes the port (-d). The listings must be the same but for what changes from second to
# second: the router's uptime and the start time computed from it, and a mapping's lease seconds remaining.
TOOL_PORT=$((BASE_PORT + 40))
tool_linux() { # ARGS...
  timeout -k 5 $T_TOOL "${NS[@]}" "$WORK/tool-linux/upnpc-net" "$@"
}
tool_windows() { # ARGS...   (wine's console output ends lines with CR LF)
  local rc=0
  timeout -k 5 $T_TOOL "${NS[@]}" env "${wine_env[@]}" "DOTNET_ROOT=$(winpath "$WORK/tool-win/dotnet")" \
    "$WINE64" "$(winpath "$WORK/tool-win/app/upnpc-net.exe")" "$@" </dev/null >"$WORK/tool-win.raw" 2>&1 || rc=$?
  tr -d '\r' <"$WORK/tool-win.raw"
  return $rc
}
mask_listing() {
  sed -E -e 's/uptime=[0-9]+s/uptime=(varies)s/' -e 's/^( *Time started :).*/\1 (varies)/' \
    -e "s/^( *[0-9]+ +(TCP|UDP) +[0-9]+->.*) [0-9]+\$/\\1 (lease)/"
}
tool_add() {
  tool_windows -e "wine listing" -a "$LAN_ADDR" "$TOOL_PORT" "$TOOL_PORT" TCP 600 | tee "$WORK/tool-add.out"
  [ "${PIPESTATUS[0]}" = 0 ] && grep -q "is redirected to internal $LAN_ADDR:$TOOL_PORT" "$WORK/tool-add.out"
}
step "upnpc-net -a (a mapping) on win-x64 under wine" tool_add || true
tool_list() { # linux|windows
  "tool_$1" -l >"$WORK/tool-$1.out" 2>&1; local rc=$?
  cat "$WORK/tool-$1.out"
  [ $rc = 0 ] && grep -q "TCP *$TOOL_PORT->$LAN_ADDR:$TOOL_PORT" "$WORK/tool-$1.out"
}
step "upnpc-net -l on linux-x64" tool_list linux || true
step "upnpc-net -l on win-x64 under wine" tool_list windows || true
compare_tool() {
  mask_listing <"$WORK/tool-linux.out" >"$WORK/tool-linux.cmp"
  mask_listing <"$WORK/tool-windows.out" >"$WORK/tool-windows.cmp"
  diff -u "$WORK/tool-linux.cmp" "$WORK/tool-windows.cmp" && echo "$(wc -l <"$WORK/tool-windows.cmp") lines identical"
}
step "upnpc-net -l prints the same on Windows as on Linux (uptime and lease seconds masked)" compare_tool || true
tool_delete() {
  tool_windows -d "$TOOL_PORT" TCP || return 1
  tool_linux -l >"$WORK/tool-after.out" 2>&1 || { cat "$WORK/tool-after.out"; return 1; }
  ! grep "TCP *$TOOL_PORT->" "$WORK/tool-after.out" && echo "gone from the Linux listing"
}
step "upnpc-net -d on win-x64 under wine (the mapping is gone)" tool_delete || true

[ $failed = 0 ]
