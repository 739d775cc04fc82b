-- bed.local/panda-database (STAND-IN schema, scripts/images): the few PanDA tables the real PanDA
-- server 1.0.4 queries while its WSGI application starts and while it answers the real-node suite's
-- calls (is_alive, system/get_attributes), plus those its daemon polls every minute. Without them
-- the server never answers: its database bridge (ConBridge) kills and respawns its child with a
-- 5-15 s sleep on every failed query, so the first request never returns.
-- Written here from the column facts of PanDAWMS/panda-database's postgres schema (0.1.6: the
-- tables' names, columns and types); none of PanDA's other tables, indexes, partitions, sequences,
-- procedures or scheduled jobs. Found by running the real server against an empty schema and
-- reading PostgreSQL's "relation ... does not exist" errors (docs/testbed.md).
-- Run by 10-panda-stand-in.sh as the user panda in panda_db.
SET search_path = doma_panda;
CREATE TABLE config (app varchar(64) NOT NULL, component varchar(64) NOT NULL, key varchar(64) NOT NULL,
  value varchar(256) NOT NULL, type varchar(64) NOT NULL, vo varchar(32) NOT NULL, descr varchar(256) NOT NULL,
  value_json jsonb, PRIMARY KEY (app, component, key, vo));
CREATE TABLE job_output_report (pandaid bigint NOT NULL, prodsourcelabel varchar(20), jobstatus varchar(15) NOT NULL,
  attemptnr smallint NOT NULL, data text, timestamp timestamp NOT NULL, lockedby varchar(56), lockedtime timestamp,
  PRIMARY KEY (pandaid, attemptnr));
CREATE TABLE machine_heartbeat (machine_name varchar(128) PRIMARY KEY, service_name varchar(64) NOT NULL, last_seen timestamp);
CREATE TABLE async_requests (request_id varchar(64) PRIMARY KEY, request_type varchar(64) NOT NULL, service_name varchar(64),
  machine_name varchar(128), parameters text, expected_machines text, created_at timestamp);
CREATE TABLE async_results (request_id varchar(64) NOT NULL REFERENCES async_requests (request_id), machine_name varchar(128) NOT NULL,
  status varchar(16) DEFAULT 'running', result text, stderr text, return_code smallint, truncated smallint DEFAULT 0,
  error_msg varchar(2048), attempts smallint DEFAULT 0, started_at timestamp, finished_at timestamp,
  PRIMARY KEY (request_id, machine_name));
CREATE TABLE schedconfig_json (panda_queue varchar(50) PRIMARY KEY, data json, last_update timestamp);
CREATE TABLE jedi_process_lock (vo varchar(32) NOT NULL, prodsourcelabel varchar(20) NOT NULL, workqueue_id integer NOT NULL,
  cloud varchar(10) NOT NULL, lockedby varchar(56), lockedtime timestamp, resource_type varchar(56) NOT NULL,
  component varchar(56) NOT NULL, PRIMARY KEY (vo, prodsourcelabel, workqueue_id, cloud, resource_type, component));
CREATE TABLE resource_types (resource_name varchar(56) PRIMARY KEY, mincore integer, maxcore integer,
  minrampercore integer, maxrampercore integer);
CREATE TABLE ddm_endpoint (ddm_endpoint_name varchar(52) PRIMARY KEY, site_name varchar(52), ddm_spacetoken_name varchar(52),
  space_total bigint, space_free bigint, space_used bigint, is_tape varchar(1), type varchar(20), blacklisted char(1),
  space_expired bigint, space_timestamp timestamp, blacklisted_read char(1), blacklisted_write char(1), detailed_status jsonb,
  space_min_free bigint, space_unavailable bigint);
CREATE TABLE sql_queue (topic varchar(50), pandaid bigint, execution_order integer, jeditaskid bigint, creationtime timestamp,
  data varchar(4000));
