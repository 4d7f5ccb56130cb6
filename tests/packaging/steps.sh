# Sourced by consume.sh, wine.sh and mono.sh: their steps, their JUnit file and the consumer's NuGet.config.
# The script sets SUITE (the JUnit suite and class name), junit (a file, or empty) and LOG (a step's output), and has
# sourced build/common.sh (now, elapsed, native_path) first.

names=(); states=(); times=(); texts=()
failed=0

# record NAME pass|fail|skip SECONDS TEXT
record() {
  names+=("$1"); states+=("$2"); times+=("$3"); texts+=("$4")
  printf '%-4s %s (%ss)\n' "$(case "$2" in pass) echo PASS ;; skip) echo SKIP ;; *) echo FAIL ;; esac)" "$1" "$3"
}

xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }

write_junit() {
  [ -n "$junit" ] || return 0
  local n=${#names[@]} f=0 s=0 i esc name
  for ((i = 0; i < n; i++)); do
    [ "${states[$i]}" = fail ] && f=$((f + 1))
    [ "${states[$i]}" = skip ] && s=$((s + 1))
  done
  mkdir -p "$(dirname "$junit")"
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo "<testsuite name=\"$SUITE\" tests=\"$n\" failures=\"$f\" errors=\"0\" skipped=\"$s\">"
    for ((i = 0; i < n; i++)); do
      name=$(printf '%s' "${names[$i]}" | xml_escape)
      esc=$(printf '%s' "${texts[$i]}" | tail -c 6000 | xml_escape)
      case "${states[$i]}" in
        fail) echo "  <testcase classname=\"$SUITE\" name=\"$name\" time=\"${times[$i]}\"><failure message=\"failed\">$esc</failure></testcase>" ;;
        skip) echo "  <testcase classname=\"$SUITE\" name=\"$name\" time=\"0\"><skipped message=\"$esc\"/></testcase>" ;;
        *) echo "  <testcase classname=\"$SUITE\" name=\"$name\" time=\"${times[$i]}\"><system-out>$esc</system-out></testcase>" ;;
      esac
    done
    echo '</testsuite>'
  } >"$junit"
}

# step NAME command... : runs it with its output in $LOG, records pass/fail and the time.
step() {
  local name="$1" t0 rc; shift
  t0=$(now)
  set +e; "$@" >"$LOG" 2>&1; rc=$?; set -e
  if [ $rc = 0 ]; then record "$name" pass "$(elapsed "$t0")" "$(cat "$LOG")"; else
    record "$name" fail "$(elapsed "$t0")" "$(cat "$LOG")"; failed=$((failed + 1)); sed 's/^/    | /' "$LOG" | tail -40
  fi
  return $rc
}

# unavailable WHY: a missing prerequisite fails under CI=true (the step must run there), and is a skip elsewhere.
unavailable() {
  if [ "${CI:-}" = true ]; then
    record "prerequisites" fail 0 "$1 (CI=true: the $SUITE step must run)"; failed=$((failed + 1)); exit 1
  fi
  record "prerequisites" skip 0 "$1"
  exit 0
}

# write_nuget_config DIR FEED NUGET_FEED: MiniUpnp.Net* only from FEED (artifacts/packages), the rest from NUGET_FEED.
write_nuget_config() {
  cat >"$1/NuGet.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$(native_path "$2")" />
    <add key="feed" value="$3" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local">
      <package pattern="MiniUpnp.Net" />
      <package pattern="MiniUpnp.Net.*" />
    </packageSource>
    <packageSource key="feed">
      <package pattern="*" />
    </packageSource>
  </packageSourceMapping>
</configuration>
XML
}
