#!/bin/bash
# bed.local/panda-database init (STAND-IN, scripts/images): the database, user and schemas PanDA's
# init creates, and the few PanDA tables of stand-in-tables.sql (not PanDA's schema). Runs once, at the
# first start, from docker-entrypoint.sh.
set -euo pipefail
: "${PANDA_DB_PASSWORD:?PANDA_DB_PASSWORD is required}"
run() { psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" "$@"; }
run --dbname postgres --set pw="$PANDA_DB_PASSWORD" <<'SQL'
CREATE USER panda PASSWORD :'pw';
CREATE DATABASE panda_db OWNER panda;
SQL
run --dbname panda_db <<'SQL'
CREATE SCHEMA doma_panda AUTHORIZATION panda;
CREATE SCHEMA doma_pandameta AUTHORIZATION panda;
CREATE SCHEMA doma_pandaarch AUTHORIZATION panda;
CREATE SCHEMA doma_deft AUTHORIZATION panda;
ALTER ROLE panda SET search_path = doma_panda, doma_pandameta, doma_pandaarch, doma_deft, public;
CREATE TABLE doma_panda.pandadb_version (component varchar(100) PRIMARY KEY, major integer, minor integer, patch integer);
ALTER TABLE doma_panda.pandadb_version OWNER TO panda;
INSERT INTO doma_panda.pandadb_version VALUES ('SCHEMA', 0, 1, 5), ('SERVER', 0, 1, 5), ('JEDI', 0, 1, 5);
SQL
run --dbname panda_db -c 'SET ROLE panda' -f /opt/panda-stand-in/stand-in-tables.sql
echo "panda-database stand-in: panda_db, user panda, schemas doma_panda/-meta/-arch/doma_deft, $(grep -c '^CREATE TABLE' /opt/panda-stand-in/stand-in-tables.sql) stand-in tables"
