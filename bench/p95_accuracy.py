#!/usr/bin/env python3
"""p95 accuracy: agentwatch's exact p95 next to Prometheus histogram_quantile.

Posts the spans of a loadgen NDJSON file (`{"span": {...}}` lines) to a
running agentwatch, reads `/api/v1/slis`, and for every agent compares, over
the 24h window:

  * the exact nearest-rank p95 computed here from the same spans,
  * agentwatch's p95 (CONTRACT: exact for integer SLIs, else within 1 %),
  * what Prometheus would report: histogram_quantile(0.95, ...) over the
    default buckets (.005 .01 .025 .05 .1 .25 .5 1 2.5 5 10), scaled to the
    SLI's unit, with Prometheus' linear interpolation inside the bucket.

    p95_accuracy.py --url URL --events FILE [--out FILE.json]

Exit 1 when agentwatch's figure is off by more than the contract allows.
"""

import argparse
import json
import math
import sys
import urllib.request

DEFAULT_BUCKETS = [.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10]
# sli -> (scale applied to the default buckets, unit, contract tolerance)
SLIS = {
    "tool_calls": (10, "tool calls", 0.0),             # .05 .. 100 calls
    "cost_per_investigation": (1, "USD", 0.01),       # the default buckets as USD
    "duration_ms": (10_000, "ms", 0.01),              # 50 ms .. 100 s
}
# USD per million tokens; bench/run.sh writes the same into the config.
PRICING = {
    "claude-sonnet-4-6": (3.00, 15.00, 0.30, 3.75),
    "claude-opus-4-1": (15.00, 75.00, 1.50, 18.75),
}


def quantile(values, q):
    s = sorted(values)
    rank = max(1, min(len(s), math.ceil(q * len(s))))
    return s[rank - 1]


def histogram_quantile(q, bounds, values):
    """Prometheus' histogram_quantile over cumulative buckets (+Inf last)."""
    cum = [sum(1 for v in values if v <= b) for b in bounds] + [len(values)]
    total = cum[-1]
    if total == 0:
        return None
    rank = q * total
    b = next(i for i, c in enumerate(cum) if c >= rank)
    if b == len(bounds):  # the +Inf bucket: the highest finite bound
        return bounds[-1]
    upper = bounds[b]
    lower = 0.0 if b == 0 else bounds[b - 1]
    below = 0 if b == 0 else cum[b - 1]
    count = cum[b] - below
    if b == 0 and upper <= 0:
        return upper
    return lower + (upper - lower) * ((rank - below) / count)


def cost(span):
    if "estimated_cost_usd" in span:
        return span["estimated_cost_usd"]
    p = PRICING.get(span.get("model")) or PRICING.get(span.get("response_model"))
    if not p:
        return None
    return (span.get("input_tokens", 0) * p[0] + span.get("output_tokens", 0) * p[1]
            + span.get("cache_read_tokens", 0) * p[2]
            + span.get("cache_creation_tokens", 0) * p[3]) / 1e6


def post(url, lines):
    req = urllib.request.Request(url + "/v1/spans", data="\n".join(lines).encode(),
                                 headers={"Content-Type": "application/x-ndjson"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        reply = json.load(r)
    if reply.get("rejected"):
        raise RuntimeError(f"spans rejected: {reply['errors'][:3]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--out")
    args = ap.parse_args()

    spans, batch = [], []
    with open(args.events) as f:
        for line in f:
            rec = json.loads(line)
            if "span" not in rec:
                continue
            spans.append(rec["span"])
            batch.append(json.dumps(rec["span"]))
            if len(batch) == 1000:
                post(args.url, batch)
                batch = []
    if batch:
        post(args.url, batch)

    with urllib.request.urlopen(args.url + "/api/v1/slis", timeout=60) as r:
        rows = json.load(r)["slis"]
    reported = {(row["agent"], row["sli"]): row for row in rows
                if row["window"] == "24h" and row["stat"] == "p95" and row["sli"] in SLIS}

    values = {}
    for s in spans:
        for sli in SLIS:
            v = cost(s) if sli == "cost_per_investigation" else s.get(sli)
            if v is not None:
                values.setdefault((s["agent"], sli), []).append(v)

    out = {"spans": len(spans), "slis": {}}
    failed = False
    for sli, (scale, unit, tolerance) in SLIS.items():
        bounds = [b * scale for b in DEFAULT_BUCKETS]
        per_agent = []
        for (agent, name), vals in sorted(values.items()):
            if name != sli:
                continue
            exact = quantile(vals, 0.95)
            row = reported.get((agent, sli))
            aw = row["value"] if row else None
            prom = histogram_quantile(0.95, bounds, vals)
            aw_err = abs(aw - exact) / exact if aw is not None and exact else None
            prom_err = abs(prom - exact) / exact if exact else None
            if aw is None or aw_err > tolerance + 1e-9:
                failed = True
            per_agent.append({"agent": agent, "samples": len(vals), "exact": exact,
                              "agentwatch": aw, "prometheus": prom,
                              "agentwatch_rel_err": aw_err, "prometheus_rel_err": prom_err})
        aw_errs = [a["agentwatch_rel_err"] for a in per_agent if a["agentwatch_rel_err"] is not None]
        prom_errs = [a["prometheus_rel_err"] for a in per_agent]
        out["slis"][sli] = {
            "unit": unit, "buckets": bounds, "agents": per_agent,
            "agentwatch_max_rel_err": max(aw_errs) if aw_errs else None,
            "prometheus_mean_rel_err": sum(prom_errs) / len(prom_errs) if prom_errs else None,
            "prometheus_max_rel_err": max(prom_errs) if prom_errs else None,
        }
        print(f"p95 {sli:24} agentwatch max error {pct(out['slis'][sli]['agentwatch_max_rel_err'])}, "
              f"Prometheus histogram_quantile mean {pct(out['slis'][sli]['prometheus_mean_rel_err'])}"
              f" / max {pct(out['slis'][sli]['prometheus_max_rel_err'])} "
              f"({len(per_agent)} agents)")
    out["failed"] = failed
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2)
    return 1 if failed else 0


def pct(v):
    return "n/a" if v is None else f"{100 * v:.2f} %"


if __name__ == "__main__":
    sys.exit(main())
