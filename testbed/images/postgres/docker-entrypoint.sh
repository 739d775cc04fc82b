#!/bin/bash
# Entrypoint of bed.local/postgres (scripts/images): the environment and file contract of the official
# postgres image on Debian's PostgreSQL. First start (no PG_VERSION in PGDATA): initdb with
# POSTGRES_USER as superuser and POSTGRES_PASSWORD as its password, a server on the socket only to
# create POSTGRES_DB and run /docker-entrypoint-initdb.d/*, then the real server on every address with
# scram-sha-256 for remote hosts. Writes only PGDATA, /var/run/postgresql and /tmp.
set -Eeuo pipefail

if [ "${1:-}" = postgres ] || [ "${1:0:1}" = - ]; then
  [ "${1:-}" = postgres ] && shift
else
  exec "$@"
fi

export PGDATA=${PGDATA:-/var/lib/postgresql/data}
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}

# Any uid: initdb and postgres need a passwd entry for the running uid.
if ! getent passwd "$(id -u)" >/dev/null; then
  export NSS_WRAPPER_PASSWD=/tmp/passwd NSS_WRAPPER_GROUP=/tmp/group
  { cat /etc/passwd; echo "postgres:x:$(id -u):$(id -g):PostgreSQL:$PGDATA:/bin/false"; } > "$NSS_WRAPPER_PASSWD"
  { cat /etc/group; echo "postgres:x:$(id -g):"; } > "$NSS_WRAPPER_GROUP"
  export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libnss_wrapper.so
fi

mkdir -p "$PGDATA"
chmod 0700 "$PGDATA" 2>/dev/null || true

process_init_files() {
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh)
        if [ -x "$f" ]; then echo "entrypoint: running $f"; "$f"
        else echo "entrypoint: sourcing $f"; # shellcheck source=/dev/null
          . "$f"; fi ;;
      *.sql) echo "entrypoint: running $f"; psql_init -f "$f" ;;
      *.sql.gz) echo "entrypoint: running $f"; gunzip -c "$f" | psql_init ;;
      *) [ "$f" = '/docker-entrypoint-initdb.d/*' ] || echo "entrypoint: ignoring $f" ;;
    esac
  done
}
psql_init() { psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" "$@"; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "entrypoint: the database is uninitialised and POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  pwfile=$(mktemp /tmp/pw.XXXXXX)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a word list, as in the official image
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-}
  rm -f "$pwfile"
  printf '\nhost all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
  export PGPASSWORD=$POSTGRES_PASSWORD
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
      --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  process_init_files
  unset PGPASSWORD
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo "entrypoint: initialisation complete"
fi

exec postgres -c listen_addresses='*' "$@"
