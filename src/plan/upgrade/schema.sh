# The schema Job of an upgrade (src/plan/upgrade): run with the NEW panda-database image against the
# RUNNING database, before any workload changes. PHASE is one of
#   backup   pg_dump -Fc of DB_NAME into DUMP_DIR (a kept claim): <db>-schema-<version>-<UTC>.dump,
#            written through .partial, then "latest" names it;
#   patch    every version of PATCHES (in order) newer than the schema and not yet recorded:
#            <version>.patch.sql from the image (PATCH_DIR, else /docker-entrypoint-initdb.d/sqls[/patches])
#            in ONE transaction with its record in public.panda_install_schema_patches, so a failing
#            patch leaves nothing of itself behind; a patch whose version the schema has is skipped;
#   restore  pg_restore --clean --if-exists of RESTORE_FILE (default: DUMP_DIR/latest) in one transaction.
# Connection: DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD (from the Secret; empty = the image's
# documented default superuser password). Nothing secret is printed.
set -euo pipefail

log() { echo "schema-${PHASE}: $*"; }
die() { echo "schema-${PHASE}: $*" >&2; exit 1; }

export PGHOST="$DB_HOST" PGPORT="$DB_PORT" PGUSER="$DB_USER" PGDATABASE="$DB_NAME" PGCONNECT_TIMEOUT=10
export PGPASSWORD="${DB_PASSWORD:-password}"
unset DB_PASSWORD

tries=0
until pg_isready -q; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || die "the database ${DB_HOST}:${DB_PORT} does not answer"
  sleep 2
done

current() {
  psql -X -At -v ON_ERROR_STOP=1 -c "SELECT major || '.' || minor || '.' || patch FROM doma_panda.pandadb_version WHERE component = 'PanDA'"
}
# older A B: A sorts before B as a version
older() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$1" ]; }

case "$PHASE" in
  backup)
    version=$(current) || die "cannot read the schema version (doma_panda.pandadb_version)"
    file="${DB_NAME}-schema-${version}-$(date -u +%Y%m%dT%H%M%SZ).dump"
    pg_dump -Fc -f "${DUMP_DIR}/${file}.partial"
    mv "${DUMP_DIR}/${file}.partial" "${DUMP_DIR}/${file}"
    echo "$file" > "${DUMP_DIR}/latest.partial"
    mv "${DUMP_DIR}/latest.partial" "${DUMP_DIR}/latest"
    log "wrote ${DUMP_DIR}/${file} ($(wc -c < "${DUMP_DIR}/${file}") bytes) at schema ${version}"
    ;;
  patch)
    version=$(current) || die "cannot read the schema version (doma_panda.pandadb_version)"
    psql -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLE IF NOT EXISTS public.panda_install_schema_patches (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), schema_before text NOT NULL)"
    applied=0
    for v in ${PATCHES}; do
      [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "not a schema version: ${v}"
      # The schema version decides (a restored backup may be older than a recorded patch).
      if ! older "$version" "$v"; then
        log "${v}: the schema is at ${version} already, skipped"
        continue
      fi
      file=
      for dir in ${PATCH_DIR:-} /docker-entrypoint-initdb.d/sqls/patches /docker-entrypoint-initdb.d/sqls; do
        if [ -f "${dir}/${v}.patch.sql" ]; then file="${dir}/${v}.patch.sql"; break; fi
      done
      [ -n "$file" ] || die "the database image has no ${v}.patch.sql: is its tag the planned one?"
      if ! psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f "$file" \
          -c "INSERT INTO public.panda_install_schema_patches (version, schema_before) VALUES ('${v}', '${version}') ON CONFLICT (version) DO UPDATE SET applied_at = now(), schema_before = EXCLUDED.schema_before"; then
        backup=$(cat "${DUMP_DIR}/latest" 2>/dev/null || echo "none")
        die "patch ${v} failed and was rolled back: the schema stays at ${version} and no workload was changed. The backup taken before is ${DUMP_DIR}/${backup}; to restore it run this Job with PHASE=restore (docs/moving-in.md, 'Upgrades')"
      fi
      version=$(current)
      applied=$((applied + 1))
      log "${v}: applied from ${file}; the schema is at ${version}"
    done
    log "done: ${applied} patch(es) applied, schema ${version}"
    ;;
  restore)
    file="${RESTORE_FILE:-}"
    if [ -z "$file" ]; then
      [ -f "${DUMP_DIR}/latest" ] || die "no backup in ${DUMP_DIR}: run the backup phase first"
      file="${DUMP_DIR}/$(cat "${DUMP_DIR}/latest")"
    fi
    [ -f "$file" ] || die "no backup file ${file}"
    pg_restore --clean --if-exists --single-transaction --exit-on-error -d "$DB_NAME" "$file"
    log "restored ${file}; the schema is at $(current)"
    ;;
  *)
    die "PHASE must be backup, patch or restore (got ${PHASE})"
    ;;
esac
