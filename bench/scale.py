#!/usr/bin/env python3
"""The SLI engine at scale: one daemon with the example rules filled to
--count investigations (1M by default) over 1,000 agents and 6 days, then:

  ingest    records/s of the first chunk (empty store) and of the last chunk
            (store nearly full), batches of 1000, 2 connections
  reads     /metrics and /api/v1/slis, --reads calls each, 1.1 s apart (so
            every call finds new data or an expired snapshot: the Prometheus
            case), wall time per call and bytes
  alerts    breaching POST -> webhook latency for --trials fresh agents while
            the load generator offers --background spans/s
  memory    RSS after loading, after the reads, and after a restart
  restart   SIGTERM, exec -> /-/ready

    scale.py --agentwatch BIN --loadgen BIN --work DIR [--count N] [--out FILE.json]

--ingest-only stops after the ingest chunks (about 25 s instead of 6 min) and
also reports the middle chunk and the outbox by status; with it,
--receiver-down points the webhook receiver at a closed port (an outage), and
--perf-last FILE records a perf profile of the daemon during the last chunk
(--perf-first FILE during the first, to compare the two). With --ingest-only the
chunks also report the machine's idle cores, the daemon's CPU and its mean
commit and evaluation time (read from /metrics around each chunk, so the RSS
printed then includes those scrapes). --arrival timeline makes the chunks follow one another in
event time (live traffic) instead of each sweeping the same 6 days.

--alerts-on DIR runs only the alert trials, against a copy of the store an
earlier run left in DIR (its --work): `--trials 60` on two binaries in turn.

Every process started here is stopped on exit. Figures are wall time on
whatever machine runs it: record the machine and its load with them.
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import alert_latency as al  # noqa: E402  (Sink, start, stop_all, wait_http, quantile)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed_get(url):
    t = time.monotonic()
    with urllib.request.urlopen(url, timeout=60) as r:
        n = len(r.read())
    return time.monotonic() - t, n


HISTORY_S = 6 * 86400
LAG_S = 600


def load(loadgen, url, count, agents, seed, report, history_s=HISTORY_S, lag_s=LAG_S, pid=None):
    before = usage(url, pid) if pid else None
    subprocess.run([loadgen, "--url", url, "--count", str(count), "--agents", str(agents),
                    "--batch", "1000", "--connections", "2", "--history", f"{history_s:.0f}s",
                    "--lag", f"{lag_s:.0f}s", "--seed", str(seed), "--quiet",
                    "--report-json", report], check=True)
    with open(report) as f:
        out = json.load(f)
    if before:
        out["usage"] = usage_since(before, usage(url, pid))
    return out


def cpu_now(pid):
    """The machine's /proc/stat counters and the daemon's CPU seconds per thread."""
    with open("/proc/stat") as f:
        cpu = [int(v) for v in f.readline().split()[1:]]
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            threads[tid] = (name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
        except OSError:
            pass
    return {"t": time.monotonic(), "cpu": cpu, "threads": threads}


def usage(url, pid):
    """Machine idle time, the daemon's CPU per thread and its commit and
    evaluation histograms, now: usage_since() turns two of these into a chunk's.
    The CPU is read before and after the /metrics scrape that fetches the
    histograms, so that a chunk's figures leave out the scrapes at both of its
    ends (at 1M investigations a scrape after a load renders every agent anew:
    ~0.9 s of CPU that is not the chunk's ingest)."""
    before = cpu_now(pid)
    metrics = {}
    with urllib.request.urlopen(url + "/metrics", timeout=60) as r:
        for line in r.read().decode().splitlines():
            for name in ("agentwatch_store_commit_duration_seconds",
                         "agentwatch_rule_evaluation_duration_seconds"):
                for suffix in ("_sum", "_count"):
                    if line.startswith(name + suffix + " "):
                        metrics[name + suffix] = float(line.split()[-1])
    return {"before_scrape": before, "after_scrape": cpu_now(pid), "metrics": metrics}


def usage_since(start, end):
    a, b = start["after_scrape"], end["before_scrape"]
    wall = b["t"] - a["t"]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = ((b["cpu"][3] + b["cpu"][4]) - (a["cpu"][3] + a["cpu"][4])) / ticks
    by_name = {}  # thread name (aw-writer, aw-evaluator, aw-http-io, ...) -> CPU s
    for t, (name, v) in b["threads"].items():
        by_name[name] = by_name.get(name, 0.0) + v - a["threads"].get(t, (name, 0.0))[1]
    d = {k: end["metrics"].get(k, 0) - start["metrics"].get(k, 0) for k in end["metrics"]}
    commits = d.get("agentwatch_store_commit_duration_seconds_count", 0)
    evals = d.get("agentwatch_rule_evaluation_duration_seconds_count", 0)
    return {"wall_s": wall, "idle_cores": idle / wall, "daemon_cpu_s": sum(by_name.values()),
            "threads_cpu_s": {k: round(v, 3) for k, v in sorted(by_name.items()) if v > 0},
            "commits": commits,
            "commit_mean_ms": 1000 * d.get("agentwatch_store_commit_duration_seconds_sum", 0) / max(commits, 1),
            "evaluations": evals,
            "evaluation_mean_ms": 1000 * d.get("agentwatch_rule_evaluation_duration_seconds_sum", 0) / max(evals, 1)}


def records_per_s(report):
    for key in ("records_per_s", "records_per_sec", "rate"):
        if key in report:
            return float(report[key])
    return float(report.get("records", 0)) / max(1e-9, float(report.get("seconds", 1)))


def start_daemon(binary, work):
    port_file = os.path.join(work, "port")
    if os.path.exists(port_file):
        os.remove(port_file)
    t0 = time.monotonic()
    p = al.start([binary, "serve", "--config", os.path.join(work, "agentwatch.yaml"),
                  "--port-file", port_file], os.path.join(work, f"agentwatch-{len(al.PROCS)}.log"))
    while not os.path.exists(port_file) or not open(port_file).read().strip():
        if p.poll() is not None:
            raise RuntimeError("agentwatch exited; see " + work)
        time.sleep(0.01)
    url = "http://127.0.0.1:" + open(port_file).read().strip()
    al.wait_http(url + "/-/ready", timeout=120, proc=p)
    return p, url, time.monotonic() - t0


def stop_daemon(p):
    p.terminate()
    p.wait(timeout=120)
    al.PROCS.remove(p)
    if p.returncode != 0:
        raise RuntimeError(f"agentwatch exited {p.returncode} on SIGTERM")


def alert_trials(args, url, sink, prefix):
    """Breaching POST -> webhook latency of --trials fresh agents while the
    load generator offers --background spans/s; seconds, in trial order."""
    bg = subprocess.Popen([args.loadgen, "--url", url, "--rate", str(args.background),
                           "--batch", "50", "--connections", "4", "--duration", "10m",
                           "--agents", str(args.agents), "--seed", "4", "--quiet",
                           "--allow-errors"], stdout=subprocess.DEVNULL)
    al.PROCS.append(bg)
    time.sleep(2)
    lat = []
    for i in range(args.trials):
        agent = f"{prefix}-{i}"
        t0 = time.monotonic()
        al.post_span(url, {"investigation_id": f"{prefix}-{os.getpid()}-{i}", "agent": agent,
                           "tool_calls": 1})
        if not sink.wait_for([("/aw", agent)], 10):
            raise RuntimeError(f"no alert for {agent} within 10 s")
        lat.append(sink.arrivals[("/aw", agent)] - t0)
        time.sleep(0.3)
    bg.terminate()
    bg.wait()
    al.PROCS.remove(bg)
    return lat


def timed_reads(args, url, out):
    """--reads reads of /metrics, then of /api/v1/slis, 1.1 s apart, into out."""
    for path in ("/metrics", "/api/v1/slis"):
        times, sizes = [], []
        for _ in range(args.reads):
            time.sleep(1.1)
            t, n = timed_get(url + path)
            times.append(t)
            sizes.append(n)
        out[path] = dict(summary(times), bytes=statistics.median(sizes),
                         each_ms=[round(t * 1000, 1) for t in times])  # in order: shows outliers
        print(f"{path}: p50 {out[path]['p50'] * 1000:.0f} ms, p99 {out[path]['p99'] * 1000:.0f} ms,"
              f" {out[path]['bytes'] / 1e6:.1f} MB; each: {out[path]['each_ms']}", flush=True)


def copy_store(args, source):
    """A copy of an earlier run's --work (its store and config) as this run's."""
    shutil.rmtree(args.work, ignore_errors=True)
    shutil.copytree(source, args.work,
                    ignore=shutil.ignore_patterns("*.log", "port", "aw.db.lock", "*.json"))


def reads_on(args):
    """--reads-on DIR: the timed reads alone, against a copy of a filled
    store, so that two binaries' read latencies can be compared on the same
    1M investigations, interleaved, over several rounds."""
    copy_store(args, args.reads_on)
    try:
        p, url, ready_s = start_daemon(args.agentwatch, args.work)
        out = {"ready_s": ready_s}
        timed_reads(args, url, out)
        out["rss_after_reads_mib"] = rss_mib(p.pid)
        print(f"ready in {ready_s:.2f} s, RSS after the reads {out['rss_after_reads_mib']:.0f} MiB",
              flush=True)
        stop_daemon(p)
        return finish(out, args.out)
    finally:
        al.stop_all()


def alerts_on(args):
    """--alerts-on DIR: the alert trials alone, against a copy of a filled
    store (the --work of an earlier run), so that two binaries can be
    compared on the same 1M investigations, interleaved."""
    copy_store(args, args.alerts_on)
    sink = al.Sink()
    config = os.path.join(args.work, "agentwatch.yaml")
    with open(config) as f:
        text = f.read()
    text = re.sub(r"http://127\.0\.0\.1:\d+/aw", f"http://127.0.0.1:{sink.port}/aw", text)
    text = re.sub(r"max_agents: \d+", "max_agents: 1000000", text)  # earlier probes hold names
    with open(config, "w") as f:
        f.write(text)
    try:
        p, url, _ = start_daemon(args.agentwatch, args.work)
        lat = sorted(alert_trials(args, url, sink, f"probe{os.getpid()}"))
        over = sum(x > 0.010 for x in lat)
        print(f"alert latency under {args.background}/s, {len(lat)} trials: p50 "
              f"{al.quantile(lat, 0.5) * 1000:.1f} ms, p99 {al.quantile(lat, 0.99) * 1000:.1f} ms, "
              f"max {lat[-1] * 1000:.1f} ms, over 10 ms: {over}", flush=True)
        stop_daemon(p)
    finally:
        al.stop_all()


def start_perf(path, pid):
    """A perf recording of `pid` into `path` (None: no recording)."""
    if not path:
        return None
    perf = subprocess.Popen(["perf", "record", "-o", path, "-F", "299",
                             "--call-graph", "dwarf,16384", "-p", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    return perf


def stop_perf(perf):
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=120)


def summary(values):
    s = sorted(values)
    return {"n": len(s), "p50": al.quantile(s, 0.5), "p99": al.quantile(s, 0.99), "max": s[-1]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agentwatch", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--chunk", type=int, default=100_000)
    ap.add_argument("--reads", type=int, default=20)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--background", type=int, default=5000)
    ap.add_argument("--out")
    ap.add_argument("--ingest-only", action="store_true")
    ap.add_argument("--receiver-down", action="store_true")
    ap.add_argument("--perf-last", metavar="FILE")
    ap.add_argument("--perf-first", metavar="FILE")
    ap.add_argument("--arrival", choices=["backfill", "timeline"], default="backfill")
    ap.add_argument("--alerts-on", metavar="DIR",
                    help="only the alert trials, against a copy of DIR (an earlier --work)")
    ap.add_argument("--reads-on", metavar="DIR",
                    help="only the timed reads, against a copy of DIR (an earlier --work)")
    args = ap.parse_args()
    if args.alerts_on:
        return alerts_on(args)
    if args.reads_on:
        return reads_on(args)
    if args.count < 2 * args.chunk:
        sys.exit("--count must be at least two chunks")
    if args.receiver_down and not args.ingest_only:
        sys.exit("--receiver-down needs --ingest-only (the alert trials need the receiver)")

    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(os.path.join(args.work, "rules"))
    for f in glob.glob(os.path.join(ROOT, "examples/rules/*.yaml")):
        if not f.endswith("_test.yaml"):
            shutil.copy(f, os.path.join(args.work, "rules"))
    # The probe: a fresh agent's first investigation breaches it at once.
    with open(os.path.join(args.work, "rules", "probe.yaml"), "w") as f:
        f.write("groups:\n- name: probe\n  rules:\n  - alert: ScaleProbe\n"
                "    sli: investigations\n    window: 1h\n    op: \">\"\n    threshold: 0\n"
                "    for: 0s\n")
    sink = None if args.receiver_down else al.Sink()
    receiver_port = sink.port if sink else closed_port()
    with open(os.path.join(args.work, "agentwatch.yaml"), "w") as f:
        f.write(f"""listen: 127.0.0.1:0
storage: {{path: aw.db, retention: 30d, sync: normal}}
evaluation_interval: 15s
max_event_age: 7d
max_clock_skew: 5m
sli_windows: [1h, 24h, 7d]
limits: {{max_body_bytes: 8MiB, max_records_per_request: 10000, max_agents: {args.agents + args.trials + 10}}}
pricing:
  claude-sonnet-4-6: {{input: 3.00, output: 15.00, cache_read: 0.30, cache_write: 3.75}}
  claude-opus-4-1: {{input: 15.00, output: 75.00, cache_read: 1.50, cache_write: 18.75}}
receivers:
  - name: sink
    webhook: {{url: "http://127.0.0.1:{receiver_port}/aw"}}
default_receivers: [sink]
repeat_interval: 4h
rule_files: [rules/*.yaml]
""")
    out = {"count": args.count, "agents": args.agents, "chunk": args.chunk, "arrival": args.arrival,
           "nproc": os.cpu_count(), "loadavg_start": os.getloadavg()}
    try:
        p, url, _ = start_daemon(args.agentwatch, args.work)
        perf = start_perf(args.perf_first, p.pid)
        # backfill: every load sweeps the whole history, so the last chunk's
        # records land among those already held (a replay); timeline: the
        # loads follow one another in event time, so every chunk arrives at
        # the time frontier as live traffic does, and the first and last
        # chunks differ only in what the store holds.
        n = args.count
        spans = {"first": (0, args.chunk), "middle": (args.chunk, n - args.chunk),
                 "last": (n - args.chunk, n)}

        def times(part):
            if args.arrival == "backfill":
                return {}
            lo, hi = spans[part]
            return {"history_s": HISTORY_S * (hi - lo) / n, "lag_s": LAG_S + HISTORY_S * (n - hi) / n}

        # Per-chunk usage scrapes /metrics, which builds the SLI blocks: only
        # with --ingest-only, so a full run's RSS figures stay comparable.
        usage_pid = p.pid if args.ingest_only else None
        first = load(args.loadgen, url, args.chunk, args.agents, 1,
                     os.path.join(args.work, "chunk_first.json"), **times("first"), pid=usage_pid)
        stop_perf(perf)
        middle = args.count - 2 * args.chunk
        middle_report = None
        if middle > 0:
            middle_report = load(args.loadgen, url, middle, args.agents, 2,
                                 os.path.join(args.work, "middle.json"), **times("middle"))
        perf = start_perf(args.perf_last, p.pid)
        last = load(args.loadgen, url, args.chunk, args.agents, 3,
                    os.path.join(args.work, "chunk_last.json"), **times("last"), pid=usage_pid)
        stop_perf(perf)
        out["ingest"] = {"first_chunk": first, "last_chunk": last,
                         "ratio_last_to_first": records_per_s(last) / records_per_s(first)}
        out["rss_after_load_mib"] = rss_mib(p.pid)
        print(f"ingest: first {records_per_s(first):.0f}/s, last {records_per_s(last):.0f}/s, "
              f"RSS {out['rss_after_load_mib']:.0f} MiB", flush=True)
        if args.ingest_only:
            out["ingest"]["middle_chunk"] = middle_report
            stop_daemon(p)
            with sqlite3.connect(os.path.join(args.work, "aw.db")) as db:
                out["outbox_by_status"] = dict(
                    db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
            for name in ("first_chunk", "last_chunk"):
                u = out["ingest"][name]["usage"]
                print(f"{name}: idle {u['idle_cores']:.2f} cores, daemon CPU {u['daemon_cpu_s']:.2f} s "
                      f"({', '.join(f'{k} {v:.2f}' for k, v in u['threads_cpu_s'].items())}), "
                      f"commit mean {u['commit_mean_ms']:.1f} ms, {u['evaluations']:.0f} evaluations "
                      f"of {u['evaluation_mean_ms']:.1f} ms", flush=True)
            print(f"ratio {out['ingest']['ratio_last_to_first']:.3f}, outbox by status "
                  f"{out['outbox_by_status']} (0 pending, 1 delivered, 3 superseded)", flush=True)
            return finish(out, args.out)

        timed_reads(args, url, out)
        out["rss_after_reads_mib"] = rss_mib(p.pid)

        out["alert_latency_s"] = summary(alert_trials(args, url, sink, "probe"))
        print(f"alert latency under {args.background}/s: p50 {out['alert_latency_s']['p50'] * 1000:.1f} ms,"
              f" p99 {out['alert_latency_s']['p99'] * 1000:.1f} ms", flush=True)

        out["rss_before_restart_mib"] = rss_mib(p.pid)
        stop_daemon(p)
        p, url, ready_s = start_daemon(args.agentwatch, args.work)
        out["restart_to_ready_s"] = ready_s
        out["rss_after_restart_mib"] = rss_mib(p.pid)
        t, _ = timed_get(url + "/metrics")
        out["first_metrics_after_restart_s"] = t
        out["rss_after_restart_and_scrape_mib"] = rss_mib(p.pid)
        print(f"restart to ready {ready_s:.2f} s, RSS {out['rss_after_restart_mib']:.0f} MiB "
              f"({out['rss_after_restart_and_scrape_mib']:.0f} after a scrape)", flush=True)
        stop_daemon(p)
        out["db_bytes"] = sum(os.path.getsize(f) for f in glob.glob(os.path.join(args.work, "aw.db*")))
    finally:
        al.stop_all()
    finish(out, args.out)


def finish(out, path):
    out["loadavg_end"] = os.getloadavg()
    text = json.dumps(out, indent=1)
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")
    print(text)


def closed_port():
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
