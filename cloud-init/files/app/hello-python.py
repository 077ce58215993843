"""Demo app: proves the route web server → app server (Python, in a venv)."""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(
            {"app": "hello-python", "venv": sys.prefix != sys.base_prefix, "path": self.path}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8001"))), Hello).serve_forever()
