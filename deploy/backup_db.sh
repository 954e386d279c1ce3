#!/usr/bin/env bash
# Dumps the PostgreSQL database (or copies the SQLite file) and keeps the last 7 days.
set -euo pipefail
backup_dir=${BACKUP_DIR:-/home/groovy/backups}
database=${BACKUP_DATABASE:-groovy_zilean}
stamp=$(date +%Y%m%d_%H%M%S)
mkdir -p "$backup_dir"
if [ -n "${SQLITE_FILE:-}" ]; then
    # sqlite3's .backup is consistent while the bot writes (WAL mode).
    sqlite3 "$SQLITE_FILE" ".backup '$backup_dir/zilean_$stamp.db'"
else
    pg_dump --format=custom "$database" > "$backup_dir/${database}_$stamp.dump"
fi
find "$backup_dir" -name "*_*.dump" -mtime +7 -delete
find "$backup_dir" -name "zilean_*.db" -mtime +7 -delete
