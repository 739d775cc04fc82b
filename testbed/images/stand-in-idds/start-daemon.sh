#!/bin/bash
# STAND-IN for iDDS' start-daemon.sh (scripts/images): checks what the real one needs from the chart
# (the configmap JSON whose keys are destination paths, IDDS_DATABASE_URL), then runs "$@".
set -euo pipefail
cm=/opt/idds/configmap/idds_configmap.json
python3 - "$cm" <<'PY'
import json, sys
allowed = {"/opt/idds/config/idds/idds.cfg", "/opt/idds/config/idds/alembic.ini", "/opt/idds/config/idds/auth.cfg",
           "/opt/idds/config/panda.cfg", "/opt/idds/config/rucio.cfg"}
data = json.load(open(sys.argv[1]))
bad = set(data) - allowed
if bad or "/opt/idds/config/idds/idds.cfg" not in data:
    sys.exit("idds stand-in: %s: unexpected keys %s or no idds.cfg" % (sys.argv[1], sorted(bad)))
PY
[ -n "${IDDS_DATABASE_URL:-}" ] || { echo "idds stand-in: IDDS_DATABASE_URL is empty" >&2; exit 1; }
[ $# -gt 0 ] || set -- sleep infinity
exec "$@"
