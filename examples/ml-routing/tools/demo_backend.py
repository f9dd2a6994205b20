#!/usr/bin/env python3
"""A stand-in fulfilment service for trying the example by hand: answers every request with its
name and the model's headers the gateway added. Loopback only.

    python3 examples/ml-routing/tools/demo_backend.py premium 3001 &
    python3 examples/ml-routing/tools/demo_backend.py standard 3002 &
"""

import http.server
import sys

NAME, PORT = sys.argv[1], int(sys.argv[2])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length:
            self.rfile.read(length)
        seen = ', '.join(f'{h}={self.headers.get(h)}' for h in ('X-Model-Score', 'X-Model-Version', 'X-Model-Fallback')
                         if self.headers.get(h) is not None)
        body = f'{NAME} fulfilment: {self.command} {self.path} ({seen})\n'.encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(('127.0.0.1', PORT), Handler).serve_forever()
