#!/usr/bin/env bash
# Restore a dump made by backup.sh: into a new database first, swapped in only when it succeeded.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/scripts/common.sh"

usage() {
  cat <<'USAGE'
Usage: restore.sh FILE [--yes]

Replaces the current store with the dump FILE. Asks for confirmation unless --yes. The writers it knows are
stopped first (the local user service; compose's mcp-server) and started again afterwards; if a server or
job still holds the database it refuses. The dump is restored into a new database and swapped in only when
that succeeded, so a truncated or corrupt dump leaves the current data as it was; the replaced database is
kept under a new name. Prints the restored counts.
USAGE
}

FILE="" YES=0
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    -y|--yes) YES=1; shift ;;
    -*) usage >&2; die "unknown option: $1" ;;
    *) [ -z "$FILE" ] || die "give one dump file"; FILE="$1"; shift ;;
  esac
done
[ -n "$FILE" ] || { usage >&2; die "which dump? give FILE"; }
[ -f "$FILE" ] || die "no dump at $FILE"

if [ "$YES" -ne 1 ]; then
  [ -t 0 ] || die "restore replaces the current store; pass --yes to confirm"
  printf 'Replace the current store with %s? The current one is kept under a new name. Type yes: ' "$FILE"
  read -r answer
  [ "$answer" = yes ] || { say "nothing restored"; exit 1; }
fi

MODE="$(detect_mode)"
if [ "$MODE" = local ]; then
  CM="$(cm_bin)" || die "claude-memory is not installed here; run ./scripts/install first"
  restarted=""
  if command -v systemctl >/dev/null 2>&1 && systemctl --user is-active --quiet claude-memory.service 2>/dev/null; then
    say "stopping the claude-memory user service for the restore"
    systemctl --user stop claude-memory.service
    restarted="systemd"
  elif [ "$(uname -s)" = Darwin ] && launchctl list 2>/dev/null | grep -q com.claude-memory.server; then
    say "stopping the claude-memory LaunchAgent for the restore"
    launchctl unload "$HOME/Library/LaunchAgents/com.claude-memory.server.plist"
    restarted="launchd"
  fi
  status=0
  "$CM" restore "$FILE" --yes || status=$?
  case "$restarted" in
    systemd) systemctl --user start claude-memory.service; say "user service started again" ;;
    launchd) launchctl load "$HOME/Library/LaunchAgents/com.claude-memory.server.plist"; say "LaunchAgent started again" ;;
  esac
  exit "$status"
fi

user="${POSTGRES_USER:-claude}" db="${POSTGRES_DB:-memory}"
stamp="$(date -u +%Y%m%d%H%M%S)"
fresh="${db}_restore_${stamp}" previous="${db}_before_restore_${stamp}"
psql_db() { compose exec -T db psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -qAt -c "$1"; }
say "stopping mcp-server for the restore"
compose stop mcp-server
trap 'compose start mcp-server >/dev/null 2>&1 || true' EXIT
busy="$(psql_db "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'")"
[ "$busy" = 0 ] || die "the database is still in use by $busy connection(s); stop the jobs using it first"
psql_db "CREATE DATABASE \"$fresh\""
if ! compose exec -T db pg_restore -U "$user" --no-owner --exit-on-error --single-transaction -d "$fresh" < "$FILE"; then
  psql_db "DROP DATABASE IF EXISTS \"$fresh\""
  die "pg_restore failed; the current data is unchanged"
fi
psql_db "ALTER DATABASE \"$db\" RENAME TO \"$previous\""
psql_db "ALTER DATABASE \"$fresh\" RENAME TO \"$db\""
counts="$(compose exec -T db psql -U "$user" -d "$db" -qAt -c \
  "SELECT (SELECT count(*) FROM memories) || ' memories, ' || (SELECT count(*) FROM messages) || ' archived messages, ' || (SELECT count(*) FROM imported_sessions) || ' sessions'")"
say "restored $counts from $FILE; the replaced database is kept as $previous"
