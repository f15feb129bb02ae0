#!/usr/bin/env python3
"""Latency of a legitimate client while N slow-header clients hold connections.

  slowloris.py HOST PORT [--slow 1000] [--requests 400] [--path /v1/spans]

Opens --slow connections that send a partial request head and then one more
header byte per second each (a per-byte read timeout never fires), then
sends --requests POSTs of one span, each on a fresh connection, one after
another, and prints the latency percentiles and how many slow connections
the server had closed by the end. Loopback only; everything is closed at exit.
"""
import argparse
import http.client
import json
import socket
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--slow", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--path", default="/v1/spans")
    a = ap.parse_args()
    assert a.host in ("127.0.0.1", "localhost")

    slow = []
    for i in range(a.slow):
        s = socket.create_connection((a.host, a.port), timeout=5)
        s.sendall(b"POST " + a.path.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        slow.append(s)
    stop = threading.Event()
    closed = [0]

    def trickle():
        while not stop.is_set():
            for s in list(slow):
                try:
                    s.send(b"a")
                except OSError:
                    slow.remove(s)
                    closed[0] += 1
            stop.wait(1.0)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    time.sleep(1.0)  # let the flood settle before measuring
    lat = []
    errors = 0
    run = int(time.time())
    for i in range(a.requests):
        body = json.dumps({"investigation_id": f"slowloris-{run}-{i}", "agent": "legit"})
        t0 = time.perf_counter()
        try:
            c = http.client.HTTPConnection(a.host, a.port, timeout=10)
            c.request("POST", a.path, body, {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            c.close()
            if r.status >= 300:
                errors += 1
        except OSError:
            errors += 1
        lat.append((time.perf_counter() - t0) * 1000)
    stop.set()
    t.join()
    held = len(slow)
    for s in slow:
        s.close()
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(round(p / 100 * len(lat) + 0.5)) - 1)]

    print(json.dumps({"slow": a.slow, "still_held": held, "requests": a.requests, "errors": errors,
                      "p50_ms": round(pct(50), 2), "p99_ms": round(pct(99), 2),
                      "max_ms": round(lat[-1], 2)}))


if __name__ == "__main__":
    main()
