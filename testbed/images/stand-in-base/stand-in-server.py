#!/usr/bin/python3
"""stand-in-server.py (scripts/images): the HTTP(S) listener of the stand-in images. It answers every
GET with 200 and a JSON body naming the stand-in, so the chart's tcp/http probes and Services can be
exercised; it implements nothing of the application it stands in for.

usage: stand-in-server.py NAME [--http PORT]... [--https PORT:CERT:KEY]... [--pidfile FILE]
"""
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    name = "stand-in"

    def do_GET(self):
        body = json.dumps({"status": "UP", "standIn": self.name, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.name, fmt % args))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv):
    Handler.name = argv[0]
    servers = []
    i = 1
    while i < len(argv):
        opt, val = argv[i], argv[i + 1]
        i += 2
        if opt == "--http":
            servers.append(Server(("", int(val)), Handler))
        elif opt == "--https":
            port, cert, key = val.split(":")
            s = Server(("", int(port)), Handler)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            s.socket = ctx.wrap_socket(s.socket, server_side=True)
            servers.append(s)
        elif opt == "--pidfile":
            with open(val, "w") as f:
                f.write("%d\n" % os.getpid())
        else:
            sys.exit("stand-in-server.py: unknown option %s" % opt)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("stand-in %s listening on %s" % (argv[0], [s.server_address[1] for s in servers]), flush=True)
    servers[0].serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
