#!/usr/bin/env python3
"""A stand-in for a load balancer that is still being built, for make
deploy-check: for WARMUP seconds after start it answers every request 502
(as Google's front end does before a new backend is healthy); afterwards it
relays each GET to TARGET and passes the answer back unchanged.

    late_lb.py TARGET_URL WARMUP_SECONDS     prints "listening HOST:PORT", serves until killed
"""

import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

target = sys.argv[1].rstrip("/")
ready_at = time.monotonic() + float(sys.argv[2])


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if time.monotonic() < ready_at:
            body = b"no healthy upstream\n"
            self.send_response(502)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        try:
            answer = urllib.request.urlopen(target + self.path, timeout=40)
        except urllib.error.HTTPError as e:
            answer = e
        body = answer.read()
        self.send_response(answer.status if hasattr(answer, "status") else answer.code)
        for name in ("Content-Type",):
            if answer.headers.get(name):
                self.send_header(name, answer.headers[name])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening 127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
