#!/usr/bin/env bash
# The hourly job: import → distill (skipped with one log line when the LLM is down) → signals → behaviour.
# One run at a time; the log is bounded (rotated at LOG_MAX_BYTES, LOG_KEEP files).
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/scripts/common.sh"

usage() {
  cat <<'USAGE'
Usage: import-cron.sh [--log FILE]

Runs claude-memory import --claude-code, distill, signals and behavior, appending everything to
$MEMORY_DATA_DIR/logs/import-cron.log (rotated at LOG_MAX_BYTES, default 2000000, keeping LOG_KEEP=3 old
files). A second run started while one is going exits 0 saying so. Works for the local install and, when the
compose services run (or CLAUDE_MEMORY_MODE=compose), through `docker compose exec mcp-server`.
Installed hourly by setup-launchagent.sh.
USAGE
}

LOG="$DATA_DIR/logs/import-cron.log"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --log) LOG="${2:?--log needs a file}"; shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
MAX="${LOG_MAX_BYTES:-2000000}" KEEP="${LOG_KEEP:-3}"
mkdir -p "$(dirname "$LOG")" "$DATA_DIR"

rotate() {
  [ -f "$LOG" ] || return 0
  [ "$(wc -c < "$LOG")" -ge "$MAX" ] || return 0
  local i
  for ((i = KEEP - 1; i >= 1; i--)); do
    [ -f "$LOG.$i" ] && mv -f "$LOG.$i" "$LOG.$((i + 1))"
  done
  mv -f "$LOG" "$LOG.1"
  rm -f "$LOG.$((KEEP + 1))"
}

# Append stdin to the log, rotating as it grows, so even a huge output keeps the log within its bound.
append() {
  local line n=0
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\n' "${line:0:4000}" >> "$LOG"
    n=$((n + 1))
    if [ $((n % 100)) -eq 0 ]; then rotate; fi
  done
  rotate
}

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" | append; }

# One run at a time: an atomic mkdir lock holding the owner's pid; a lock whose owner is gone is taken over.
LOCK="$DATA_DIR/import-cron.lock"
if ! mkdir "$LOCK" 2>/dev/null; then
  owner="$(cat "$LOCK/pid" 2>/dev/null || true)"
  if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then
    say "another import-cron run (pid $owner) holds the lock; exiting"
    log "skipped: another run (pid $owner) holds the lock"
    exit 0
  fi
  rm -rf "$LOCK"
  mkdir "$LOCK" || { say "another import-cron run just took the lock; exiting"; exit 0; }
fi
echo "$$" > "$LOCK/pid"
trap 'rm -rf "$LOCK"' EXIT

if [ "$(detect_mode)" = compose ]; then
  run_cm() { compose exec -T mcp-server claude-memory "$@"; }
else
  CM="$(cm_bin)" || { log "error: claude-memory is not installed (run ./scripts/install)"; exit 1; }
  run_cm() { "$CM" "$@"; }
fi

failed=0
step() {  # step NAME ARGS…: run one stage, its output into the log; a failure is logged, the rest goes on
  local name="$1" out rc=0
  shift
  out="$(mktemp)"
  log "$name: start"
  run_cm "$@" > "$out" 2>&1 || rc=$?
  if { [ "$name" = distill ] || [ "$name" = behavior ]; } && [ "$rc" -eq 2 ] && grep -q "unreachable" "$out"; then
    log "$name: skipped, the LLM is unreachable ($(grep -m1 unreachable "$out" | cut -c1-200))"
    rm -f "$out"
    return 0
  fi
  append < "$out"
  rm -f "$out"
  if [ "$rc" -ne 0 ]; then
    log "$name: failed (exit $rc)"
    failed=1
  else
    log "$name: done"
  fi
}

step import import --claude-code
step distill distill
step signals signals
step behavior behavior
exit "$failed"
