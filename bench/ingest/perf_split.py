#!/usr/bin/env python3
"""Splits a daemon profile per thread role and names the heaviest frames.

  perf script -F tid,ip,sym -i perf.data | python3 bench/ingest/perf_split.py [--top N]

A thread's role is the first of ROLES whose marker frame appears in any of
its stacks. Prints, per role, its share of all samples, then the frames with
the most samples under them (inclusive, once per stack) and the most self time.
"""
import collections
import sys

# (role, a substring of a frame that only that thread runs), first match wins.
ROLES = [
    ("writer", "IngestWriter::Run"),
    ("evaluator", "EvaluatorLoop"),
    ("handlers", "App::HandleIngest"),
    ("handlers", "HandleOtlp"),
    ("io", "boost::asio"),
]


def samples(stream):
    tid, stack = None, []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if tid is not None:
                yield tid, stack
            tid, stack = None, []
            continue
        if tid is None:
            tid = line.split()[0]
            continue
        parts = line.strip().split(None, 1)
        stack.append(parts[1] if len(parts) > 1 else parts[0])
    if tid is not None:
        yield tid, stack


def main():
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 12
    by_tid = collections.defaultdict(list)
    for tid, stack in samples(sys.stdin):
        by_tid[tid].append(stack)
    role_of = {}
    for tid, stacks in by_tid.items():
        role_of[tid] = "other"
        for role, marker in ROLES:
            if any(marker in frame for st in stacks for frame in st):
                role_of[tid] = role
                break
    total = sum(len(s) for s in by_tid.values())
    roles = collections.defaultdict(list)
    for tid, stacks in by_tid.items():
        roles[role_of[tid]].extend(stacks)
    print(f"{total} samples, {len(by_tid)} threads")
    for role, stacks in sorted(roles.items(), key=lambda kv: -len(kv[1])):
        threads = sum(1 for t in by_tid if role_of[t] == role)
        print(f"\n== {role}: {100.0 * len(stacks) / total:.1f} % of samples ({threads} threads)")
        incl, self_ = collections.Counter(), collections.Counter()
        for st in stacks:
            if st:
                self_[st[0]] += 1
            for frame in set(st):
                incl[frame] += 1
        print("  inclusive (share of all samples):")
        for frame, n in incl.most_common(top):
            print(f"    {100.0 * n / total:5.1f} %  {frame[:110]}")
        print("  self:")
        for frame, n in self_.most_common(top):
            print(f"    {100.0 * n / total:5.1f} %  {frame[:110]}")


if __name__ == "__main__":
    main()
