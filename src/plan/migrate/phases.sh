# The phases of a migrate-data Job, appended to mariadb.sh or postgres.sh, which set $dump and
# $counts and define count_rows, dump_database FILE and restore_database. A dump is renamed into
# place only when complete; a restore must reproduce the dumped row counts table by table.

summary() {
  awk '{ tables++; rows += $2 } END { printf "%d tables, %d rows\n", tables, rows }' "$1"
}

# A NetworkPolicy engine admits a new pod's address a moment after the pod starts (kube-router,
# Calico): wait up to CONNECT_WAIT seconds (60) for the database before the first real connection.
wait_for_database() {
  local waited
  for ((waited = 0; ; waited++)); do
    reachable && return 0
    if [ "$waited" -ge "${CONNECT_WAIT:-60}" ]; then
      echo "database $DB_HOST:$DB_PORT not reachable in ${CONNECT_WAIT:-60} s" >&2
      exit 1
    fi
    sleep 1
  done
}

case "$PHASE" in
  dump)
    wait_for_database
    echo "dumping database $DB_NAME from $DB_HOST:$DB_PORT"
    dump_database "$dump.partial"
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
    wait_for_database
    echo "restoring database $DB_NAME into $DB_HOST:$DB_PORT"
    restore_database
    count_rows > "$DUMP_DIR/$STORE.restored"
    if ! diff "$counts" "$DUMP_DIR/$STORE.restored" > "$DUMP_DIR/$STORE.diff"; then
      echo "row counts differ (dumped < > restored):" >&2
      cat "$DUMP_DIR/$STORE.diff" >&2
      echo "(did something write to the database during the dump or the restore? stop its writers first)" >&2
      exit 1
    fi
    echo "restored, row counts match: $(summary "$counts")"
    ;;
  *)
    echo "PHASE must be dump or restore" >&2
    exit 2
    ;;
esac
