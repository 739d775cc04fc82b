# Dump or restore one MariaDB database, then count the rows of every table (panda-install
# migrate-data; docs/moving-in.md). Environment: PHASE (dump|restore), STORE, DB_HOST, DB_PORT,
# DB_NAME, DB_USER, DB_PASSWORD, DUMP_DIR. Prints table names and row counts, never data.
set -euo pipefail
export MYSQL_PWD="$DB_PASSWORD"
unset DB_PASSWORD
client=(mariadb "--host=$DB_HOST" "--port=$DB_PORT" "--user=$DB_USER" --batch --skip-column-names)
dump="$DUMP_DIR/$STORE.sql"
counts="$DUMP_DIR/$STORE.counts"

# "<table> <rows>" for every base table of the database, sorted by table name
count_rows() {
  local table rows
  "${client[@]}" -e "SELECT table_name FROM information_schema.tables WHERE table_schema = '$DB_NAME' AND table_type = 'BASE TABLE' ORDER BY table_name" |
    while IFS= read -r table; do
      rows=$("${client[@]}" -e "SELECT COUNT(*) FROM \`$DB_NAME\`.\`$table\`")
      printf '%s %s\n' "$table" "$rows"
    done
}

summary() {
  awk '{ tables++; rows += $2 } END { printf "%d tables, %d rows\n", tables, rows }' "$1"
}

case "$PHASE" in
  dump)
    echo "dumping database $DB_NAME from $DB_HOST:$DB_PORT"
    mariadb-dump "--host=$DB_HOST" "--port=$DB_PORT" "--user=$DB_USER" --single-transaction --routines \
      --triggers --events --databases "$DB_NAME" > "$dump.partial"
    count_rows > "$counts.partial"
    mv "$dump.partial" "$dump"
    mv "$counts.partial" "$counts"
    echo "dumped: $(summary "$counts")"
    ;;
  restore)
    if [ ! -s "$dump" ] || [ ! -s "$counts" ]; then
      echo "no dump of $STORE in $DUMP_DIR: run the dump phase first" >&2
      exit 2
    fi
    echo "restoring database $DB_NAME into $DB_HOST:$DB_PORT"
    "${client[@]}" < "$dump"
    count_rows > "$DUMP_DIR/$STORE.restored"
    if ! diff "$counts" "$DUMP_DIR/$STORE.restored" > "$DUMP_DIR/$STORE.diff"; then
      echo "row counts differ (dumped < > restored):" >&2
      cat "$DUMP_DIR/$STORE.diff" >&2
      exit 1
    fi
    echo "restored, row counts match: $(summary "$counts")"
    ;;
  *)
    echo "PHASE must be dump or restore" >&2
    exit 2
    ;;
esac
