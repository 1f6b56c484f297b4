#!/usr/bin/env bash
# Schedule import-cron.sh hourly (macOS LaunchAgent; Linux systemd user timer, or cron without user systemd)
# and, with --server, start the server at login the same way.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/scripts/common.sh"

usage() {
  cat <<'USAGE'
Usage: setup-launchagent.sh [--server] [--no-import] [--uninstall] [--print DIR] [--platform macos|linux]

Installs the hourly job that runs import-cron.sh:
  macOS  ~/Library/LaunchAgents/com.claude-memory.import.plist (StartInterval 3600)
  Linux  ~/.config/systemd/user/claude-memory-import.{service,timer} (OnCalendar=hourly, Persistent=true),
         or a crontab line where systemd user units are unavailable
--server     also start `claude-memory serve` at login (com.claude-memory.server / claude-memory.service)
--no-import  leave the hourly job out (with --server: only the server)
--uninstall  remove what this script installs
--print DIR  write the files it would install into DIR, install nothing
--platform   pretend to be on macos or linux (with --print)
Running it again changes nothing that is already installed.
USAGE
}

SERVER=0 IMPORT=1 UNINSTALL=0 PRINT="" PLATFORM=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --server) SERVER=1; shift ;;
    --no-import) IMPORT=0; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --print) PRINT="${2:?--print needs a folder}"; shift 2 ;;
    --platform) PLATFORM="${2:?--platform needs macos or linux}"; shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
if [ -z "$PLATFORM" ]; then
  case "$(uname -s)" in Darwin) PLATFORM=macos ;; *) PLATFORM=linux ;; esac
fi
case "$PLATFORM" in macos|linux) ;; *) die "--platform must be macos or linux" ;; esac

JOB="$ROOT/import-cron.sh"
LOGS="$DATA_DIR/logs"
CM="$(cm_bin 2>/dev/null || printf '%s' "$ROOT/.venv/bin/claude-memory")"
CRON_TAG="# claude-memory-import"
CRON_LINE="17 * * * * /bin/bash '$JOB' >/dev/null 2>&1 $CRON_TAG"
ENV_KEYS=(MEMORY_DATA_DIR DATABASE_URL MEMORY_PORT MEMORY_HOST CLAUDE_PROJECTS_DIR CLAUDE_CONFIG_DIR OLLAMA_URL DISTILL_MODEL EMBEDDING_MODEL)

xml() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'; }

plist() {  # plist LABEL INTERVAL|keepalive ARGS…
  local label="$1" mode="$2" arg key
  shift 2
  printf '<?xml version="1.0" encoding="UTF-8"?>\n'
  printf '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
  printf '<plist version="1.0">\n<dict>\n  <key>Label</key><string>%s</string>\n' "$label"
  printf '  <key>ProgramArguments</key>\n  <array>\n'
  for arg in "$@"; do printf '    <string>%s</string>\n' "$(printf '%s' "$arg" | xml)"; done
  printf '  </array>\n  <key>EnvironmentVariables</key>\n  <dict>\n'
  printf '    <key>PATH</key><string>/usr/local/bin:/opt/homebrew/bin:/usr/bin:/bin</string>\n'
  for key in "${ENV_KEYS[@]}"; do
    if [ -n "${!key:-}" ]; then printf '    <key>%s</key><string>%s</string>\n' "$key" "$(printf '%s' "${!key}" | xml)"; fi
  done
  printf '  </dict>\n'
  if [ "$mode" = keepalive ]; then
    printf '  <key>RunAtLoad</key><true/>\n  <key>KeepAlive</key><true/>\n'
  else
    printf '  <key>StartInterval</key><integer>%s</integer>\n  <key>RunAtLoad</key><false/>\n' "$mode"
  fi
  printf '  <key>StandardOutPath</key><string>%s</string>\n' "$(printf '%s' "$LOGS/$label.log" | xml)"
  printf '  <key>StandardErrorPath</key><string>%s</string>\n</dict>\n</plist>\n' "$(printf '%s' "$LOGS/$label.log" | xml)"
}

unit_env() {
  local key
  for key in "${ENV_KEYS[@]}"; do
    if [ -n "${!key:-}" ]; then printf 'Environment="%s=%s"\n' "$key" "${!key}"; fi
  done
}

import_service() {
  printf '[Unit]\nDescription=claude-memory hourly import, distill, signals and behaviour\n\n'
  printf '[Service]\nType=oneshot\n'
  unit_env
  printf 'ExecStart=/bin/bash %s\n' "$JOB"
}

import_timer() {
  printf '[Unit]\nDescription=Run claude-memory-import.service every hour\n\n'
  printf '[Timer]\nOnCalendar=hourly\nPersistent=true\nRandomizedDelaySec=120\n\n'
  printf '[Install]\nWantedBy=timers.target\n'
}

server_service() {
  printf '[Unit]\nDescription=claude-memory server (MCP, REST API, UI)\nAfter=network.target\n\n'
  printf '[Service]\nType=simple\n'
  unit_env
  printf 'ExecStart=%s serve\nRestart=on-failure\nRestartSec=5\nTimeoutStopSec=20\n\n' "$CM"
  printf '[Install]\nWantedBy=default.target\n'
}

user_systemd() { command -v systemctl >/dev/null 2>&1 && systemctl --user show-environment >/dev/null 2>&1; }

# --- --print: the files, nowhere installed -------------------------------------------------------------
if [ -n "$PRINT" ]; then
  mkdir -p "$PRINT"
  if [ "$PLATFORM" = macos ]; then
    [ "$IMPORT" -eq 1 ] && plist com.claude-memory.import 3600 /bin/bash "$JOB" > "$PRINT/com.claude-memory.import.plist"
    [ "$SERVER" -eq 1 ] && plist com.claude-memory.server keepalive "$CM" serve > "$PRINT/com.claude-memory.server.plist"
  else
    if [ "$IMPORT" -eq 1 ]; then
      import_service > "$PRINT/claude-memory-import.service"
      import_timer > "$PRINT/claude-memory-import.timer"
      printf '%s\n' "$CRON_LINE" > "$PRINT/crontab.txt"
    fi
    [ "$SERVER" -eq 1 ] && server_service > "$PRINT/claude-memory.service"
  fi
  say "wrote to $PRINT: $(find "$PRINT" -maxdepth 1 -type f -exec basename {} \; | sort | tr '\n' ' ')"
  exit 0
fi

# --- macOS -----------------------------------------------------------------------------------------------
if [ "$PLATFORM" = macos ]; then
  AGENTS="$HOME/Library/LaunchAgents"
  mkdir -p "$AGENTS" "$LOGS"
  for what in import server; do
    [ "$what" = import ] && [ "$IMPORT" -eq 0 ] && continue
    [ "$what" = server ] && [ "$SERVER" -eq 0 ] && [ "$UNINSTALL" -eq 0 ] && continue
    label="com.claude-memory.$what" file="$AGENTS/com.claude-memory.$what.plist"
    if [ "$UNINSTALL" -eq 1 ]; then
      if [ -f "$file" ]; then
        launchctl unload "$file" 2>/dev/null || true
        rm -f "$file"
        say "removed $file"
      fi
      continue
    fi
    tmp="$(mktemp)"
    if [ "$what" = import ]; then plist "$label" 3600 /bin/bash "$JOB" > "$tmp"; else plist "$label" keepalive "$CM" serve > "$tmp"; fi
    if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
      rm -f "$tmp"
      say "$label is already installed"
      continue
    fi
    launchctl unload "$file" 2>/dev/null || true
    mv "$tmp" "$file"
    launchctl load -w "$file"
    say "installed $file"
  done
  exit 0
fi

# --- Linux: systemd user units, else cron ------------------------------------------------------------------
if user_systemd; then
  UNITS="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
  mkdir -p "$UNITS"
  if [ "$UNINSTALL" -eq 1 ]; then
    for unit in claude-memory-import.timer claude-memory-import.service claude-memory.service; do
      if [ -f "$UNITS/$unit" ]; then
        systemctl --user disable --now "$unit" >/dev/null 2>&1 || true
        rm -f "$UNITS/$unit"
        say "removed $UNITS/$unit"
      fi
    done
    systemctl --user daemon-reload
    exit 0
  fi
  install_unit() {  # install_unit NAME CONTENT-FUNCTION
    local tmp
    tmp="$(mktemp)"
    "$2" > "$tmp"
    if [ -f "$UNITS/$1" ] && cmp -s "$tmp" "$UNITS/$1"; then
      rm -f "$tmp"
      say "$1 is already installed"
      return 1
    fi
    mv "$tmp" "$UNITS/$1"
    say "installed $UNITS/$1"
  }
  changed=0
  if [ "$IMPORT" -eq 1 ]; then
    install_unit claude-memory-import.service import_service && changed=1
    install_unit claude-memory-import.timer import_timer && changed=1
  fi
  if [ "$SERVER" -eq 1 ]; then install_unit claude-memory.service server_service && changed=1; fi
  systemctl --user daemon-reload
  if [ "$IMPORT" -eq 1 ]; then systemctl --user enable --now claude-memory-import.timer >/dev/null; fi
  if [ "$SERVER" -eq 1 ]; then systemctl --user enable --now claude-memory.service >/dev/null; fi
  [ "$changed" -eq 1 ] || say "nothing to change"
  exit 0
fi

if [ "$SERVER" -eq 1 ] && [ "$UNINSTALL" -eq 0 ]; then
  die "systemd user units are unavailable here, so the server cannot be started at login by this script; run '$CM serve' from your session's startup instead"
fi
command -v crontab >/dev/null 2>&1 || die "neither systemd user units nor crontab are available"
current="$(crontab -l 2>/dev/null || true)"
if [ "$UNINSTALL" -eq 1 ]; then
  if printf '%s\n' "$current" | grep -qF "$CRON_TAG"; then
    printf '%s\n' "$current" | grep -vF "$CRON_TAG" | crontab -
    say "removed the crontab line"
  fi
  exit 0
fi
if [ "$IMPORT" -eq 1 ]; then
  if printf '%s\n' "$current" | grep -qF "$CRON_TAG"; then
    say "the hourly crontab line is already installed"
  else
    { [ -n "$current" ] && printf '%s\n' "$current"; printf '%s\n' "$CRON_LINE"; } | crontab -
    say "installed an hourly crontab line running $JOB"
  fi
fi
