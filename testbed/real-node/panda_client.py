"""Calls the PanDA server on the real node with panda-client (run in a one-shot pod of the
panda-server image, whose venv has panda-client-light from PyPI): Client.hello() (is_alive) must
answer, Client.get_cert_attributes_internal() (system/get_attributes, a secure call) with the bed's
client certificate (env CLIENT_PEM, cert + key, signed by the CA the panda chart's ca-certificates site
file installs) must see that certificate's DN, the same call without a certificate must be refused, and
a certificate of a CA the server does not trust must fail the TLS handshake.
usage: panda_client.py HOST; prints one line: "ok: " when all four hold, else "not ok: ", and what each
call got."""
import os
import re
import socket
import sys
import time
import warnings

import requests

warnings.filterwarnings("ignore")
host = sys.argv[1]
api = "https://%s/api/v1" % host


def pem_file(var):
    path = "/tmp/%s.pem" % var.lower()
    with open(path, "w") as f:
        f.write(os.environ[var])
    os.chmod(path, 0o600)
    return path


# panda-client resolves the server's name at import: wait until the policy engine has admitted this
# new pod's address (DNS is refused for a moment after it starts)
for attempt in range(30):
    try:
        socket.getaddrinfo(host, 443)
        break
    except socket.gaierror:
        time.sleep(0.5)
os.environ.update({"PANDA_URL": "http://%s/server/panda" % host, "PANDA_URL_SSL": "https://%s/server/panda" % host,
                   "PANDACACHE_URL": "https://%s/server/panda" % host,
                   "PANDA_VERIFY_HOST": "off", "X509_USER_PROXY": pem_file("CLIENT_PEM"), "PANDA_CONFIG_ROOT": "/tmp/.pathena"})
from pandaclient import Client  # noqa: E402  (reads the environment at import)

said, ok = [], True
for attempt in range(15):  # the policy engine admits a new pod's address a moment after it starts
    status, message = Client.hello()
    if status == 0:
        break
    time.sleep(1)
said.append("hello %s %r" % (status, message))
ok &= status == 0
status, output = Client.get_cert_attributes_internal()
dn = output[1].get("environment", {}).get("SSL_CLIENT_S_DN") if status == 0 and output[0] else None
said.append("x509 get_attributes: %s" % (dn or output))
ok &= bool(dn) and "CN=client" in dn
anonymous = requests.get(api + "/system/get_attributes", verify=False, timeout=30)
body = anonymous.text.strip().replace("\n", " ")[:120]
said.append("anonymous %s %s" % (anonymous.status_code, body))
# the server refuses with an HTTP error or with its own answer {'success': False, ...} (a Python repr)
refused = anonymous.status_code >= 400 or re.search(r"""["']success["']: *(false|False)""", anonymous.text)
ok &= "SSL_CLIENT_S_DN" not in anonymous.text and bool(refused)
try:
    requests.get(api + "/system/is_alive", verify=False, timeout=30, cert=pem_file("UNTRUSTED_PEM"))
    said.append("untrusted CA answered")
    ok = False
except requests.exceptions.SSLError:
    said.append("untrusted CA refused in TLS")
print("%s: %s" % ("ok" if ok else "not ok", "; ".join(said)))
