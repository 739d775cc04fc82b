#!/bin/bash
# Entrypoint of bed.local/mariadb (scripts/images): the environment and file contract of the official
# mariadb image on Debian's MariaDB. First start (no mysql/ in the data directory): the system tables,
# a server on the socket only to set root's password (root@localhost and root@'%'), create the
# healthcheck user, MARIADB_DATABASE and MARIADB_USER, and run /docker-entrypoint-initdb.d/*; then the
# real server. MARIADB_AUTO_UPGRADE runs mariadb-upgrade on later starts. Writes only /var/lib/mysql,
# /run/mysqld and /tmp.
set -Eeuo pipefail

if [ "${1:-}" = mariadbd ] || [ "${1:-}" = mysqld ] || [ "${1:0:1}" = - ]; then
  case ${1:-} in mariadbd|mysqld) shift ;; esac
else
  exec "$@"
fi

datadir=/var/lib/mysql
socket=/run/mysqld/mysqld.sock
env_of() { local v; v=${!1:-}; [ -n "$v" ] || v=${!2:-}; printf '%s' "$v"; } # MARIADB_X or MYSQL_X
root_password=$(env_of MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD)
database=$(env_of MARIADB_DATABASE MYSQL_DATABASE)
user=$(env_of MARIADB_USER MYSQL_USER)
password=$(env_of MARIADB_PASSWORD MYSQL_PASSWORD)
root_host=${MARIADB_ROOT_HOST:-%}

if ! getent passwd "$(id -u)" >/dev/null; then
  export NSS_WRAPPER_PASSWD=/tmp/passwd NSS_WRAPPER_GROUP=/tmp/group
  { cat /etc/passwd; echo "mysql:x:$(id -u):$(id -g):MariaDB:$datadir:/bin/false"; } > "$NSS_WRAPPER_PASSWD"
  { cat /etc/group; echo "mysql:x:$(id -g):"; } > "$NSS_WRAPPER_GROUP"
  export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libnss_wrapper.so
fi

random_password() { local p; p=$(head -c 64 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9'); printf '%s' "${p:0:32}"; }
sql_quote() { local s=${1//\\/\\\\}; s=${s//\'/\\\'}; printf "'%s'" "$s"; }
sql_ident() { printf '`%s`' "${1//\`/\`\`}"; }

temp_server_start() {
  mariadbd --skip-networking --socket="$socket" --skip-slave-start &
  temp_pid=$!
  local _
  for _ in $(seq 60); do
    # ping answers 0 as soon as the server runs, even when root's password is refused
    mariadb-admin --socket="$socket" --user=root ping >/dev/null 2>&1 && return 0
    kill -0 "$temp_pid" 2>/dev/null || { echo "entrypoint: the temporary server died" >&2; exit 1; }
    sleep 1
  done
  echo "entrypoint: the temporary server did not start" >&2
  exit 1
}
temp_server_stop() {
  kill "$temp_pid"
  wait "$temp_pid" || true
}

if [ ! -d "$datadir/mysql" ]; then
  if [ -z "$root_password" ] && [ -z "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}" ] && [ -z "${MARIADB_RANDOM_ROOT_PASSWORD:-}" ]; then
    echo "entrypoint: the database is uninitialised and MARIADB_ROOT_PASSWORD is not set" >&2
    exit 1
  fi
  if [ -n "${MARIADB_RANDOM_ROOT_PASSWORD:-}" ]; then
    root_password=$(random_password)
    echo "entrypoint: GENERATED ROOT PASSWORD: $root_password"
  fi
  mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal --skip-test-db \
    --skip-name-resolve --rpm >/dev/null
  temp_server_start
  hc_password=$(random_password)
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "DELETE FROM mysql.user WHERE user NOT IN ('mysql.sys', 'mariadb.sys', 'root') OR host NOT IN ('localhost');"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_quote "$root_password");"
    if [ "$root_host" != localhost ]; then
      echo "CREATE USER 'root'@$(sql_quote "$root_host") IDENTIFIED BY $(sql_quote "$root_password");"
      echo "GRANT ALL ON *.* TO 'root'@$(sql_quote "$root_host") WITH GRANT OPTION;"
    fi
    for h in localhost 127.0.0.1 ::1; do
      echo "CREATE USER 'healthcheck'@'$h' IDENTIFIED BY '$hc_password'; GRANT USAGE ON *.* TO 'healthcheck'@'$h';"
    done
    [ -z "$database" ] || echo "CREATE DATABASE IF NOT EXISTS $(sql_ident "$database");"
    if [ -n "$user" ] && [ -n "$password" ]; then
      echo "CREATE USER $(sql_quote "$user")@'%' IDENTIFIED BY $(sql_quote "$password");"
      [ -z "$database" ] || echo "GRANT ALL ON $(sql_ident "$database").* TO $(sql_quote "$user")@'%';"
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket="$socket" --user=root --binary-mode
  printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\n' "$socket" "$hc_password" \
    > "$datadir/.my-healthcheck.cnf"
  chmod 0600 "$datadir/.my-healthcheck.cnf"
  cnf=$(mktemp /tmp/root.XXXXXX.cnf)
  printf '[client]\nuser=root\npassword=%s\nsocket=%s\n' "$root_password" "$socket" > "$cnf"
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh) echo "entrypoint: running $f"; if [ -x "$f" ]; then "$f"; else bash "$f"; fi ;;
      *.sql) echo "entrypoint: running $f"; mariadb --defaults-extra-file="$cnf" ${database:+--database="$database"} < "$f" ;;
      *.sql.gz) echo "entrypoint: running $f"; gunzip -c "$f" | mariadb --defaults-extra-file="$cnf" ${database:+--database="$database"} ;;
      *) [ "$f" = '/docker-entrypoint-initdb.d/*' ] || echo "entrypoint: ignoring $f" ;;
    esac
  done
  rm -f "$cnf"
  temp_server_stop
  echo "entrypoint: initialisation complete"
elif [ -n "${MARIADB_AUTO_UPGRADE:-}" ]; then
  temp_server_start
  cnf=$(mktemp /tmp/root.XXXXXX.cnf)
  printf '[client]\nuser=root\npassword=%s\nsocket=%s\n' "$root_password" "$socket" > "$cnf"
  mariadb-upgrade --defaults-extra-file="$cnf" || echo "entrypoint: mariadb-upgrade failed" >&2
  rm -f "$cnf"
  temp_server_stop
fi

exec mariadbd "$@"
