#!/bin/sh
# CMAKE_CROSSCOMPILING_EMULATOR of win-x64.cmake: runs a Windows program under 64-bit wine in the project's own
# prefix (artifacts/wine/x64, created on first use, about 7 s), without debug output or Mono/Gecko prompts.
# The caller ends the prefix's wineserver afterwards (build/cross.sh: WINEPREFIX=... wineserver -k).
here=$(cd "$(dirname "$0")" && pwd)
: "${WINEPREFIX:=$here/../../artifacts/wine/x64}"
: "${WINEDEBUG:=-all}"
: "${WINEDLLOVERRIDES:=mscoree,mshtml=;winemenubuilder.exe=d}"
export WINEPREFIX WINEDEBUG WINEDLLOVERRIDES
mkdir -p "$WINEPREFIX"
if command -v wine64 >/dev/null 2>&1; then exec wine64 "$@"; fi
exec /usr/lib/wine/wine64 "$@"   # Debian 12 installs wine64 there, with only the "wine" wrapper on PATH
