#!/usr/bin/env bash
# Packs MiniUpnp.Net and its runtime packages into artifacts/packages/:
#   MiniUpnp.Net.<version>.nupkg (+ .snupkg)       the managed library (net8.0, net10.0, netstandard2.0), depending on every runtime
#                                                  package below with its exact version
#   MiniUpnp.Net.Native.<rid>.<version>.nupkg     runtimes/<rid>/native/libminiupnpc.{so,dll,dylib} and
#                                                  libnatpmp.{so,dll,dylib}, one per RID
#   MiniUpnp.Net.Tool.<version>.nupkg             the upnpc-net .NET tool, carrying runtimes/<rid>/native/ of every
#                                                  runtime package above
#
# Packs the RIDs named by MINIUPNPNET_REQUIRED_RIDS, each of which must be in artifacts/native/<rid>/ (./build.sh pack
# builds every RID this host can and names them; --host-only the host's alone); unset: every RID found there, the
# host's required. A release must have all seven (the hosted workflow sets MINIUPNPNET_REQUIRED_RIDS=all):
#   linux-x64 linux-arm64 linux-musl-x64 win-x64 win-x86 osx-x64 osx-arm64
#
# Environment:
#   MINIUPNPNET_VERSION        package version (default below). Scheme: <miniupnpc version>.<packaging revision>
#                              [-prerelease], e.g. 2.3.3.1; CI builds append -ci.<run number>.
#   MINIUPNPNET_REQUIRED_RIDS  the RIDs to pack, all required (default: every RID present, the host's required);
#                              "all" for the seven above.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARTIFACTS="$ROOT/artifacts"
OUT="$ARTIFACTS/packages"
VERSION="${MINIUPNPNET_VERSION:-2.3.3.1-dev}"
ALL_RIDS="linux-x64 linux-arm64 linux-musl-x64 win-x64 win-x86 osx-x64 osx-arm64"
# Packing builds the managed library in its own output tree and restores into the project's own package cache, so it
# neither disturbs a developer's artifacts/bin|obj nor leaves dev versions of our packages in ~/.nuget/packages.
PACK_ARTIFACTS="$ARTIFACTS/pack"
DIE_PREFIX="pack.sh:"
# say, die, have, native_path, host_rid
source "$ROOT/build/common.sh"
export NUGET_PACKAGES="$(native_path "${MINIUPNPNET_NUGET_PACKAGES:-$ARTIFACTS/nuget-packages}")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

lib_name() { case "$1" in win-*) echo libminiupnpc.dll ;; osx-*) echo libminiupnpc.dylib ;; *) echo libminiupnpc.so ;; esac; }
natpmp_lib_name() { local m; m="$(lib_name "$1")"; echo "libnatpmp.${m##*.}"; }

command -v dotnet >/dev/null 2>&1 || die "the .NET SDK 10 is required"
MANAGED="$ROOT/src/MiniUpnp.Net/MiniUpnp.Net.csproj"
grep -q 'MiniUpnpNativeRids' "$MANAGED" ||
  die "src/MiniUpnp.Net/MiniUpnp.Net.csproj does not declare its runtime packages yet (the MiniUpnpNativeRids ItemGroup)"

required="${MINIUPNPNET_REQUIRED_RIDS:-$(host_rid)}"
[ "$required" = all ] && required="$ALL_RIDS"
rids=()
if [ -n "${MINIUPNPNET_REQUIRED_RIDS:-}" ]; then
  rids=($required)
else
  for rid in $ALL_RIDS; do
    [ -f "$ARTIFACTS/native/$rid/$(lib_name "$rid")" ] && rids+=("$rid")
  done
fi
for rid in $required; do
  [ -f "$ARTIFACTS/native/$rid/$(lib_name "$rid")" ] ||
    die "no $rid library (artifacts/native/$rid/$(lib_name "$rid")): run ./build.sh native --rid $rid (./build.sh pack builds every RID this host can)"
done
for rid in "${rids[@]}"; do
  [ -f "$ARTIFACTS/native/$rid/$(natpmp_lib_name "$rid")" ] ||
    die "no $rid libnatpmp (artifacts/native/$rid/$(natpmp_lib_name "$rid")): run ./build.sh native --rid $rid"
done
[ ${#rids[@]} -gt 0 ] || die "no native library in artifacts/native/: run ./build.sh native first"

start=$(date +%s)
mkdir -p "$OUT"
# Only this version's files are replaced: a feed may hold other versions.
rm -f "$OUT"/MiniUpnp.Net.*"$VERSION".nupkg "$OUT"/MiniUpnp.Net.*"$VERSION".snupkg
# The package cache must not serve an older build of the same version of our packages.
rm -rf "$NUGET_PACKAGES"/miniupnp.net "$NUGET_PACKAGES"/miniupnp.net.native.*

common=(-c Release -nologo -v:q -clp:ErrorsOnly "-p:Version=$VERSION" "-p:ArtifactsPath=$PACK_ARTIFACTS" -o "$OUT")
# Reproducible packages: every zip entry gets the commit's time (SOURCE_DATE_EPOCH convention) instead of now
# (NuGet 7.9+, the .NET 10.0.4xx SDK; older NuGet ignores the property). The assemblies are deterministic already.
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || true)}"
[ -n "$epoch" ] && common+=("-p:DeterministicTimestamp=$epoch")

say "pack: version $VERSION, runtime packages for ${rids[*]}"
for rid in "${rids[@]}"; do
  dotnet pack "$ROOT/src/MiniUpnp.Net.Native/MiniUpnp.Net.Native.csproj" "${common[@]}" "-p:NativeRid=$rid" >/dev/null ||
    die "packing MiniUpnp.Net.Native.$rid failed (run with the command above without -v:q for details)"
done

say "pack: MiniUpnp.Net (depends on MiniUpnp.Net.Native.{$(IFS=,; echo "${rids[*]}")} [$VERSION])"
# The runtime packages just written are the only source of MiniUpnp.Net.Native.* for this restore.
dotnet pack "$MANAGED" "${common[@]}" \
  "-p:MiniUpnpNativeRids=$(IFS=,; echo "${rids[*]}" | sed 's/,/%3B/g')" \
  "-p:RestoreAdditionalProjectSources=$OUT" \
  -p:IncludeHostNativeLibrary=false -p:ContinuousIntegrationBuild=true
managed_pkg="$OUT/MiniUpnp.Net.$VERSION.nupkg"
[ -f "$managed_pkg" ] || die "no $managed_pkg"
managed_listing=$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$managed_pkg")
# netstandard2.0: .NET Framework 4.7.2+ and Unity/Mono (README, "For Unity users").
for tfm in net8.0 net10.0 netstandard2.0; do
  grep -qx "lib/$tfm/MiniUpnp.Net.dll" <<<"$managed_listing" || die "$(basename "$managed_pkg") lacks lib/$tfm/MiniUpnp.Net.dll"
done

# The tool carries its dependencies in the package (a .NET tool has no package dependencies): packed with the same
# runtime packages as MiniUpnp.Net, its publish output holds runtimes/<rid>/native/ for every RID above (deps.json
# picks the file at run time), and not the packing machine's library.
say "pack: MiniUpnp.Net.Tool (upnpc-net, with runtimes/{$(IFS=,; echo "${rids[*]}")}/native/ from the runtime packages)"
dotnet pack "$ROOT/src/MiniUpnp.Net.Tool/MiniUpnp.Net.Tool.csproj" "${common[@]}" \
  "-p:MiniUpnpNativeRids=$(IFS=,; echo "${rids[*]}" | sed 's/,/%3B/g')" \
  "-p:RestoreAdditionalProjectSources=$OUT" \
  -p:IncludeHostNativeLibrary=false -p:ContinuousIntegrationBuild=true
tool_pkg="$OUT/MiniUpnp.Net.Tool.$VERSION.nupkg"
[ -f "$tool_pkg" ] || die "no $tool_pkg"
listing=$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$tool_pkg")
for rid in "${rids[@]}"; do
  for lib in "$(lib_name "$rid")" "$(natpmp_lib_name "$rid")"; do
    grep -qx "tools/net10.0/any/runtimes/$rid/native/$lib" <<<"$listing" ||
      die "$(basename "$tool_pkg") lacks tools/net10.0/any/runtimes/$rid/native/$lib"
  done
done
! grep -qE '^tools/net10.0/any/[^/]*miniupnpc[^/]*\.(so|dll|dylib)$' <<<"$listing" ||
  die "$(basename "$tool_pkg") carries a RID-less native library (the packing machine's)"

say "pack: $(( $(date +%s) - start )) s"
for f in "$OUT"/MiniUpnp.Net*."$VERSION".nupkg "$OUT"/MiniUpnp.Net*."$VERSION".snupkg; do
  [ -f "$f" ] && printf '    %8s  %s\n' "$(du -k "$f" | cut -f1) KB" "$(basename "$f")"
done
