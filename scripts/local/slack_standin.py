"""A local stand-in for the Slack Web API, for the local run: answers chat.postMessage,
chat.update and response_url posts, and appends each call to a JSON-lines log.
Usage: slack_standin.py PORT LOGFILE. Listens on 127.0.0.1 only."""
import itertools
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log_path = int(sys.argv[1]), sys.argv[2]
counter = itertools.count(1)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {"raw": body.decode("utf-8", "replace")}
        reply = {"ok": True}
        if self.path.endswith("/chat.postMessage"):
            reply.update(channel=payload.get("channel"), ts=f"1700000000.{next(counter):06d}")
        elif self.path.endswith("/chat.update"):
            reply.update(channel=payload.get("channel"), ts=payload.get("ts"))
        with open(log_path, "a") as f:
            f.write(json.dumps({"path": self.path, "body": payload, "reply": reply}) + "\n")
        out = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
