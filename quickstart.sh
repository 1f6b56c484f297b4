#!/usr/bin/env bash
# Set claude-memory up once: services, import, distill, signals, Claude Code registration, hooks, schedule.
# Re-runnable: a second run does only what is missing and says so.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/scripts/common.sh"

usage() {
  cat <<'USAGE'
Usage: quickstart.sh [--yes] [--docker | --local] [--no-service] [--no-hooks] [--no-schedule]

1. services: with Docker available and chosen (--docker), `docker compose up -d` and wait for health;
   otherwise the local mode: the README's install (.venv, the embedded PostgreSQL) and the server installed
   as a user service that starts at login (systemd user unit on Linux, LaunchAgent on macOS; where neither
   is available the unit is written to $MEMORY_DATA_DIR/units/ and the server started in the background)
2. import your Claude Code history (CLAUDE_PROJECTS_DIR)
3. distill with the local LLM if it answers at OLLAMA_URL (otherwise how to start Ollama is printed)
4. extract signals (no LLM)
5. register with Claude Code when `claude` is on PATH (skipped when already registered)
6. offer the SessionStart/SessionEnd hooks and the hourly scheduler (--yes: install both)
Each step prints what it did; a failure stops with a message and a non-zero exit.
USAGE
}

YES=0 MODE="" SERVICE=1 HOOKS=1 SCHEDULE=1
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    -y|--yes) YES=1; shift ;;
    --docker) MODE=compose; shift ;;
    --local) MODE=local; shift ;;
    --no-service) SERVICE=0; shift ;;
    --no-hooks) HOOKS=0; shift ;;
    --no-schedule) SCHEDULE=0; shift ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

ask() {  # ask QUESTION → 0 for yes
  [ "$YES" -eq 1 ] && return 0
  [ -t 0 ] || return 1
  local answer
  printf '%s [y/N] ' "$1"
  read -r answer
  case "$answer" in y|Y|yes|YES) return 0 ;; *) return 1 ;; esac
}

step() { printf '\n==> %s\n' "$*"; }

docker_ok() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if [ -z "$MODE" ]; then
  if docker_ok && ask "Docker is available. Run claude-memory with docker compose?"; then MODE=compose; else MODE=local; fi
fi

# --- 1. services ---------------------------------------------------------------------------------------
if [ "$MODE" = compose ]; then
  docker_ok || die "--docker was asked for but no Docker engine answers (docker info failed)"
  step "services (docker compose)"
  if healthy; then say "the server is already running and healthy at $BASE_URL"; else
    compose up -d
    wait_healthy 300 || die "the compose services did not become healthy within 5 minutes (docker compose logs)"
    say "docker compose is up; the server is healthy at $BASE_URL"
  fi
  run_cm() { compose exec -T mcp-server claude-memory "$@"; }
else
  step "install (local mode: .venv and the embedded PostgreSQL)"
  if CM="$(cm_bin)" && [ -n "$(find "$ROOT/.venv" -maxdepth 1 -name '.installed-*' 2>/dev/null)" ]; then
    bash "$ROOT/scripts/install"
    say "already installed in $ROOT/.venv"
  else
    bash "$ROOT/scripts/install" || die "the install failed (see above)"
    say "installed into $ROOT/.venv"
  fi
  CM="$(cm_bin)" || die "claude-memory is not installed after the install step"
  run_cm() { "$CM" "$@"; }
  step "server"
  if healthy; then
    say "the server is already running and healthy at $BASE_URL"
  elif [ "$SERVICE" -eq 1 ] && bash "$ROOT/setup-launchagent.sh" --server --no-import 2>/dev/null; then
    wait_healthy 180 || die "the user service did not become healthy within 3 minutes"
    say "the server runs as a user service (starts at login) and is healthy at $BASE_URL"
  else
    mkdir -p "$DATA_DIR/units" "$DATA_DIR/logs"
    bash "$ROOT/setup-launchagent.sh" --server --no-import --print "$DATA_DIR/units" >/dev/null
    say "no user service manager here: the unit it would install is in $DATA_DIR/units/; starting the server in the background"
    nohup "$CM" serve >> "$DATA_DIR/logs/server.log" 2>&1 &
    echo "$!" > "$DATA_DIR/server.pid"
    wait_healthy 180 || die "the server did not become healthy within 3 minutes (see $DATA_DIR/logs/server.log)"
    say "the server (pid $(cat "$DATA_DIR/server.pid")) is healthy at $BASE_URL"
  fi
fi

# --- 2. import -----------------------------------------------------------------------------------------
step "import your Claude Code history"
out="$(run_cm import --claude-code 2>&1)" || { printf '%s\n' "$out"; die "the import failed"; }
printf '%s\n' "$out" | grep -E '^(imported|  files|  sessions|  messages|  memories)' || printf '%s\n' "$out"
if printf '%s\n' "$out" | grep -qE 'files: +0 read'; then say "nothing new to import"; fi

# --- 3. distill ----------------------------------------------------------------------------------------
step "distill with the local LLM"
LLM_URL="${OLLAMA_URL:-http://localhost:11434/v1}"
if curl -fsS --max-time 5 "${LLM_URL%/}/models" >/dev/null 2>&1; then
  out="$(run_cm distill 2>&1)" || { printf '%s\n' "$out"; die "distill failed"; }
  printf '%s\n' "$out" | tail -n 6
else
  say "no LLM answers at $LLM_URL; distillation skipped. To enable it:"
  say "  curl -fsSL https://ollama.com/install.sh | sh && ollama serve &   # or the macOS app"
  say "  ollama pull ${DISTILL_MODEL:-qwen2.5:7b}   # then run quickstart.sh again, or: claude-memory distill"
fi

# --- 4. signals ----------------------------------------------------------------------------------------
step "learn corrections and patterns (signals, no LLM)"
out="$(run_cm signals 2>&1)" || { printf '%s\n' "$out"; die "signals failed"; }
printf '%s\n' "$out" | tail -n 4

# --- 5. register with Claude Code ------------------------------------------------------------------------
step "register with Claude Code"
MCP_URL="http://localhost:${PORT}/mcp"
if command -v claude >/dev/null 2>&1; then
  if claude mcp get claude-memory >/dev/null 2>&1; then
    say "claude-memory is already registered with Claude Code"
  else
    claude mcp add --scope user --transport http claude-memory "$MCP_URL" || die "claude mcp add failed"
    say "registered: claude mcp add --scope user --transport http claude-memory $MCP_URL"
  fi
else
  say "the claude command is not on PATH; register later with:"
  say "  claude mcp add --scope user --transport http claude-memory $MCP_URL"
fi

# --- 6. hooks and the scheduler ----------------------------------------------------------------------------
step "Claude Code hooks (context at session start, import at session end)"
if [ "$HOOKS" -eq 1 ] && ask "Install the SessionStart and SessionEnd hooks?"; then
  run_cm hooks install
else
  say "hooks not installed (later: claude-memory hooks install)"
fi

step "hourly import, distill and signals"
if [ "$SCHEDULE" -eq 1 ] && [ "$MODE" = local ] && ask "Install the hourly scheduler?"; then
  if ! bash "$ROOT/setup-launchagent.sh"; then
    mkdir -p "$DATA_DIR/units"
    bash "$ROOT/setup-launchagent.sh" --print "$DATA_DIR/units" >/dev/null
    say "no scheduler is available here; the units it would install are in $DATA_DIR/units/"
  fi
elif [ "$MODE" = compose ]; then
  say "compose mode: schedule ./import-cron.sh hourly (it runs the jobs with docker compose exec)"
else
  say "scheduler not installed (later: ./setup-launchagent.sh)"
fi

step "done"
say "the UI is at $BASE_URL/ui/ ; the REST API at $BASE_URL/api/openapi.json"
