# Dump or restore one PostgreSQL database, then count the rows of every table (panda-install
# migrate-data; docs/moving-in.md). Environment: PHASE (dump|restore), STORE, DB_HOST, DB_PORT,
# DB_NAME, DB_USER, DB_PASSWORD, DUMP_DIR. Prints table names and row counts, never data. A newer
# pg_dump reads an older server (iDDS' PostgreSQL 13 with the 16 client of our chart's image).
set -euo pipefail
export PGHOST="$DB_HOST" PGPORT="$DB_PORT" PGUSER="$DB_USER" PGDATABASE="$DB_NAME" PGPASSWORD="$DB_PASSWORD"
unset DB_PASSWORD
dump="$DUMP_DIR/$STORE.dump"
counts="$DUMP_DIR/$STORE.counts"

query() {
  psql --no-psqlrc --no-align --tuples-only --set=ON_ERROR_STOP=1 --command="$1"
}

# the server answers (phases.sh waits for it)
reachable() {
  pg_isready --quiet --timeout=3
}

# "<schema>.<table> <rows>" for every base table outside the system schemas, sorted
count_rows() {
  local table rows
  query "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1" |
    while IFS= read -r table; do
      rows=$(query "SELECT count(*) FROM $table")
      printf '%s %s\n' "$table" "$rows"
    done
}

# the whole database, custom format, into the file $1
dump_database() {
  pg_dump --format=custom --no-owner --no-privileges --file="$1"
}

restore_database() {
  pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error --dbname="$DB_NAME" "$dump"
}

# The dump and restore phases follow, from phases.sh (the Job runs both files as one script).
