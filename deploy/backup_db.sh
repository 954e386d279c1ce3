#!/usr/bin/env bash
# Nightly backup, run by groovy-backup.timer: `zilean db backup` of the DATABASE_URL in .env —
# SQLite through its online backup API, PostgreSQL through pg_dump -Fc; both safe while the bot
# runs. Keeps the newest BACKUP_KEEP backups and none older than BACKUP_MAX_AGE_DAYS.
# Restore one with: zilean db restore FILE (stop the bot first).
set -euo pipefail
app_dir=${APP_DIR:-/home/groovy/groovy-zilean}
cd "$app_dir"  # .env is read from the working directory
exec "$app_dir/.venv/bin/zilean" db backup \
    --dir "${BACKUP_DIR:-/home/groovy/backups}" \
    --keep "${BACKUP_KEEP:-14}" \
    --max-age-days "${BACKUP_MAX_AGE_DAYS:-30}"
