#!/bin/bash
# STAND-IN for BigMon's start-daemon.sh (scripts/images): checks what the real one needs from the chart
# (local.py rendered into /data/bigmon/config, the secret key, a host certificate or a writable
# /opt/bigmon/config for a self-signed one), then a listener whose process is named httpd on 8443 (TLS)
# and 8080.
set -euo pipefail
local_py=/data/bigmon/config/local.py
[ -s "$local_py" ] || { echo "bigmon stand-in: no $local_py" >&2; exit 1; }
[ -n "${BIGMON_SECRET_KEY:-}" ] || { echo "bigmon stand-in: BIGMON_SECRET_KEY is empty" >&2; exit 1; }
python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$local_py" ||
  { echo "bigmon stand-in: $local_py is not Python" >&2; exit 1; }
cert=/opt/bigmon/etc/cert/hostcert.pem key=/opt/bigmon/etc/cert/hostkey.pem
if [ ! -s "$key" ]; then
  cert=/opt/bigmon/config/hostcert.pem key=/opt/bigmon/config/hostkey.pem
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$(hostname)" -keyout "$key" -out "$cert" 2>/dev/null
fi
exec /usr/local/sbin/httpd /usr/local/bin/stand-in-server.py bigmon --https "8443:$cert:$key" --http 8080
