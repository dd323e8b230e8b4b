# Sourced by the smoke tests (smoke_test.sh, compare_smoke_test.sh): a temporary results
# folder, removed at exit unless KEEP_VAR=1, and `run` for the tool under test, in the
# background so that a signal to the test reaches it and waits for it to stop its processes.
#   smoke_begin NAME KEEP_VAR   sets $tmp
#   run COMMAND...              its exit status

smoke_begin() {
  smoke_keep_var="$2"
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/pinwheel-$1.XXXXXX")"
  child=""
  trap smoke_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

smoke_cleanup() {
  # The tools stop their own processes when signalled; wait for them to do so.
  if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [[ "${!smoke_keep_var:-0}" == 1 ]]; then
    echo "smoke: results kept in $tmp"
  else
    rm -rf "$tmp"
  fi
}

run() {
  "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=""
  return "$rc"
}
