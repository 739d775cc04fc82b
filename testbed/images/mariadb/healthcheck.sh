#!/bin/bash
# healthcheck.sh of bed.local/mariadb (scripts/images), the options of the official image's script
# that the charts use: --connect (the server answers on its socket or TCP port; "access denied" still
# means it answers) and --innodb_initialized (InnoDB is available, as the healthcheck user the
# entrypoint created). Exit 0 when every given test passes.
set -uo pipefail
cnf=/var/lib/mysql/.my-healthcheck.cnf
opts=()
[ -r "$cnf" ] && opts=(--defaults-extra-file="$cnf")
[ $# -gt 0 ] || set -- --connect
for t in "$@"; do
  case $t in
    --connect)
      mariadb-admin "${opts[@]}" --connect-timeout=5 ping >/dev/null 2>&1 || { echo "healthcheck: no connection" >&2; exit 1; } ;;
    --innodb_initialized)
      out=$(mariadb "${opts[@]}" --connect-timeout=5 -N -B -e \
        "SELECT 1 FROM information_schema.ENGINES WHERE engine = 'InnoDB' AND support IN ('YES', 'DEFAULT', 'ENABLED')" 2>&1)
      [ "$out" = 1 ] || { echo "healthcheck: InnoDB not initialised: $out" >&2; exit 1; } ;;
    --*) echo "healthcheck: unsupported test $t" >&2; exit 2 ;;
  esac
done
