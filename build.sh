#!/usr/bin/env bash
# MiniUpnp.Net build entry point. Usage: ./build.sh <verb> [options]   (./build.sh help)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARTIFACTS="$ROOT/artifacts"
CONFIGURATION="${CONFIGURATION:-Release}"

DIE_PREFIX="build.sh:"
# say, die, have, host_rid, buildable_rids, ensure_packages, ...
source "$ROOT/build/common.sh"

usage() {
  cat <<'EOF'
./build.sh <verb> [options]

  native [--rid RID] [--sanitize [--no-test]]
                       obtain and verify miniupnpc 2.3.3 and libnatpmp 20230423, build them with CMake, stage both
                       in artifacts/native/<rid>/;
                       --sanitize: AddressSanitizer + UBSan build in artifacts/cmake/<rid>-sanitize, staged in
                       artifacts/native/<rid>-sanitize/ (never the shipped library), then its C tests (CTest)
  fuzz SECONDS [HARNESS...]
                       libFuzzer over the parsers (rootdesc, portlisting, namevalue), SECONDS each, in artifacts/fuzz/;
                       prints executions, corpus and crashes per harness, fails on a crash
  generate [--check]   regenerate src/MiniUpnp.Net/Interop/*.g.cs from the headers (--check: fail if they differ)
  build                native + the .NET solution
  pack [--host-only]   NuGet packages in artifacts/packages/: MiniUpnp.Net, the upnpc-net tool, one runtime package per RID;
                       builds every RID this host can (Debian x86_64: linux-x64 linux-arm64 linux-musl-x64 win-x64 win-x86,
                       installing the cross toolchains) or fails naming what is missing; --host-only: the host's RID alone
  test                 the developer's loop: build, upstream's C tests (CTest), the NUnit suite (with the IGD lab as root);
                       prints "N passed, N failed, N skipped"
  test --sanitize      the sanitizer round: the ASan + UBSan build and its CTest, then the NUnit suite with the lab (root)
                       against that library, ASan's runtime preloaded; fails on any sanitizer report (docs/sanitizers.md)
  ci                   what .ci/run runs: generate --check, test, the cross RIDs (build/cross.sh all), packaging of those
                       RIDs and its consumption test, the win-x64 packages under wine against the lab (tests/packaging/wine.sh),
                       the netstandard2.0 build under Mono against the lab (tests/packaging/mono.sh), test --sanitize, fuzz 20; logs in artifacts/ci-<part>.log, then one line summing every part:
                       "N passed, N failed, N skipped"
  demo                 build, start the IGD lab, map a port with upnpc-net, use it from the WAN side, close it
  lab up|down|status   the IGD lab (real miniupnpd in network namespaces; root only)
  reference            build the Python module from the pinned source (the conformance reference)
  bench                the benchmark in an IGD lab of its own (root): C loop, Python module, UPnP port, async layer
  deps                 install the Debian packages the verbs need (root), or print the command to run
EOF
}

# ---------- prerequisites ----------
# Debian packages each verb needs; installed with apt when we are root on Debian, printed otherwise.
PKGS_NATIVE="cmake ninja-build gcc libc6-dev git ca-certificates"
PKGS_GENERATE="libclang1-16 libclang-common-16-dev"
# libminiupnpc17: Debian's API-17 miniupnpc, which the ABI-guard test must see refused.
PKGS_TEST="$PKGS_NATIVE $PKGS_GENERATE binutils python3 libminiupnpc17"
PKGS_LAB="iproute2 nftables miniupnpd-nftables python3 python3-dev python3-setuptools"
# Cross toolchains and emulators for the other RIDs (design.md: never the i386 architecture), and NativeAOT's needs.
PKGS_CROSS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu qemu-user musl-tools
  gcc-mingw-w64-x86-64-win32 binutils-mingw-w64-x86-64 wine wine64 gcc-mingw-w64-i686-win32 binutils-mingw-w64-i686"
# NativeAOT's needs; Mono 6.8 for tests/packaging/mono.sh (mono-devel: the only Debian package with Mono's
# 4.5/Facades/netstandard.dll, without which no netstandard2.0 assembly loads).
PKGS_PACKAGING="clang zlib1g-dev mono-runtime libmono-system-core4.0-cil libmono-system4.0-cil mono-devel"
# libFuzzer and the sanitizer runtimes of Debian 12's clang (14).
PKGS_FUZZ="clang libclang-rt-14-dev"
cross_host() { [ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] && [ -f /etc/debian_version ]; }

ensure_dotnet() {
  have dotnet || die "the .NET SDK 10 is required: https://dotnet.microsoft.com/download (or Debian/Ubuntu: apt-get install dotnet-sdk-10.0 from Microsoft's feed)"
}

# ---------- verbs ----------
verb_native() {
  local rid="" sanitize=0 run_tests=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --rid) rid="$2"; shift 2 ;;
      --sanitize) sanitize=1; shift ;;
      --no-test) run_tests=0; shift ;;
      *) die "native: unknown option $1" ;;
    esac
  done
  [ -n "$rid" ] || rid="$(host_rid)"
  [ -f /etc/debian_version ] && ensure_packages $PKGS_NATIVE
  have cmake || die "cmake 3.20+ is required"
  local gen=() bdir="$ARTIFACTS/cmake/$rid" out="$ARTIFACTS/native/$rid" build_type=Release extra=() what=""
  have ninja && gen=(-G Ninja)
  if [ "$rid" != "$(host_rid)" ]; then
    [ $sanitize = 0 ] || die "native --sanitize: only for the host RID ($(host_rid)), whose tests can run here"
    [ -f "$ROOT/cmake/toolchains/$rid.cmake" ] || die "no toolchain file cmake/toolchains/$rid.cmake"
    extra+=("-DCMAKE_TOOLCHAIN_FILE=$ROOT/cmake/toolchains/$rid.cmake")
  fi
  if [ $sanitize = 1 ]; then
    # AddressSanitizer + UndefinedBehaviorSanitizer in a build and an output directory of their own: the shipped
    # library in artifacts/native/<rid>/ is never replaced. -O0 (Debug): gcc at -O1 folds away a one-byte over-read.
    bdir="$ARTIFACTS/cmake/$rid-sanitize" out="$ARTIFACTS/native/$rid-sanitize" build_type=Debug what=" (ASan + UBSan)"
    extra+=("-DNATIVE_OUTPUT_DIR=$out"
            "-DCMAKE_C_FLAGS=-fsanitize=address,undefined -fno-omit-frame-pointer -g"
            "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined"
            "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined")
  fi
  say "native: miniupnpc and libnatpmp for $rid$what"
  mkdir -p "$bdir"
  # Quiet unless something fails; the source route taken (cache, download, Debian source package) is shown.
  if ! cmake -S "$ROOT/native" -B "$bdir" "${gen[@]}" -DMINIUPNPC_RID="$rid" -DCMAKE_BUILD_TYPE=$build_type "${extra[@]}" >"$bdir/configure.log" 2>&1; then
    cat "$bdir/configure.log" >&2; die "native: CMake configure failed for $rid"
  fi
  grep -E '(miniupnpc|libnatpmp) source: (route|downloading|fetching|download failed|apt route)' "$bdir/configure.log" | sed 's/^-- /    /' || true
  if ! cmake --build "$bdir" >"$bdir/build.log" 2>&1; then
    tail -40 "$bdir/build.log" >&2; die "native: build failed for $rid"
  fi
  say "native: $(ls "$out"/libminiupnpc.* | head -1) $(ls "$out"/libnatpmp.* | head -1)"
  if [ $sanitize = 1 ] && [ $run_tests = 1 ]; then
    say "native --sanitize: upstream's C tests, the patches' reproducers and the parser harness under ASan + UBSan"
    ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
      ctest --test-dir "$bdir" --output-on-failure --timeout 120 || die "native --sanitize: a test failed under the sanitizers"
  fi
}

# libFuzzer over miniupnpc's parsers: native/fuzz/run.sh (clang; its own instrumented library in artifacts/fuzz/).
verb_fuzz() {
  [ $# -ge 1 ] || die "fuzz: usage: ./build.sh fuzz SECONDS [rootdesc|portlisting|namevalue ...]"
  [ -f /etc/debian_version ] && ensure_packages $PKGS_NATIVE $PKGS_FUZZ
  "$ROOT/native/fuzz/run.sh" "$@"
}

verb_generate() {
  local check=0
  [ "${1:-}" = "--check" ] && check=1
  [ -f /etc/debian_version ] && ensure_packages $PKGS_GENERATE
  ensure_dotnet
  local src="$ARTIFACTS/src/miniupnpc-2.3.3/include" natpmp_src="$ARTIFACTS/src/libnatpmp-20230423"
  [ -d "$src" ] && [ -f "$natpmp_src/natpmp.h" ] || verb_native
  local out="$ROOT/src/MiniUpnp.Net/Interop"
  if [ $check = 1 ]; then
    out="$ARTIFACTS/generate-check"
    rm -rf "$out"; mkdir -p "$out"
  fi
  dotnet run --project "$ROOT/build/Generator" -c Release -- "$out" miniupnpc="$src" libnatpmp="$natpmp_src"
  if [ $check = 1 ]; then
    local f bad=0
    for f in "$out"/*.g.cs; do
      if ! cmp -s "$f" "$ROOT/src/MiniUpnp.Net/Interop/$(basename "$f")"; then
        echo "generate --check: $(basename "$f") differs from a fresh generation:" >&2
        diff -u "$ROOT/src/MiniUpnp.Net/Interop/$(basename "$f")" "$f" | head -40 >&2 || true
        bad=1
      fi
    done
    for f in "$ROOT"/src/MiniUpnp.Net/Interop/*.g.cs; do
      [ -f "$out/$(basename "$f")" ] || { echo "generate --check: $(basename "$f") is no longer generated" >&2; bad=1; }
    done
    [ $bad = 0 ] || die "the committed interop differs from a fresh generation: run ./build.sh generate and commit"
    say "generate: committed interop is byte-identical to a fresh generation"
  fi
}

verb_build() {
  verb_native
  ensure_dotnet
  say "build: MiniUpnp.Net.sln ($CONFIGURATION)"
  dotnet build "$ROOT/MiniUpnp.Net.sln" -c "$CONFIGURATION" -nologo -clp:ErrorsOnly -v:q
}

# Totals of CTest (JUnit XML) and dotnet test (TRX) runs, for the final line.
TOTAL_PASSED=0; TOTAL_FAILED=0; TOTAL_SKIPPED=0
# The first <element ...> of an XML file, attribute attr, as a number (0 when absent). Attributes may span lines.
xml_count() {
  local v
  v=$(tr '\n\t' '  ' <"$1" | grep -o "<$2 [^>]*" | head -1 | grep -o " $3=\"[0-9]*\"" | head -1 | tr -dc 0-9 || true)
  echo "${v:-0}"
}
count_junit() {
  local f="$1" tests failures skipped
  tests=$(xml_count "$f" testsuite tests)
  failures=$(( $(xml_count "$f" testsuite failures) + $(xml_count "$f" testsuite errors) ))
  skipped=$(xml_count "$f" testsuite skipped)
  TOTAL_PASSED=$(( TOTAL_PASSED + tests - failures - skipped ))
  TOTAL_FAILED=$(( TOTAL_FAILED + failures ))
  TOTAL_SKIPPED=$(( TOTAL_SKIPPED + skipped ))
}
count_trx() {
  local f="$1" failed
  failed=$(( $(xml_count "$f" Counters failed) + $(xml_count "$f" Counters error) + $(xml_count "$f" Counters timeout) + $(xml_count "$f" Counters aborted) ))
  TOTAL_PASSED=$(( TOTAL_PASSED + $(xml_count "$f" Counters passed) ))
  TOTAL_FAILED=$(( TOTAL_FAILED + failed ))
  TOTAL_SKIPPED=$(( TOTAL_SKIPPED + $(xml_count "$f" Counters total) - $(xml_count "$f" Counters executed) ))
}

# The lab's lan namespace for a test run: created empty; the test process runs in it ("${runner[@]}") and the NUnit
# fixture builds the rest of the lab around it (tests/lab/lab.sh up --id ID), or adopts one built beforehand. Sets the
# caller's lab_id and runner (declared local there); the EXIT trap removes the lab if the run is interrupted.
lab_lan_open() { # ID-PREFIX
  lab_id="$1$$"
  ip netns add "mu-$lab_id-lan" && ip -n "mu-$lab_id-lan" link set lo up
  trap "'$ROOT/tests/lab/lab.sh' down --id '$lab_id' >/dev/null 2>&1; ip netns del 'mu-$lab_id-lan' 2>/dev/null || true" EXIT
  runner=(ip netns exec "mu-$lab_id-lan" env "MINIUPNPNET_LAB_ID=$lab_id")
}

lab_lan_close() {
  [ -n "$lab_id" ] || return 0
  "$ROOT/tests/lab/lab.sh" down --id "$lab_id" >/dev/null 2>&1 || true
  ip netns del "mu-$lab_id-lan" 2>/dev/null || true
  trap - EXIT
}

verb_test() {
  if [ "${1:-}" = --sanitize ]; then shift; verb_test_sanitize "$@"; return; fi
  [ -f /etc/debian_version ] && ensure_packages $PKGS_TEST
  [ -f /etc/debian_version ] && [ "$(id -u)" = 0 ] && ensure_packages $PKGS_LAB
  verb_build
  local rid status=0 results="$ARTIFACTS/test-results"
  rid="$(host_rid)"
  rm -rf "$results"; mkdir -p "$results"

  say "test: upstream C tests and ours (CTest)"
  if ! ctest --test-dir "$ARTIFACTS/cmake/$rid" --output-on-failure --timeout 120 \
         --output-junit "$results/ctest.xml"; then
    status=1
  fi
  [ -f "$results/ctest.xml" ] && count_junit "$results/ctest.xml"

  # The lab tests' client side runs inside the lab's lan namespace: create it (empty) and run the test process in it;
  # the NUnit fixture builds the rest of the lab around it (tests/lab/lab.sh up --id ID) and tears it down.
  local runner=() lab_id=""
  if lab_possible; then
    build_python_reference
    lab_lan_open t
    say "test: NUnit (MiniUpnp.Net.Tests), lab id $lab_id"
  else
    say "test: NUnit (MiniUpnp.Net.Tests) without the lab: $(lab_unavailable_reason)"
  fi
  if ! "${runner[@]}" dotnet test "$ROOT/tests/MiniUpnp.Net.Tests" -c "$CONFIGURATION" --no-build -nologo \
         --logger "trx;LogFileName=nunit.trx" --logger "console;verbosity=normal" \
         --results-directory "$results"; then
    status=1
  fi
  lab_lan_close
  local trx
  for trx in "$results"/*.trx; do [ -f "$trx" ] && count_trx "$trx"; done
  [ "$TOTAL_FAILED" -gt 0 ] && status=1
  echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
  return $status
}

# ---------- the sanitizer round (docs/sanitizers.md) ----------
# The ASan runtime the sanitize build of the library needs, as the loader resolves it from the library itself (gcc:
# libasan.so.8; clang with -shared-libasan: libclang_rt.asan-<arch>.so): the one to preload, whichever compiler built it.
asan_runtime_of() {
  local rt
  rt=$(ldd "$1" 2>/dev/null | awk '/(libasan\.so|libclang_rt\.asan)/ { print $3; exit }')
  [ -n "$rt" ] && [ -f "$rt" ] || return 1
  readlink -f "$rt"
}

# Sanitizer reports in a folder of log files: prints each one, sets SANITIZER_REPORTS to their number. A file holding
# nothing but LeakSanitizer's "Suppressions used" table (print_suppressions=1) is the proof that a leak check ran
# with nothing left unsuppressed; any other file (an ASan/LSan/UBSan report, a warning, anything) counts.
SANITIZER_REPORTS=0 SANITIZER_CHECKED=0 SANITIZER_SUPPRESSED=0
collect_sanitizer_reports() {
  local f rest
  SANITIZER_REPORTS=0 SANITIZER_CHECKED=0 SANITIZER_SUPPRESSED=0
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    rest=$(grep -vE '^-+$|^Suppressions used:|^ *count +bytes +template$|^ *[0-9]+ +[0-9]+ +[^ ]+$|^ *$' "$f" || true)
    if [ -z "$rest" ]; then
      SANITIZER_CHECKED=$((SANITIZER_CHECKED + 1))
      SANITIZER_SUPPRESSED=$((SANITIZER_SUPPRESSED + $(awk '/^ *[0-9]+ +[0-9]+ +[^ ]+$/ { n += $1 } END { print n + 0 }' "$f")))
    else
      SANITIZER_REPORTS=$((SANITIZER_REPORTS + 1))
      printf '==> sanitizer report %s:\n' "${f#"$ROOT"/}" >&2
      head -60 "$f" >&2
    fi
  done
}

# ./build.sh test --sanitize: the ASan + UBSan library and its CTest, then the NUnit suite (lab included, as root) with
# the test host loading that library (MINIUPNPNET_NATIVE_LIBRARY) and ASan's runtime preloaded. Every sanitizer report
# lands in artifacts/test-results-sanitize/reports/ and fails the round. Ends with "N passed, N failed, N skipped".
verb_test_sanitize() {
  [ $# -eq 0 ] || die "test --sanitize: unknown option $1"
  [ -f /etc/debian_version ] && ensure_packages $PKGS_TEST
  [ -f /etc/debian_version ] && [ "$(id -u)" = 0 ] && ensure_packages $PKGS_LAB
  local rid status=0 results="$ARTIFACTS/test-results-sanitize" lib runtime reports san="$ROOT/native/sanitize"
  rid="$(host_rid)"
  case "$rid" in linux-x64|linux-arm64) ;; *) die "test --sanitize: Linux glibc hosts only (not $rid)" ;; esac
  reports="$results/reports"
  rm -rf "$results"; mkdir -p "$reports"
  verb_native --sanitize --no-test
  verb_build
  lib="$ARTIFACTS/native/$rid-sanitize/libminiupnpc.so"
  runtime="$(asan_runtime_of "$lib")" || die "test --sanitize: $lib does not link an ASan runtime (ldd finds no libasan)"

  say "test --sanitize: upstream's C tests, the patches' reproducers and the parser samples under ASan + UBSan (CTest)"
  if ! ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
       ctest --test-dir "$ARTIFACTS/cmake/$rid-sanitize" --output-on-failure --timeout 120 --output-junit "$results/ctest.xml"; then
    status=1
  fi
  [ -f "$results/ctest.xml" ] && count_junit "$results/ctest.xml"

  local runner=() lab_id=""
  if lab_possible; then
    build_python_reference
    lab_lan_open s
    # The lab is built here, before the test host starts, so that lab.sh, ip, nft and miniupnpd start without the
    # sanitizer preload (they are not what is checked); the fixture adopts it through MINIUPNPNET_LAB_ENV. If this
    # fails, the fixture tries itself (and under CI=true the lab tests fail when it cannot).
    local lab_env
    lab_env="$(ip netns exec "mu-$lab_id-lan" "$ROOT/tests/lab/lab.sh" up --id "$lab_id" 2>&1 | tail -1)" || true
    if [ -f "$lab_env" ]; then runner+=("MINIUPNPNET_LAB_ENV=$lab_env"); else echo "$lab_env" >&2; fi
    say "test --sanitize: NUnit against $(basename "$(dirname "$lib")")/libminiupnpc.so, $(basename "$runtime") preloaded, lab id $lab_id"
  else
    say "test --sanitize: NUnit against the sanitizer library, without the lab: $(lab_unavailable_reason)"
  fi
  # dotnet test -e gives these to vstest.console and the test host (not to the SDK or MSBuild), and the processes the
  # test host starts inherit them: the upnpc-net runs of the tool tests load the same library under the same runtime.
  # ASan is fully on, leak check included, in processes named dotnet (native/sanitize/per-program/); the others that inherit the preload (lab.sh, ip, nft, miniupnpd,
  # python3, the reference upnpc) keep ASan's allocator and report memory errors, but skip the leak check and the
  # string-function checks: Debian's `ip` calls strncpy on overlapping buffers, which ASan aborts, taking the lab down.
  # malloc_context_size=3: the suppressions of lsan-dotnet.supp then see only the allocation site (see that file).
  local asan="log_path=$reports/asan:log_exe_name=1:detect_leaks=0:malloc_context_size=3"
  asan+=":replace_str=0:intercept_strlen=0:intercept_strchr=0:intercept_strndup=0"
  asan+=":allow_user_segv_handler=1:include_if_exists=$san/per-program/%b"
  # Excluded by category, each with its reason (the comment "// NotUnderSanitizers: ..." above it), said aloud.
  say "test --sanitize: not run under the sanitizers (category NotUnderSanitizers):"
  grep -rhoE 'NotUnderSanitizers: .*' "$ROOT/tests/MiniUpnp.Net.Tests" --include=*.cs | sed 's/^NotUnderSanitizers: /    /' || true
  # VSTEST_TESTHOST_SHUTDOWN_TIMEOUT (ms): vstest kills a test host still running 100 ms after the session ends, which
  # is before LeakSanitizer's exit check is done. use_tls=0: with it on, LSan's tracer crashes (SIGSEGV) in the test
  # host; see lsan-dotnet.supp for the one false report that costs. The test host is started through a link named
  # dotnet-testhost (RunConfiguration.DotNetHostPath), so that its log (asan.dotnet-testhost.<pid>) proves its own
  # leak check ran: both silent failures above were found that way.
  local dotnet_real
  dotnet_real="$(readlink -f "$(command -v dotnet)")"
  ln -sf "$dotnet_real" "$results/dotnet-testhost"
  if ! "${runner[@]}" env VSTEST_TESTHOST_SHUTDOWN_TIMEOUT=180000 \
         dotnet test "$ROOT/tests/MiniUpnp.Net.Tests" -c "$CONFIGURATION" --no-build -nologo \
         --filter "TestCategory!=NotUnderSanitizers" \
         -e "LD_PRELOAD=$runtime" -e "MINIUPNPNET_NATIVE_LIBRARY=$lib" -e "MINIUPNPNET_NATPMP_LIBRARY=${lib%/*}/libnatpmp.so" -e "ASAN_OPTIONS=$asan" \
         -e "LSAN_OPTIONS=suppressions=$san/lsan-dotnet.supp:print_suppressions=1:use_tls=0" \
         -e "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan:log_exe_name=1" \
         --logger "trx;LogFileName=nunit-sanitize.trx" --logger "console;verbosity=normal" \
         --results-directory "$results" -- "RunConfiguration.DotNetHostPath=$results/dotnet-testhost"; then
    status=1
  fi
  lab_lan_close
  local trx
  for trx in "$results"/*.trx; do [ -f "$trx" ] && count_trx "$trx"; done
  collect_sanitizer_reports "$reports"
  say "test --sanitize: $SANITIZER_REPORTS sanitizer report(s); leak check done with nothing unsuppressed in" \
      "$SANITIZER_CHECKED dotnet process(es) (vstest, the test host, upnpc-net runs; $SANITIZER_SUPPRESSED runtime allocations suppressed)"
  if [ "$SANITIZER_REPORTS" -gt 0 ]; then
    TOTAL_FAILED=$((TOTAL_FAILED + SANITIZER_REPORTS)); status=1
  fi
  if ! ls "$reports"/asan.dotnet-testhost.* >/dev/null 2>&1; then
    echo "test --sanitize: the test host's LeakSanitizer exit check did not run (no $reports/asan.dotnet-testhost.*)" >&2
    TOTAL_FAILED=$((TOTAL_FAILED + 1)); status=1
  fi
  [ "$TOTAL_FAILED" -gt 0 ] && status=1
  echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
  return $status
}

# The conformance reference: miniupnpc's Python module built from the same pinned, patched source, by Debian's
# /usr/bin/python3 (not another Python on PATH). setup.py runs make inside the tree, so it builds in a copy.
build_python_reference() {
  [ -f /etc/debian_version ] && ensure_packages $PKGS_LAB
  local out="$ARTIFACTS/python-ref" src="$ARTIFACTS/src/miniupnpc-2.3.3"
  [ -d "$src" ] || verb_native
  if ! { [ -f "$out/stamp" ] && cmp -s "$out/stamp" "$src/.miniupnpnet-stamp" && ls "$out"/lib/miniupnpc*.so >/dev/null 2>&1; }; then
    say "reference: Python module miniupnpc 2.3.3 (setup.py build)"
    rm -rf "$out"; mkdir -p "$out/lib"
    cp -r "$src" "$out/src"
    (cd "$out/src" && /usr/bin/python3 setup.py build >"$out/build.log" 2>&1) || { tail -20 "$out/build.log" >&2; die "building the Python reference module failed"; }
    cp "$out"/src/build/lib.*/miniupnpc*.so "$out/lib/"
    cp "$src/.miniupnpnet-stamp" "$out/stamp"
  fi
  # libnatpmp's module is Python 2 only: tests/lab/natpmp-py3.sh builds it for Python 3 (module init and type header
  # changed, nothing else), test only, never shipped.
  local nout="$ARTIFACTS/python-ref-natpmp" nsrc="$ARTIFACTS/src/libnatpmp-20230423"
  [ -d "$nsrc" ] || verb_native
  if ! { [ -f "$nout/stamp" ] && cmp -s "$nout/stamp" "$nsrc/.miniupnpnet-stamp" && ls "$nout"/lib/libnatpmp*.so >/dev/null 2>&1; }; then
    say "reference: Python module libnatpmp 20230423 (Python 3 init, tests/lab/natpmp-py3.sh)"
    "$ROOT/tests/lab/natpmp-py3.sh" "$nsrc" "$nout" || die "building the libnatpmp Python reference module failed"
    cp "$nsrc/.miniupnpnet-stamp" "$nout/stamp"
  fi
}

# The IGD lab needs root, Linux network namespaces, nftables and miniupnpd.
lab_unavailable_reason() {
  if [ "$(uname -s)" != Linux ]; then echo "not Linux"
  elif [ "$(id -u)" != 0 ]; then echo "not root (network namespaces need root)"
  elif ! have ip; then echo "no iproute2"
  elif ! ip netns list >/dev/null 2>&1; then echo "network namespaces are not available"
  elif ! have miniupnpd && [ ! -x /usr/sbin/miniupnpd ]; then echo "miniupnpd is not installed (apt-get install miniupnpd-nftables)"
  else echo ""
  fi
}
lab_possible() { [ -z "$(lab_unavailable_reason)" ]; }

verb_lab() {
  [ -f /etc/debian_version ] && ensure_packages $PKGS_LAB
  exec "$ROOT/tests/lab/lab.sh" "$@"
}

# The README's first command: build, start the lab, and show a port being mapped, used and closed, with the
# commands a user types (the upnpc-net tool), each step in plain words.
verb_demo() {
  # Install first (as root on Debian), then check what the lab needs: a fresh machine lacks miniupnpd.
  [ -f /etc/debian_version ] && [ "$(id -u)" = 0 ] && ensure_packages $PKGS_LAB
  lab_possible || die "the demo needs the IGD lab, which cannot run here: $(lab_unavailable_reason)"
  verb_build
  local tool step=0
  # Globals, not locals: the EXIT trap runs after this function has returned.
  DEMO_ID="demo$$" DEMO_SERVICE_PID=""
  tool="$(ls "$ARTIFACTS"/bin/MiniUpnp.Net.Tool/release/upnpc-net.dll 2>/dev/null | head -1)"
  [ -n "$tool" ] || die "the upnpc-net tool was not built"
  demo_step() { step=$((step + 1)); printf '\n==> demo %d/7: %s\n' "$step" "$*"; }
  demo_cleanup() {
    [ -n "${DEMO_SERVICE_PID:-}" ] && kill "$DEMO_SERVICE_PID" 2>/dev/null || true
    "$ROOT/tests/lab/lab.sh" down --id "$DEMO_ID" >/dev/null 2>&1 || true
  }
  trap demo_cleanup EXIT

  demo_step "starting the IGD lab: a real router (miniupnpd) between a LAN and a WAN, in network namespaces"
  local env_file
  env_file="$("$ROOT/tests/lab/lab.sh" up --id "$DEMO_ID" | tail -1)"
  # shellcheck disable=SC1090
  source "$env_file"
  echo "    LAN host $LAN_ADDR  --  router $IGD_LAN_ADDR / $IGD_WAN_ADDR  --  Internet host $WAN_ADDR"

  demo_step "a service on the LAN host listens on port 8080"
  ip netns exec "$LAN_NS" /usr/bin/python3 "$ROOT/tests/lab/demo_service.py" 8080 & DEMO_SERVICE_PID=$!
  sleep 0.3

  local run=(ip netns exec "$LAN_NS" dotnet "$tool")
  demo_step "mapping port 8080 on the router to it:  upnpc-net add 8080 tcp \"MiniUpnp.Net demo\""
  "${run[@]}" add 8080 tcp "MiniUpnp.Net demo"

  demo_step "the router's port mappings:  upnpc-net list"
  "${run[@]}" list

  demo_step "an Internet host ($WAN_ADDR) connects to the router's public side, $IGD_WAN_ADDR:8080"
  demo_connect "$WAN_NS" "$IGD_WAN_ADDR" 8080 || die "the service was not reachable through the mapping"

  demo_step "removing the mapping:  upnpc-net delete 8080 tcp"
  "${run[@]}" delete 8080 tcp

  demo_step "the Internet host tries again"
  if demo_connect "$WAN_NS" "$IGD_WAN_ADDR" 8080; then die "the port is still open after the deletion"; fi
  echo "    closed, as it should be"
  printf '\n==> demo: done; tearing the lab down\n'
}

# Connects from a namespace to host:port and prints what the service says; fails when nothing answers.
demo_connect() {
  ip netns exec "$1" /usr/bin/python3 "$ROOT/tests/lab/connect.py" "$2" "$3"
}

# Packs every RID this host builds (buildable_rids: on Debian x86_64 the five of build/cross.sh, whose toolchains it
# installs), building each first, so that MiniUpnp.Net depends on all of them; --host-only: the host's RID alone.
verb_pack() {
  local host_only=0 rids rid
  while [ $# -gt 0 ]; do
    case "$1" in
      --host-only) host_only=1; shift ;;
      *) die "pack: unknown option $1" ;;
    esac
  done
  ensure_dotnet
  if [ $host_only = 1 ]; then
    rids="$(host_rid)"
    say "pack --host-only: $rids alone (MiniUpnp.Net then depends on that one runtime package: for local use, not for publishing)"
  else
    rids="$(buildable_rids)"
    say "pack: every RID this host builds: $rids (--host-only: $(host_rid) alone)"
    [ "$rids" = "$(host_rid)" ] || "$ROOT/build/cross.sh" install-toolchains
  fi
  for rid in $rids; do verb_native --rid "$rid"; done
  MINIUPNPNET_REQUIRED_RIDS="$rids" "$ROOT/build/pack.sh"
}

verb_deps() {
  ensure_packages $PKGS_TEST $PKGS_LAB $PKGS_PACKAGING $PKGS_FUZZ
  if cross_host; then ensure_packages $PKGS_CROSS; fi
  ensure_dotnet
  say "deps: all present"
}

# ---------- ci: everything .ci/run checks ----------
# Each part runs as a process of its own, its output shown and kept in artifacts/ci-<part>.log, its counts added to
# one final line "N passed, N failed, N skipped":
#   generate   ./build.sh generate --check                     one pass, or one failure
#   test       ./build.sh test (CTest, NUnit with the lab)     its final line
#   cross      build/cross.sh all (the other RIDs; Debian x86_64 only)   its JUnit file (none: one failure)
#   packaging  build/pack.sh with those RIDs + tests/packaging/consume.sh   consume.sh's JUnit file (none: one failure)
#   wine       tests/packaging/wine.sh: the win-x64 packages under wine against the lab (Debian x86_64 only)
#                                                              wine.sh's JUnit file (none: one failure)
#   mono       tests/packaging/mono.sh: lib/netstandard2.0 under Mono against the lab (linux-x64 hosts)
#                                                              mono.sh's JUnit file (none: one failure)
#   sanitize   ./build.sh test --sanitize                      its final line (one failure per sanitizer report)
#   fuzz       ./build.sh fuzz 20                              per harness: no crash one pass, else one failure
CI_PASSED=0 CI_FAILED=0 CI_SKIPPED=0 CI_STATUS=0 CI_RC=0 CI_TIMES=()
ci_part() { # NAME LABEL COMMAND...: runs it, output to the terminal and artifacts/ci-NAME.log; records time and status
  local name="$1" label="$2" t0 rc=0; shift 2
  t0=$(date +%s)
  say "ci: $label"
  "$@" 2>&1 | tee "$ARTIFACTS/ci-$name.log" || rc=$?
  CI_TIMES+=("$label $(( $(date +%s) - t0 )) s")
  CI_RC=$rc
  [ $rc = 0 ] || CI_STATUS=1
}
ci_count() { # PASSED FAILED SKIPPED
  CI_PASSED=$((CI_PASSED + $1)); CI_FAILED=$((CI_FAILED + $2)); CI_SKIPPED=$((CI_SKIPPED + $3))
}
ci_add_summary() { # LOG: its last "N passed, N failed, N skipped" line (one failure when there is none)
  local summary
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$1" | tail -1 || true)
  [ -n "$summary" ] || summary="0 passed, 1 failed, 0 skipped"
  ci_count "$(echo "$summary" | cut -d' ' -f1)" "$(echo "$summary" | cut -d' ' -f3)" "$(echo "$summary" | cut -d' ' -f5)"
}
ci_add_junit() { # FILE: its counts (one failure when there is none)
  if [ -f "$1" ]; then
    TOTAL_PASSED=0 TOTAL_FAILED=0 TOTAL_SKIPPED=0
    count_junit "$1"
    ci_count "$TOTAL_PASSED" "$TOTAL_FAILED" "$TOTAL_SKIPPED"
  else
    ci_count 0 1 0
  fi
}
ci_packaging() { # the RIDs cross built (or the host's), packed, then installed and run by a new console app
  MINIUPNPNET_REQUIRED_RIDS="$(buildable_rids)" "$ROOT/build/pack.sh" &&
    "$ROOT/tests/packaging/consume.sh" --junit "$1"
}

verb_ci() {
  [ $# -eq 0 ] || die "ci: unknown option $1"
  export CI="${CI:-true}"
  local start results="$ARTIFACTS/test-results" h crashes
  start=$(date +%s)
  mkdir -p "$ARTIFACTS"

  # The committed interop must be what the generator makes from the pinned headers.
  ci_part generate "generate --check" "$ROOT/build.sh" generate --check
  if [ $CI_RC = 0 ]; then ci_count 1 0 0; else ci_count 0 1 0; fi

  ci_part test "test" "$ROOT/build.sh" test
  ci_add_summary "$ARTIFACTS/ci-test.log"

  # (After the test part, which empties artifacts/test-results/.)
  mkdir -p "$results"
  if cross_host; then
    rm -f "$results/cross.xml"
    ci_part cross "cross RIDs" "$ROOT/build/cross.sh" all --junit "$results/cross.xml"
    ci_add_junit "$results/cross.xml"
  else
    say "ci: no cross RIDs on this host ($(host_rid))"
  fi

  rm -f "$results/packaging.xml"
  ci_part packaging "packaging" ci_packaging "$results/packaging.xml"
  ci_add_junit "$results/packaging.xml"

  # The win-x64 packages on Windows: wine, against the lab's router (tests/packaging/wine.sh), where win-x64 is built.
  if cross_host; then
    rm -f "$results/wine.xml"
    ci_part wine "Windows under wine" "$ROOT/tests/packaging/wine.sh" --junit "$results/wine.xml"
    ci_add_junit "$results/wine.xml"
  else
    say "ci: no win-x64 package on this host ($(host_rid)): the Windows step runs where it is built"
  fi

  # The netstandard2.0 build under Mono (Unity's runtime) against the lab (tests/packaging/mono.sh), where linux-x64 is
  # packed: the host's RID on Linux x86_64.
  if [ "$(host_rid)" = linux-x64 ]; then
    rm -f "$results/mono.xml"
    ci_part mono "netstandard2.0 under Mono" "$ROOT/tests/packaging/mono.sh" --junit "$results/mono.xml"
    ci_add_junit "$results/mono.xml"
  else
    say "ci: no linux-x64 package on this host ($(host_rid)): the Mono step runs where it is built"
  fi

  # The sanitizer round (docs/sanitizers.md): its CTest and NUnit counts, plus one failure per sanitizer report.
  ci_part sanitize "sanitizer round" "$ROOT/build.sh" test --sanitize
  ci_add_summary "$ARTIFACTS/ci-sanitize.log"

  # Fuzzing, 20 s per harness (native/fuzz/README.md).
  rm -f "$ARTIFACTS/fuzz/summary.txt"
  ci_part fuzz "fuzzing" "$ROOT/build.sh" fuzz 20
  for h in rootdesc portlisting namevalue; do
    crashes=$(awk -v h="$h" '$1 == h { print $NF }' "$ARTIFACTS/fuzz/summary.txt" 2>/dev/null || true)
    if [ "$crashes" = 0 ]; then ci_count 1 0 0; else ci_count 0 1 0; fi
  done

  echo "ci: $(( $(date +%s) - start )) s ($(IFS=,; echo "${CI_TIMES[*]}" | sed 's/,/, /g'))"
  echo "$CI_PASSED passed, $CI_FAILED failed, $CI_SKIPPED skipped"
  [ $CI_STATUS = 0 ] && [ $CI_FAILED = 0 ]
}

verb_bench() {
  [ -f /etc/debian_version ] && ensure_packages $PKGS_NATIVE $PKGS_LAB
  lab_possible || die "the benchmark needs the IGD lab: $(lab_unavailable_reason)"
  ensure_dotnet
  [ -f "$ARTIFACTS/native/$(host_rid)/libminiupnpc.so" ] || verb_native
  build_python_reference
  exec "$ROOT/bench/run.sh" "$@"
}

main() {
  local verb="${1:-help}"
  [ $# -gt 0 ] && shift
  case "$verb" in
    native) verb_native "$@" ;;
    generate) verb_generate "$@" ;;
    build) verb_build "$@" ;;
    test) verb_test "$@" ;;
    ci) verb_ci "$@" ;;
    lab) verb_lab "$@" ;;
    deps) verb_deps "$@" ;;
    demo) verb_demo "$@" ;;
    pack) verb_pack "$@" ;;
    fuzz) verb_fuzz "$@" ;;
    bench) verb_bench "$@" ;;
    reference) build_python_reference ;;
    help|-h|--help) usage ;;
    *) usage >&2; die "unknown verb '$verb'" ;;
  esac
}
main "$@"
