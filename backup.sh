#!/usr/bin/env bash
# Snapshot the whole store with pg_dump (custom format); keeps the newest BACKUP_KEEP (default 14).
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/scripts/common.sh"

usage() {
  cat <<'USAGE'
Usage: backup.sh [--dir DIR] [--keep N]

Local mode: pg_dump of the embedded PostgreSQL (its own binaries) or of DATABASE_URL (a pg_dump of the same
major version) into $MEMORY_DATA_DIR/backups/claude-memory-<UTC time>.pgdump.
Compose mode (the compose services running, or CLAUDE_MEMORY_MODE=compose): pg_dump inside the db
container into ./backups/. Restore with restore.sh FILE.
USAGE
}

DIR="" KEEP="${BACKUP_KEEP:-14}"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --dir) DIR="${2:?--dir needs a folder}"; shift 2 ;;
    --keep) KEEP="${2:?--keep needs a number}"; shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
case "$KEEP" in ''|*[!0-9]*|0) die "BACKUP_KEEP / --keep must be a positive number, not '$KEEP'" ;; esac

if [ "$(detect_mode)" = local ]; then
  CM="$(cm_bin)" || die "claude-memory is not installed here; run ./scripts/install (or quickstart.sh) first"
  exec "$CM" backup --keep "$KEEP" ${DIR:+--dir "$DIR"}
fi

DIR="${DIR:-$ROOT/backups}"
mkdir -p "$DIR"
target="$DIR/claude-memory-$(date -u +%Y%m%dT%H%M%SZ).pgdump"
user="${POSTGRES_USER:-claude}" db="${POSTGRES_DB:-memory}"
if ! compose exec -T db pg_dump -U "$user" --format=custom --no-owner "$db" > "$target.partial"; then
  rm -f "$target.partial"
  die "pg_dump in the db container failed"
fi
mv "$target.partial" "$target"
# keep the newest $KEEP dumps (names sort by time)
find "$DIR" -maxdepth 1 -name 'claude-memory-*.pgdump' | sort | head -n "-$KEEP" | while IFS= read -r old; do
  rm -f -- "$old"
done
say "backed up the compose database to $target ($(wc -c < "$target") bytes)"
