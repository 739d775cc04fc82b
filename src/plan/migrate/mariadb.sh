# Dump or restore one MariaDB database, then count the rows of every table (panda-install
# migrate-data; docs/moving-in.md). Environment: PHASE (dump|restore), STORE, DB_HOST, DB_PORT,
# DB_NAME, DB_USER, DB_PASSWORD, DUMP_DIR. Prints table names and row counts, never data.
set -euo pipefail
export MYSQL_PWD="$DB_PASSWORD"
unset DB_PASSWORD
client=(mariadb "--host=$DB_HOST" "--port=$DB_PORT" "--user=$DB_USER" --batch --skip-column-names)
dump="$DUMP_DIR/$STORE.sql"
counts="$DUMP_DIR/$STORE.counts"

# the server answers (phases.sh waits for it)
reachable() {
  mariadb-admin "--host=$DB_HOST" "--port=$DB_PORT" "--user=$DB_USER" --connect-timeout=3 ping > /dev/null 2>&1
}

# "<table> <rows>" for every base table of the database, sorted by table name
count_rows() {
  local table rows
  "${client[@]}" -e "SELECT table_name FROM information_schema.tables WHERE table_schema = '$DB_NAME' AND table_type = 'BASE TABLE' ORDER BY table_name" |
    while IFS= read -r table; do
      rows=$("${client[@]}" -e "SELECT COUNT(*) FROM \`$DB_NAME\`.\`$table\`")
      printf '%s %s\n' "$table" "$rows"
    done
}

# the whole database (schema, routines, triggers, events) into the file $1
dump_database() {
  mariadb-dump "--host=$DB_HOST" "--port=$DB_PORT" "--user=$DB_USER" --single-transaction --routines \
    --triggers --events --databases "$DB_NAME" > "$1"
}

restore_database() {
  "${client[@]}" < "$dump"
}

# The dump and restore phases follow, from phases.sh (the Job runs both files as one script).
