#!/usr/bin/env python3
"""Alert latency: from the POST that breaches a rule to the webhook arriving.

Runs agentwatch (evaluation on ingest, `for: 0`) and, next to it, Prometheus
+ Alertmanager (scrape and evaluation every 1 s, group_wait 0) alerting on
agentwatch's own `agentwatch_sli` gauge for the same breach. Both deliver to
one loopback sink in this process. Each trial POSTs one span for a fresh
agent, which breaches `investigations{window=1h} > 0`; the time from just
before the POST to each webhook's arrival is that system's alert latency.
Trials are spaced 0.3-1.0 s apart at random, so they fall at random phases
of the scrape/evaluation cycle.

    alert_latency.py --agentwatch BIN --work DIR [--trials 50]
                     [--prometheus BIN --alertmanager BIN] [--out FILE.json]

Every process started here is stopped by PID on exit. Exit 1 when agentwatch
misses an alert (or, with Prometheus, when that stack misses more than
half), so a broken pipeline fails the run.
"""

import argparse
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROCS = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, log_path):
    log = open(log_path, "wb")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    PROCS.append(p)
    return p


def stop_all():
    for p in reversed(PROCS):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.time() + 10
    for p in reversed(PROCS):
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    codes = [p.returncode for p in PROCS]
    PROCS.clear()
    return codes


def wait_http(url, timeout=30.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")


def quantile(sorted_values, q):
    """Nearest rank: the smallest v with at least q of the samples <= v."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), math.ceil(q * len(sorted_values))))
    return sorted_values[rank - 1]


class Sink:
    """Records the first arrival time of each (path, agent)."""

    def __init__(self):
        self.arrivals = {}
        self.lock = threading.Lock()
        self.cv = threading.Condition(self.lock)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                t = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                try:
                    payload = json.loads(body)
                except ValueError:
                    return
                with sink.cv:
                    for a in payload.get("alerts", []):
                        if a.get("status", "firing") != "firing":
                            continue
                        agent = a.get("labels", {}).get("agent")
                        if agent:
                            sink.arrivals.setdefault((self.path, agent), t)
                    sink.cv.notify_all()

            def log_message(self, *unused):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, keys, timeout):
        deadline = time.monotonic() + timeout
        with self.cv:
            while not all(k in self.arrivals for k in keys):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(left)
        return True


def post_span(url, span):
    req = urllib.request.Request(url + "/v1/spans", data=json.dumps(span).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        if r.status != 200:
            raise RuntimeError(f"POST /v1/spans answered {r.status}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agentwatch", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--prometheus")
    ap.add_argument("--alertmanager")
    ap.add_argument("--out")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    with_prom = bool(args.prometheus and args.alertmanager)

    sink = Sink()
    rules_dir = os.path.join(args.work, "rules")
    os.makedirs(rules_dir, exist_ok=True)
    with open(os.path.join(rules_dir, "bench.yaml"), "w") as f:
        f.write("""groups:
- name: bench-alert-latency
  rules:
  - alert: BenchFirstInvestigation
    sli: investigations
    window: 1h
    op: ">"
    threshold: 0
    for: 0s
""")
    config = os.path.join(args.work, "agentwatch.yaml")
    with open(config, "w") as f:
        f.write(f"""listen: 127.0.0.1:0
storage: {{path: aw.db, sync: normal}}
evaluation_interval: 1s
sli_windows: [1h]
receivers:
  - name: sink
    webhook: {{url: "http://127.0.0.1:{sink.port}/aw"}}
default_receivers: [sink]
repeat_interval: 4h
rule_files: [rules/*.yaml]
""")
    port_file = os.path.join(args.work, "port")
    result = {"trials": args.trials, "agentwatch": {}, "prometheus": None}
    failed = False
    try:
        aw = start([args.agentwatch, "serve", "--config", config, "--port-file", port_file],
                   os.path.join(args.work, "agentwatch.log"))
        deadline = time.time() + 30
        while not os.path.exists(port_file):
            if aw.poll() is not None or time.time() > deadline:
                raise RuntimeError("agentwatch did not start; see " + args.work + "/agentwatch.log")
            time.sleep(0.02)
        aw_url = "http://127.0.0.1:" + open(port_file).read().strip()
        wait_http(aw_url + "/-/ready", proc=aw)

        if with_prom:
            am_port, prom_port = free_port(), free_port()
            am_dir = os.path.join(args.work, "alertmanager")
            prom_dir = os.path.join(args.work, "prometheus")
            os.makedirs(am_dir, exist_ok=True)
            os.makedirs(prom_dir, exist_ok=True)
            with open(os.path.join(am_dir, "alertmanager.yml"), "w") as f:
                f.write(f"""route:
  receiver: sink
  group_by: [agent]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 4h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:{sink.port}/am
        send_resolved: false
""")
            with open(os.path.join(prom_dir, "rules.yml"), "w") as f:
                f.write("""groups:
  - name: bench-alert-latency
    rules:
      - alert: BenchFirstInvestigation
        expr: 'agentwatch_sli{sli="investigations",window="1h"} > 0'
        for: 0s
""")
            aw_hostport = aw_url.split("//", 1)[1]
            with open(os.path.join(prom_dir, "prometheus.yml"), "w") as f:
                f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:{am_port}']
scrape_configs:
  - job_name: agentwatch
    static_configs:
      - targets: ['{aw_hostport}']
""")
            am = start([args.alertmanager, "--config.file=" + os.path.join(am_dir, "alertmanager.yml"),
                        "--storage.path=" + os.path.join(am_dir, "data"),
                        f"--web.listen-address=127.0.0.1:{am_port}",
                        "--cluster.listen-address="],
                       os.path.join(args.work, "alertmanager.log"))
            prom = start([args.prometheus, "--config.file=" + os.path.join(prom_dir, "prometheus.yml"),
                          "--storage.tsdb.path=" + os.path.join(prom_dir, "data"),
                          f"--web.listen-address=127.0.0.1:{prom_port}"],
                         os.path.join(args.work, "prometheus.log"))
            wait_http(f"http://127.0.0.1:{am_port}/-/ready", proc=am)
            wait_http(f"http://127.0.0.1:{prom_port}/-/ready", proc=prom)

        # Warm-up: one breach both pipelines must deliver before timing starts
        # (the first scrape, the first Alertmanager connection).
        run = f"{os.getpid()}-{int(time.time())}"
        warm = "warmup"
        post_span(aw_url, {"investigation_id": f"alert-{run}-warm", "agent": warm, "tool_calls": 1})
        keys = [("/aw", warm)] + ([("/am", warm)] if with_prom else [])
        if not sink.wait_for(keys, 20):
            raise RuntimeError(f"warm-up alert did not arrive: got {sorted(sink.arrivals)}")

        rng = random.Random(7)
        sent = {}
        post_ms = []
        for i in range(args.trials):
            agent = f"trial-{i:03d}"
            t0 = time.monotonic()
            post_span(aw_url, {"investigation_id": f"alert-{run}-{i}", "agent": agent, "tool_calls": 3})
            post_ms.append((time.monotonic() - t0) * 1000)
            sent[agent] = t0
            time.sleep(0.3 + 0.7 * rng.random())
        keys = [("/aw", a) for a in sent] + ([("/am", a) for a in sent] if with_prom else [])
        sink.wait_for(keys, 10)

        def summarize(path):
            lat = sorted((sink.arrivals[(path, a)] - t0) * 1000
                         for a, t0 in sent.items() if (path, a) in sink.arrivals)
            return {"samples": len(lat), "missed": len(sent) - len(lat),
                    "p50_ms": quantile(lat, 0.5), "p99_ms": quantile(lat, 0.99),
                    "min_ms": lat[0] if lat else None, "max_ms": lat[-1] if lat else None,
                    "all_ms": [round(x, 3) for x in lat]}

        result["agentwatch"] = summarize("/aw")
        result["post_ms_p50"] = quantile(sorted(post_ms), 0.5)
        if result["agentwatch"]["missed"] > 0:
            failed = True
        if with_prom:
            result["prometheus"] = summarize("/am")
            if result["prometheus"]["missed"] > args.trials // 2:
                failed = True
    except Exception as e:  # report, clean up, fail
        print(f"alert_latency: {e}", file=sys.stderr)
        result["error"] = str(e)
        failed = True
    finally:
        codes = stop_all()
        sink.server.shutdown()
    result["exit_codes"] = codes
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
    aw_r = result.get("agentwatch") or {}
    line = (f"alert latency over {args.trials} trials: agentwatch p50 {fmt(aw_r.get('p50_ms'))} ms "
            f"p99 {fmt(aw_r.get('p99_ms'))} ms (missed {aw_r.get('missed')})")
    if result.get("prometheus"):
        pr = result["prometheus"]
        line += (f"; Prometheus+Alertmanager p50 {fmt(pr['p50_ms'])} ms p99 {fmt(pr['p99_ms'])} ms"
                 f" (missed {pr['missed']})")
    print(line)
    return 1 if failed else 0


def fmt(v):
    return "n/a" if v is None else f"{v:.1f}"


if __name__ == "__main__":
    sys.exit(main())
