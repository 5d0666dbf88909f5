#!/usr/bin/env python3
"""cleave: the tables of scripts/bench-split.sh, from its output directory (standard library only).

bench-split-report.py OUT BW_MBIT RTT_MS "MODELS" LOAD_BEFORE LOAD_AFTER DEVICE_CPU EDGE_CPU
                      THROTTLE ROUNDS MINUTES
Prints Markdown on stdout; writes OUT/results.csv (one line per measured cut and codec)."""
import json
import os
import subprocess
import sys
import time

out, bw, rtt, models = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4].split()
load0, load1, dcpu, ecpu, throttle, rounds, minutes = sys.argv[5:12]
CODECS = ["raw", "raw+nolz4"]


def load(path):
    return json.load(open(path)) if os.path.exists(path) else None


def overhead(s):
    """end-to-end - device compute - edge compute (ms, and % of end-to-end)."""
    o = s["median_ms"] - s["device_ms"] - s["edge_ms"]
    return o, 100 * o / s["median_ms"]


def path(s, f=1.0):
    """The split's own parts: encode + wire + edge decode + edge encode + decode (ms), the device's
    parts (encode, decode) times f."""
    return f * (s["encode_ms"] + s["decode_ms"]) + s["wire_ms"] + s["edge_decode_ms"] + s["edge_encode_ms"]


HEAD = ("| cut | codec | bytes up | bytes down | device | encode | wire | edge dec | edge | edge enc "
        "| decode | end-to-end | vs local | overhead | overhead % | path | path % |")
RULE = "|" + "---|" * 17


def row(label, codec, s, local_ms):
    o, p = overhead(s)
    return (f"| {label} | {codec} | {s['bytes_up']:,.0f} | {s['bytes_down']:,.0f} | {s['device_ms']:.2f} "
            f"| {s['encode_ms']:.2f} | {s['wire_ms']:.2f} | {s['edge_decode_ms']:.2f} | {s['edge_ms']:.2f} "
            f"| {s['edge_encode_ms']:.2f} | {s['decode_ms']:.2f} | {s['median_ms']:.2f} "
            f"| {s['median_ms'] / local_ms:.2f}x | {o:.2f} | {p:.1f} | {path(s):.2f} "
            f"| {100 * path(s) / s['median_ms']:.1f} |")


def cost(r, n, f):
    """The plan's predicted_ms with the device's work (compute, encode) times f."""
    if r["cut"] == n:
        return f * r["device_ms"]
    return r["predicted_ms"] + (f - 1) * (r["device_ms"] + r["encode_ms"])


def describe(r, n):
    if r["cut"] == n:
        return f"cut {n} (device only, nothing sent)"
    return f"cut {r['cut']} ({r['codec']})"


def model_section(m, csv):
    d = f"{out}/{m}"
    n = int(open(f"{d}/nodes").read())
    loc = load(f"{d}/local.json")
    plan = load(f"{d}/plan.json")
    print(f"### {m} ({n} nodes)\n")
    print(f"Whole model locally (no split, 1 thread): **{loc['median_ms']:.2f} ms** (median of "
          f"{loc['runs']} runs over {loc.get('rounds', 1)} rounds).\n")
    print(HEAD)
    print(RULE)
    rows = []
    for f in os.listdir(f"{d}/table"):
        name = f[:-5]
        if not f.endswith(".json") or name.rsplit("-", 1)[1].startswith("r"):
            continue   # one round's file
        codec, k = name.rsplit("-", 1)
        rows.append((int(k), CODECS.index(codec), codec, load(f"{d}/table/{f}")))
    for k, _, codec, s in sorted(rows):
        label = f"{k} (edge only)" if k == 0 else f"{k} (device only)" if k == n else str(k)
        print(row(label, codec, s, loc["median_ms"]))
        o, p = overhead(s)
        csv.append(f"{m},{k},{n},{codec},{s['runs']},{s['median_ms']},{s['device_ms']},{s['encode_ms']},"
                   f"{s['wire_ms']},{s['edge_decode_ms']},{s['edge_ms']},{s['edge_encode_ms']},"
                   f"{s['decode_ms']},{s['bytes_up']:.0f},{s['bytes_down']:.0f},{loc['median_ms']},"
                   f"{o:.4f},{p:.2f},{path(s):.4f}")
    print()
    chosen = next(r for r in plan["cuts"] if r["cut"] == plan["chosen_cut"])
    feas = sorted((r for r in plan["cuts"] if r["feasible"]), key=lambda r: r["predicted_ms"])
    others = ", ".join(f"{r['cut']} ({r['predicted_ms']:.1f} ms)"
                       for r in [r for r in feas if r is not chosen][:3])
    print(f"**The partitioner's cut for {bw:g} Mbit/s, RTT {rtt:g} ms, device and edge both this host** "
          f"(`cleave-partitioner plan` on a profile of each pinned CPU, 1 thread): "
          f"**{describe(chosen, n)}**, predicted {chosen['predicted_ms']:.2f} ms; next best: {others}.")
    if plan["chosen_cut"] == n:
        print(f"At that cut nothing crosses the link: the data-path overhead is 0 by construction "
              f"(the table's row {n} is the device computing everything and still shipping its outputs "
              f"to the edge and back, which nobody would configure).\n")
    else:
        s = load(f"{d}/table/{chosen['codec']}-{chosen['cut']}.json")
        if s:
            o, p = overhead(s)
            print(f"Overhead there (loopback): {o:.2f} ms, {p:.1f}% of end-to-end; path "
                  f"{path(s):.2f} ms, {100 * path(s) / s['median_ms']:.1f}%.\n")
    slow_section(d, n, plan, loc)


def slow_section(d, n, plan, loc):
    fast, slow = load(f"{d}/slow/local-fast.json"), load(f"{d}/slow/local.json")
    if not fast or not slow:
        return
    f = slow["mean_ms"] / fast["mean_ms"]
    ranked = sorted((r for r in plan["cuts"] if r["feasible"]), key=lambda r: (cost(r, n, f), -r["cut"]))
    best = ranked[0]
    alone = next(r for r in plan["cuts"] if r["cut"] == n)
    others = ", ".join(f"{r['cut']} ({cost(r, n, f):.1f} ms)" for r in ranked[1:4])
    head = (f"**A slow device** ({throttle}% of a core, cgroup CPU quota): whole model {slow['mean_ms']:.1f} "
            f"ms (mean; unthrottled {fast['mean_ms']:.2f}), slowdown S = {f:.1f}x. The plan's rows re-ranked "
            f"with the device's compute and encode times S: **{describe(best, n)}**, predicted "
            f"{cost(best, n, f):.1f} ms")
    if best["cut"] == n:
        print(f"{head}; next best: {others}.\n")
        return
    print(f"{head} on the link (device {f * best['device_ms']:.1f} + encode {f * best['encode_ms']:.2f} + up "
          f"{best['up_ms']:.1f} + RTT {best['rtt_ms']:g} + edge decode {best['decode_ms']:.2f} + edge "
          f"{best['worker_ms']:.1f} + reply {best['reply_ms']:.2f}); device alone "
          f"{f * alone['device_ms']:.1f} ms; next best: {others}.")
    tab = load(f"{d}/table/{best['codec']}-{best['cut']}.json")
    link = cost(best, n, f)
    if not tab:
        print()
        return
    o, p = overhead(tab)
    slow_e2e = f * tab["device_ms"] + tab["edge_ms"] + path(tab, f)
    print(f"Measured at cut {best['cut']} ({best['codec']}) on loopback with the unthrottled device "
          f"(table): end-to-end {tab['median_ms']:.2f} ms, overhead {o:.2f} ms = **{p:.1f}%**, path "
          f"{path(tab):.2f} ms = **{100 * path(tab) / tab['median_ms']:.1f}%**. For the slow device "
          f"(estimate: the device's compute, encode and decode times S): path {path(tab, f):.2f} ms = "
          f"**{100 * path(tab, f) / slow_e2e:.1f}%** of its loopback end-to-end ({slow_e2e:.1f} ms) and "
          f"**{100 * path(tab, f) / link:.1f}%** of its predicted end-to-end on the link ({link:.1f} ms).")
    print()


def main():
    cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True,
                         text=True).stdout.strip()
    print(f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {cpu}, {os.cpu_count()} cores (shared with "
          f"other jobs); load average before {load0}, after {load1}; {minutes} min in all. Device "
          f"(`cleave-device`, 1 thread) pinned to CPU {dcpu}, edge (`cleave-edge --threads 1 "
          f"--compute-threads 1`) to CPU {ecpu}; sealed (XChaCha20-Poly1305), loopback TCP; {rounds} "
          f"alternating rounds.\n")
    print("Times in ms, each column the median over its runs, then the median over the rounds (so "
          "columns need not add up exactly). device = compute [0, cut); encode = the frontier's codec "
          "and seal; wire = round trip - (edge dec + edge + edge enc): ZeroMQ both ways, the kernel's "
          "loopback, the edge's front thread and the reply's seal; edge dec = open + decode on the "
          "edge; edge = compute [cut, n); edge enc = the reply's codec; decode = the reply's open and "
          "decode on the device. **overhead = end-to-end - device - edge**: everything that is not "
          "the model's compute. vs local = end-to-end / the whole model run locally.\n")
    csv = ["model,cut,nodes,codec,runs,e2e_ms,device_ms,encode_ms,wire_ms,edge_decode_ms,edge_ms,"
           "edge_encode_ms,decode_ms,bytes_up,bytes_down,local_ms,overhead_ms,overhead_pct,path_ms"]
    for m in models:
        model_section(m, csv)
    open(f"{out}/results.csv", "w").write("\n".join(csv) + "\n")


main()
