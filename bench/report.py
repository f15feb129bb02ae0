#!/usr/bin/env python3
"""Builds bench/results/latest.md from the raw outputs of bench/run.sh.

    report.py --raw DIR --out FILE.md [--elapsed SECONDS]

Prints the table to stdout as well. Missing raw files show as "n/a" (a
failed or skipped step); the run's own exit code says whether it passed.
"""

import argparse
import glob
import json
import os
import re
import statistics


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def wrk_figures(path):
    """Requests/sec, non-2xx, socket errors and latency quantiles from wrk."""
    try:
        text = open(path).read()
    except OSError:
        return None
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not m:
        return None
    out = {"rps": float(m.group(1)), "non2xx": 0, "socket_errors": 0, "requests": 0}
    if (n := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)):
        out["non2xx"] = int(n.group(1))
    if (s := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)):
        out["socket_errors"] = sum(int(x) for x in s.groups())
    if (r := re.search(r"(\d+) requests in", text)):
        out["requests"] = int(r.group(1))
    for q in ("50", "99"):
        if (lm := re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)):
            v = float(lm.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[lm.group(2)]
            out[f"p{q}_ms"] = v
    return out


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return ""
    return f" (min {num(min(values))}, max {num(max(values))} of {len(values)})" if len(values) > 1 else ""


def num(v, digits=0):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}" if digits else (f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}")


def ms(v):
    return "n/a" if v is None else (f"{v:.2f} ms" if v < 10 else f"{v:.0f} ms")


def met(cond):
    if cond is None:
        return "n/a"
    return "**yes**" if cond else "**no**"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--elapsed", type=int, default=0)
    args = ap.parse_args()
    raw = args.raw
    meta = load(os.path.join(raw, "meta.json")) or {}
    rows = []  # figure, agentwatch, anchor, ratio, goal, met
    notes = []

    # 1. wrk, one span per POST
    def wrk_set(pattern):
        out = [wrk_figures(p) for p in sorted(glob.glob(os.path.join(raw, pattern)))]
        return [x for x in out if x]

    ng1 = wrk_set("step1_nginx_*.txt")
    ng_rps = med([x["rps"] for x in ng1])
    for variant, label in (("rules", "example rules"), ("norules", "no rules")):
        aw1 = wrk_set(f"step1_agentwatch-{variant}_*.txt")
        aw_rps = med([x["rps"] for x in aw1])
        aw_bad = sum(x["non2xx"] + x["socket_errors"] for x in aw1)
        ratio1 = aw_rps / ng_rps if aw_rps and ng_rps else None
        headline = variant == "rules"
        rows.append([f"1. ingest, 1 span per POST, wrk -c64, {label} (req/s, median)",
                     num(aw_rps) + spread([x["rps"] for x in aw1])
                     + (f"; {aw_bad} non-2xx/socket errors" if aw1 else "")
                     + (f"; wrk p50 {ms(med([x.get('p50_ms') for x in aw1]))}, p99 {ms(med([x.get('p99_ms') for x in aw1]))}" if aw1 else ""),
                     ("nginx `return 204`: " + num(ng_rps) + spread([x["rps"] for x in ng1])
                      + (f"; wrk p50 {ms(med([x.get('p50_ms') for x in ng1]))}, p99 {ms(med([x.get('p99_ms') for x in ng1]))}" if ng1 else ""))
                     if headline else "(same nginx)",
                     f"{100 * ratio1:.0f} %" if ratio1 else "n/a",
                     "≥ 50 % of nginx, every 2xx durable" if headline else "",
                     (met(ratio1 >= 0.5 and aw_bad == 0) if ratio1 else "n/a") if headline else ""])
        if headline:
            rebuild_path = os.path.join(raw, "step1_rebuild.txt")
            rebuild1 = open(rebuild_path).read().strip() if os.path.exists(rebuild_path) else ""
            m = re.search(r": (\d+) investigations", rebuild1)
            if m and aw1:
                last = aw1[-1]
                notes.append(f"Durability (step 1, last round with rules): wrk counted "
                             f"{last['requests'] - last['non2xx']:,} 2xx replies; after SIGTERM and a "
                             f"restart the store rebuilt {int(m.group(1)):,} investigations (wrk stops "
                             "counting with requests still in flight, so the store may hold a few more; "
                             "fewer would be a lost 2xx).")

    # 2. batches
    parse = load(os.path.join(raw, "step2_parse.json")) or {}
    sqlite_rate = parse.get("sqlite_normal_rows_per_s")
    for b in (100, 1000):
        for variant, label in (("rules", "example rules"), ("norules", "no rules")):
            reps = [load(p) for p in sorted(glob.glob(os.path.join(raw, f"step2_batch{b}-{variant}_*.json")))]
            reps = [r for r in reps if r]
            rate = med([r["ok_records_per_s"] for r in reps])
            bad = sum(r["non_2xx"] + r["transport_errors"] for r in reps)
            pb = parse.get(f"batch_{b}", {})
            ceiling = pb.get("parse_spans_per_s")
            simd = pb.get("simdjson_docs_per_s")
            p99 = med([r["latency_ms"]["p99"] for r in reps])
            headline = variant == "rules"
            goal = "≥ 300k spans/s end to end" if (b == 1000 and headline) else ""
            rows.append([f"2. spans/s, NDJSON batches of {b}, 4 conns, {label} (median)",
                         num(rate) + spread([r["ok_records_per_s"] for r in reps])
                         + f"; p99 {ms(p99)}" + (f"; {bad} errors" if bad else ""),
                         (f"ParseSpans 1 core: {num(ceiling)}; simdjson ondemand 1 core: {num(simd)}"
                          + (f"; SQLite Append: {num(sqlite_rate)} rows/s" if b == 1000 else ""))
                         if headline else "(same)",
                         (f"{100 * rate / ceiling:.0f} % of ParseSpans/core, {100 * rate / simd:.0f} % of simdjson"
                          + (f", {100 * rate / sqlite_rate:.0f} % of SQLite" if b == 1000 and sqlite_rate else ""))
                         if rate and ceiling and simd else "n/a",
                         goal, (met(rate >= 300_000 and bad == 0) if rate else "n/a") if goal else ""])
    if parse:
        rows.append(["2. … other per-core ceilings on the same bytes", "",
                     f"nlohmann DOM parse alone: {num(parse.get('nlohmann_dom_docs_per_s'))} docs/s; "
                     f"SQLite synchronous=FULL: {num(parse.get('sqlite_full_rows_per_s'))} rows/s; "
                     f"mean line {parse.get('mean_line_bytes', 0):.0f} B", "", "", ""])

    # 3. fixed rate
    r3 = load(os.path.join(raw, "step3_rate.json"))
    if r3:
        sched = r3.get("latency_from_schedule_ms", {})
        rows.append([f"3. latency at {num(r3['offered_rate'])} records/s offered (1 per POST, 16 conns)",
                     f"p50 {ms(r3['latency_ms']['p50'])}, p99 {ms(r3['latency_ms']['p99'])}, "
                     f"max {ms(r3['latency_ms']['max'])}; achieved {num(r3['records_per_s'])} records/s, "
                     f"{r3['non_2xx'] + r3['transport_errors']} errors",
                     f"from schedule (coordinated-omission corrected): p50 {ms(sched.get('p50'))}, p99 {ms(sched.get('p99'))}",
                     "", "", ""])
    else:
        rows.append(["3. latency at a fixed offered rate", "n/a", "", "", "", ""])

    # 4. alert latency
    a4 = load(os.path.join(raw, "step4_alert.json"))
    if a4 and a4.get("agentwatch"):
        aw = a4["agentwatch"]
        pr = a4.get("prometheus")
        faster = (pr["p50_ms"] / aw["p50_ms"]) if pr and pr.get("p50_ms") and aw.get("p50_ms") else None
        faster99 = (pr["p99_ms"] / aw["p99_ms"]) if pr and pr.get("p99_ms") and aw.get("p99_ms") else None
        ok = None
        if aw.get("p99_ms") is not None:
            ok = aw["p99_ms"] < 50 and aw["missed"] == 0 and (faster is None or faster >= 20)
        rows.append([f"4. alert latency, POST → webhook ({a4['trials']} trials)",
                     f"p50 {ms(aw.get('p50_ms'))}, p99 {ms(aw.get('p99_ms'))}, max {ms(aw.get('max_ms'))}"
                     + (f"; {aw['missed']} missed" if aw.get("missed") else ""),
                     (f"Prometheus+Alertmanager (1 s scrape/eval, group_wait 0): p50 {ms(pr.get('p50_ms'))}, "
                      f"p99 {ms(pr.get('p99_ms'))}" + (f"; {pr['missed']} missed" if pr.get("missed") else ""))
                     if pr else "n/a (not run)",
                     (f"{faster:.0f}× faster at p50, {faster99:.0f}× at p99" if faster and faster99 else "n/a"),
                     "p99 < 50 ms and ≥ 20× faster", met(ok)])
    else:
        rows.append(["4. alert latency", "n/a", "", "", "p99 < 50 ms and ≥ 20× faster", "n/a"])

    # 5. scale
    s5 = load(os.path.join(raw, "step5.json"))
    l5 = load(os.path.join(raw, "step5_load.json"))
    scrapes = []
    if os.path.exists(os.path.join(raw, "step5_scrape.txt")):
        for line in open(os.path.join(raw, "step5_scrape.txt")):
            parts = line.split()
            if len(parts) == 2:
                scrapes.append((float(parts[0]) * 1000, int(parts[1])))
    if s5:
        rss = s5["rss_kib"] / 1024
        hwm = s5["hwm_kib"] / 1024
        restart = s5["restart_to_ready_ms"] / 1000
        load_txt = ""
        if l5:
            load_txt = (f" (loaded {l5['spans']:,} investigations + {l5['feedback']:,} verdicts + "
                        f"{l5['resolutions']:,} resolutions at {num(l5['ok_records_per_s'])} records/s)")
        rows.append([f"5. RSS, {s5['agents']:,} agents, {s5['investigations']:,} investigations in 7 d",
                     f"{rss:.0f} MiB (peak {hwm:.0f} MiB); after restart {s5['rss_after_restart_kib'] / 1024:.0f} MiB"
                     f" (peak {s5['hwm_after_restart_kib'] / 1024:.0f} MiB)",
                     f"SQLite file {s5['db_bytes'] / 2**20:.0f} MiB" + load_txt, "",
                     "< 512 MiB", met(max(rss, hwm) < 512)])
        rb = open(os.path.join(raw, "step5_rebuild.txt")).read().strip() if os.path.exists(os.path.join(raw, "step5_rebuild.txt")) else ""
        rows.append(["5. restart-to-ready with those investigations stored",
                     f"{restart:.2f} s (exec → /-/ready 200); SIGTERM → exit {s5['stop_ms'] / 1000:.2f} s",
                     rb, "", "< 5 s", met(restart < 5)])
        if scrapes:
            times = sorted(t for t, _ in scrapes)
            rows.append([f"5. /metrics scrape, {s5['agents']:,} agents (10 scrapes)",
                         f"median {ms(statistics.median(times))}, max {ms(times[-1])}, {scrapes[0][1] / 2**20:.1f} MiB",
                         f"/api/v1/slis: {ms(s5['slis_api_s'] * 1000)}", "", "", ""])
    else:
        rows.append(["5. RSS / restart / scrape", "n/a", "", "", "< 512 MiB, < 5 s", "n/a"])

    # 5b. ingest rate as the store grows, with rules
    chunks = [load(os.path.join(raw, f"step5b_chunk_{i}.json")) for i in (1, 2, 3)]
    chunks = [c for c in chunks if c]
    if chunks:
        stored = 0
        parts = []
        for c in chunks:
            stored += c["spans"]
            parts.append(f"{num(c['ok_records_per_s'])} at {stored:,}")
        rows.append([f"5b. ingest records/s (batches of 1000) with the example rules, "
                     f"{chunks[0]['agents']:,} agents, as investigations accumulate",
                     "; ".join(parts), "the first chunk is the fresh-store rate", "", "", ""])

    # 6. p95 accuracy
    p6 = load(os.path.join(raw, "step6_p95.json"))
    if p6:
        for sli, d in p6["slis"].items():
            scale = d["buckets"][0] / 0.005
            rows.append([f"6. p95 {sli} ({d['unit']}), {len(d['agents'])} agents, {p6['spans']:,} spans",
                         f"max error {pct(d['agentwatch_max_rel_err'])}",
                         f"histogram_quantile, default buckets ×{scale:g}: mean error "
                         f"{pct(d['prometheus_mean_rel_err'])}, max {pct(d['prometheus_max_rel_err'])}",
                         "", "exact (integers) / ≤ 1 %", met(not p6.get("failed"))])
    else:
        rows.append(["6. p95 accuracy", "n/a", "", "", "", "n/a"])

    # machine state
    load_lines = []
    if os.path.exists(os.path.join(raw, "load.tsv")):
        load_lines = [l.rstrip("\n").split("\t") for l in open(os.path.join(raw, "load.tsv"))][1:]
    # Our own load (wrk, loadgen, a daemon with hundreds of threads) lifts the
    # load average well above 2; compilers, or a load no bench step makes, come
    # from outside the run.
    busy = [l for l in load_lines if len(l) == 3 and (int(l[2] or 0) > 0 or float(l[1].split()[0]) > 20)]
    failed = []
    if os.path.exists(os.path.join(raw, "failed.txt")):
        failed = [l.strip() for l in open(os.path.join(raw, "failed.txt")) if l.strip()]

    md = []
    md.append("# agentwatch benchmark results" + (" (smoke run: tiny counts, not figures)" if meta.get("smoke") else ""))
    md.append("")
    md.append(f"- date: {meta.get('date', '?')}; command: `{meta.get('command', 'bash bench/run.sh')}`"
              + (f"; took {args.elapsed} s" if args.elapsed else ""))
    md.append(f"- machine: {meta.get('nproc', '?')} cores, {meta.get('cpu', '?')}, kernel {meta.get('kernel', '?')}; "
              "load generators, anchors and agentwatch share these cores")
    if busy:
        md.append(f"- **the machine was busy** during {len(busy)} of {len(load_lines)} samples "
                  "(other work compiling in the same checkout): "
                  + "; ".join(f"{l[0]}: load {l[1]}, {l[2]} compiler processes" for l in busy[:6])
                  + ("; …" if len(busy) > 6 else "") + ". Treat the figures as lower bounds.")
    else:
        md.append("- machine quiet during the run (load average and compiler processes sampled at every step)")
    if failed:
        md.append(f"- **failed steps**: {', '.join(failed)}")
    md.append("")
    md.append("| figure | agentwatch | anchor | ratio | goal | met? |")
    md.append("|---|---|---|---|---|---|")
    for r in rows:
        md.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    md.append("")
    if notes:
        md.extend(f"- {n}" for n in notes)
        md.append("")
    md.append("Raw outputs: `raw/` next to this file (wrk text, loadgen/parse/alert/p95 JSON, load samples).")
    text = "\n".join(md) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


def pct(v):
    return "n/a" if v is None else f"{100 * v:.2f} %"


if __name__ == "__main__":
    main()
