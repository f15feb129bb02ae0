#!/usr/bin/env python3
"""A loopback webhook sink: prints each alert it receives, one line each.

    python3 bench/webhook_sink.py [--host 127.0.0.1] [--port 9465] [--log FILE]

Accepts any POST (agentwatch `webhook` receivers send Alertmanager webhook v4
JSON; Alertmanager sends the same shape) and answers 200. Each alert prints
as `<time> <receiver path> <status> <alertname> {labels} value=... summary`.
With --log, the raw bodies are also appended to FILE as JSON lines.
Stops on SIGTERM/SIGINT.
"""

import argparse
import json
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def describe(payload):
    """One line per alert in an Alertmanager-style webhook body."""
    alerts = payload.get("alerts") if isinstance(payload, dict) else None
    if not isinstance(alerts, list):
        return [json.dumps(payload)[:300]]
    lines = []
    for a in alerts:
        labels = dict(a.get("labels", {}))
        name = labels.pop("alertname", "?")
        ann = a.get("annotations", {}) or {}
        value = a.get("value", ann.get("value", ""))
        lab = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        extra = f" value={value}" if value != "" else ""
        summary = ann.get("summary", "")
        lines.append(f"{a.get('status', payload.get('status', '?')):8} {name} {{{lab}}}{extra}"
                     + (f"  -- {summary}" if summary else ""))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9465)
    ap.add_argument("--log", help="append raw bodies (JSON lines) to this file")
    args = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0") or 0)
            body = self.rfile.read(n)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            try:
                payload = json.loads(body)
            except ValueError:
                payload = {"raw": body.decode("utf-8", "replace")}
            now = time.strftime("%H:%M:%S")
            for line in describe(payload):
                print(f"{now} {self.path} {line}", flush=True)
            if args.log:
                with open(args.log, "a") as f:
                    f.write(json.dumps({"path": self.path, "at": time.time(),
                                        "body": payload}) + "\n")

        def log_message(self, *unused):
            pass

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True

    def stop(*unused):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"webhook sink listening on http://{args.host}:{server.server_address[1]}",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
