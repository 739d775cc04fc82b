"""Calls iDDS' REST service on the real node the way its users do (run in a one-shot pod of the idds
image, which has idds-client from PyPI): an anonymous GET of /idds/ping must be refused by iDDS' x509
check (401), the idds-client ping with the bed's client certificate (env CLIENT_PEM, cert + key,
signed by the CA the idds chart's ca-certificates site file installs) must answer {"Status": "OK"}, and
a certificate from a CA the server does not trust must fail the TLS handshake.
usage: idds_rest.py URL; prints one line: "ok: " when all three hold, else "not ok: ", and what each call got."""
import os
import sys
import time
import warnings

import requests
from idds.client.client import Client

warnings.filterwarnings("ignore")  # idds-client does not verify the server (verify=False), as upstream
url = sys.argv[1]


def pem_file(var):
    path = "/tmp/%s.pem" % var.lower()
    with open(path, "w") as f:
        f.write(os.environ[var])
    os.chmod(path, 0o600)
    return path


def retried(call):
    # the policy engine admits a new pod's address a moment after it starts: retry connection errors
    for attempt in range(15):
        try:
            return call()
        except requests.exceptions.ConnectionError as e:
            if "SSL" in str(e) or attempt == 14:
                raise
            time.sleep(1)


anon = retried(lambda: requests.get(url + "/ping", verify=False, timeout=20))
said = ["anonymous %s (%s)" % (anon.status_code, anon.headers.get("ExceptionMessage"))]
client = Client(host=url, auth={"auth_type": "x509_proxy", "client_proxy": pem_file("CLIENT_PEM")}, timeout=60)
pong = retried(client.ping)
said.append("x509 %s" % pong)
try:
    other = requests.get(url + "/ping", verify=False, timeout=20, cert=pem_file("UNTRUSTED_PEM"))
    said.append("untrusted CA answered %s" % other.status_code)
    untrusted_refused = False
except requests.exceptions.SSLError as e:
    said.append("untrusted CA refused in TLS")
    untrusted_refused = True
ok = anon.status_code == 401 and pong == {"Status": "OK"} and untrusted_refused
print("%s: %s" % ("ok" if ok else "not ok", ", ".join(said)))
