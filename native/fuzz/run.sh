#!/usr/bin/env bash
# Fuzzes miniupnpc's parsers with libFuzzer (clang): ./build.sh fuzz SECONDS  or  native/fuzz/run.sh SECONDS [HARNESS...]
#
#   1. the pinned, verified, patched source (cmake/MiniupnpcSource.cmake: the same tree ./build.sh native builds);
#   2. a static miniupnpc built by upstream's CMake with clang, -fsanitize=address,undefined,fuzzer-no-link, in
#      artifacts/fuzz/build (never the library we ship);
#   3. the harnesses fuzz_rootdesc.c, fuzz_portlisting.c, fuzz_namevalue.c linked against it with -fsanitize=fuzzer;
#   4. each harness run for SECONDS, one process (no -jobs/-workers), seeded from native/fuzz/seeds/<harness>/ and
#      upstream's testdesc/ (root descriptions) or testreplyparse/ (SOAP replies), with native/fuzz/xml.dict.
#      The corpus grows in artifacts/fuzz/corpus/<harness>/ and is kept between runs; crash, leak and timeout
#      inputs go to artifacts/fuzz/crashes/<harness>/.
#
# Prints executions, edges covered, new inputs, corpus size (minimised after the run) and crashes per harness, writes artifacts/fuzz/summary.txt, and exits
# non-zero when a harness found a crash (reproduce with: artifacts/fuzz/bin/fuzz_<harness> <crash file>).
# Needs clang and its sanitizer/libFuzzer runtime (Debian 12: clang, libclang-rt-14-dev). Local only: no network.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/artifacts/fuzz"
ALL_HARNESSES=(rootdesc portlisting namevalue)

die() { printf 'fuzz: %s\n' "$*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: native/fuzz/run.sh SECONDS [HARNESS...]   (harnesses: ${ALL_HARNESSES[*]})"
SECS="$1"; shift
[[ "$SECS" =~ ^[0-9]+$ ]] && [ "$SECS" -ge 1 ] || die "SECONDS must be a positive integer, not '$SECS'"
HARNESSES=("${ALL_HARNESSES[@]}")
[ $# -gt 0 ] && HARNESSES=("$@")
for h in "${HARNESSES[@]}"; do
  [ -f "$HERE/fuzz_$h.c" ] || die "no harness $h (${ALL_HARNESSES[*]})"
done

CC="${FUZZ_CC:-clang}"
command -v "$CC" >/dev/null 2>&1 || die "$CC not found (Debian: apt-get install clang libclang-rt-14-dev)"
command -v cmake >/dev/null 2>&1 || die "cmake not found"
mkdir -p "$OUT/bin" "$OUT/logs"
probe="$OUT/bin/.probe"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$probe.c"
"$CC" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" >/dev/null 2>&1 \
  || die "$CC cannot link -fsanitize=fuzzer,address,undefined (Debian: apt-get install libclang-rt-$("$CC" -dumpversion | cut -d. -f1)-dev)"
rm -f "$probe" "$probe.c"

# 1. source
cmake -D "DEST=$ROOT/artifacts/src" -D "CACHE_DIR=$ROOT/native/cache" -P "$ROOT/cmake/MiniupnpcSource.cmake" \
  >"$OUT/logs/source.log" 2>&1 || { cat "$OUT/logs/source.log" >&2; die "could not obtain the miniupnpc source"; }
SRC="$ROOT/artifacts/src/miniupnpc-2.3.3"
patches=0
# Every patch must really be in the tree: `git apply` inside another repository's work tree skips files silently.
for p in "$ROOT"/native/patches/*.patch; do
  [ -e "$p" ] || continue
  GIT_CEILING_DIRECTORIES="$(dirname "$SRC")" git -C "$SRC" apply --reverse --check -p1 "$p" >/dev/null 2>&1 \
    || die "$SRC lacks $(basename "$p") although its stamp lists it: git apply skipped it (see \"Applying the patches\" in native/patches/README.md)"
  patches=$((patches + 1))
done

# 2. the instrumented static library
CFLAGS_FUZZ="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
cmake -S "$SRC" -B "$OUT/build" "${gen[@]}" -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE= \
  "-DCMAKE_C_FLAGS=$CFLAGS_FUZZ -fsanitize=fuzzer-no-link" \
  -DUPNPC_BUILD_SHARED=OFF -DUPNPC_BUILD_STATIC=ON -DUPNPC_BUILD_TESTS=OFF -DUPNPC_BUILD_SAMPLE=OFF \
  -DUPNPC_NO_INSTALL=ON >"$OUT/logs/library.log" 2>&1 \
  && cmake --build "$OUT/build" >>"$OUT/logs/library.log" 2>&1 \
  || { tail -30 "$OUT/logs/library.log" >&2; die "building the instrumented library failed"; }
LIB="$OUT/build/libminiupnpc.a"

# 3. harnesses
for h in "${HARNESSES[@]}"; do
  "$CC" $CFLAGS_FUZZ -fsanitize=fuzzer -DMINIUPNP_STATICLIB -I"$SRC/include" -I"$SRC/src" \
    "$HERE/fuzz_$h.c" "$LIB" -o "$OUT/bin/fuzz_$h" || die "building fuzz_$h failed"
done

upstream_seeds() {
  case "$1" in
    rootdesc) echo "$SRC/testdesc" ;;
    *) echo "$SRC/testreplyparse" ;;
  esac
}

# 4. run
printf 'fuzz: miniupnpc 2.3.3 + %s patches, %s s per harness, one process each\n' "$patches" "$SECS"
summary="$OUT/summary.txt"
fmt='%-12s %12s %8s %6s %6s %15s %7s\n'
printf "$fmt" harness executions exec/s edges new corpus crashes | tee "$summary"
total_execs=0 total_crashes=0
for h in "${HARNESSES[@]}"; do
  corpus="$OUT/corpus/$h" crashes="$OUT/crashes/$h" seeds="$OUT/seeds/$h" log="$OUT/logs/$h.log"
  mkdir -p "$corpus" "$crashes"
  rm -rf "$seeds"; mkdir -p "$seeds"
  cp "$HERE/seeds/$h/"* "$seeds/" 2>/dev/null || true
  cp "$(upstream_seeds "$h")"/*.xml "$seeds/"
  before=$(find "$crashes" -type f | wc -l)
  rc=0
  # -timeout: one input running 10 s is a finding (a hang); -rss_limit_mb: 2 GB is one too.
  "$OUT/bin/fuzz_$h" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -dict="$HERE/xml.dict" -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1 || true)
  added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1 || true)
  cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|NEW|pulse|REDUCE|INITED)' "$log" | tail -1 | sed -n 's/.* cov: \([0-9]*\).*/\1/p' || true)
  # keep the stored corpus minimal: the inputs that give all the coverage reached (bounded: a few seconds)
  if [ "$rc" -eq 0 ]; then
    rm -rf "$corpus.min"; mkdir -p "$corpus.min"
    if timeout 300 "$OUT/bin/fuzz_$h" -merge=1 -timeout=10 -max_len=8192 "$corpus.min" "$corpus" >"$OUT/logs/$h.merge.log" 2>&1; then
      rm -rf "$corpus"; mv "$corpus.min" "$corpus"
    else
      rm -rf "$corpus.min"
    fi
  fi
  size="$(find "$corpus" -type f | wc -l) ($(du -sk "$corpus" | cut -f1) KiB)"
  found=$(( $(find "$crashes" -type f | wc -l) - before ))
  [ "$rc" -ne 0 ] && [ "$found" -eq 0 ] && found=1   # died without writing an input (should not happen)
  printf "$fmt" "$h" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${added:-?}" "$size" "$found" | tee -a "$summary"
  total_execs=$(( total_execs + ${execs:-0} ))
  total_crashes=$(( total_crashes + found ))
  if [ "$found" -gt 0 ]; then
    grep -E 'ERROR: |SUMMARY: |runtime error|Test unit written to' "$log" | head -8 >&2 || true
    printf 'fuzz: %s: see %s\n' "$h" "$log" >&2
  fi
done
printf "$fmt" total "$total_execs" "" "" "" "" "$total_crashes" | tee -a "$summary"
[ "$total_crashes" -eq 0 ]
