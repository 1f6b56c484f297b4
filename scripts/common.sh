# shellcheck shell=bash
# Shared by the operational scripts: where things are, which mode (local or compose), and the CLI to run.

# shellcheck disable=SC2034  # used by the scripts that source this file
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC2034
DATA_DIR="${MEMORY_DATA_DIR:-$HOME/.local/share/claude-memory}"
PORT="${MEMORY_PORT:-3333}"
BASE_URL="http://127.0.0.1:${PORT}"

say() { printf 'claude-memory: %s\n' "$*"; }
die() { printf 'claude-memory: error: %s\n' "$*" >&2; exit 1; }

# The claude-memory command: CLAUDE_MEMORY_BIN, else the checkout's .venv, else one on PATH (pipx, uv tool).
cm_bin() {
  if [ -n "${CLAUDE_MEMORY_BIN:-}" ]; then
    printf '%s\n' "$CLAUDE_MEMORY_BIN"
  elif [ -x "$ROOT/.venv/bin/claude-memory" ]; then
    printf '%s\n' "$ROOT/.venv/bin/claude-memory"
  elif command -v claude-memory >/dev/null 2>&1; then
    command -v claude-memory
  else
    return 1
  fi
}

# compose when CLAUDE_MEMORY_MODE=compose, or unset and the compose mcp-server is running; else local.
detect_mode() {
  case "${CLAUDE_MEMORY_MODE:-}" in
    local|compose) printf '%s\n' "$CLAUDE_MEMORY_MODE"; return ;;
    "") ;;
    *) die "CLAUDE_MEMORY_MODE must be local or compose, not ${CLAUDE_MEMORY_MODE}" ;;
  esac
  if command -v docker >/dev/null 2>&1 && [ -f "$ROOT/docker-compose.yml" ] \
      && [ -n "$(cd "$ROOT" && docker compose ps --status running -q mcp-server 2>/dev/null)" ]; then
    printf 'compose\n'
  else
    printf 'local\n'
  fi
}

compose() { (cd "$ROOT" && docker compose "$@"); }

healthy() { curl -fsS --max-time 3 "$BASE_URL/health" >/dev/null 2>&1; }

wait_healthy() {  # wait_healthy SECONDS
  local deadline=$((SECONDS + $1))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if healthy; then return 0; fi
    sleep 1
  done
  return 1
}
