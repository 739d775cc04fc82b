#!/usr/bin/python3
"""STAND-IN supervisord (scripts/images), run as /usr/bin/supervisord (python3 under that name) -c CONF:
for supervisord_httpd.ini in the [include] files it runs a listener named httpd on 8443 (TLS,
self-signed) and 8080; for supervisord_idds_*.ini a sleeper whose command line names
idds/agents/main.py. Stays in the foreground while they run."""
import os
import subprocess
import sys
import time

conf = sys.argv[sys.argv.index("-c") + 1]
files = ""
for line in open(conf):
    if line.startswith("files"):
        files = line.split("=", 1)[1]
children = []
if "supervisord_httpd.ini" in files:
    cert, key = "/tmp/stand-in-cert.pem", "/tmp/stand-in-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
                    "/CN=idds", "-keyout", key, "-out", cert], check=True, capture_output=True)
    children.append(subprocess.Popen(["/usr/local/sbin/httpd", "/usr/local/bin/stand-in-server.py", "idds",
                                      "--https", "8443:%s:%s" % (cert, key), "--http", "8080"]))
if "supervisord_idds_" in files:
    children.append(subprocess.Popen(["python3", "/opt/idds/lib/idds/agents/main.py"]))
if not children:
    sys.exit("supervisord stand-in: no program of %s is known" % files)
print("supervisord stand-in: %d program(s) from %s" % (len(children), conf), flush=True)
while all(c.poll() is None for c in children):
    time.sleep(5)
sys.exit(1)
