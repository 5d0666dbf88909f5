#!/usr/bin/python3
"""Markdown rows from plan JSON files (`cleave-partitioner show --json PLAN` or `plan --json`), for
docs/PARTITIONER.md.   plan_table.py LABEL=PLAN.json [LABEL=PLAN.json ...]

One row per plan: the chosen cut and its predicted time, the device-only time, and the best cut
that offloads (k < n) with its time split (ms): device + encode + up + rtt + decode + worker +
reply; then what the DAG search found."""
import json
import sys


def main(args):
    print("| link | chosen cut | predicted ms | device only ms | best offload: cut, codec, bytes up "
          "| its ms = device + encode + up + rtt + decode + worker + reply | DAG search |")
    print("|---" * 7 + "|")
    for arg in args:
        label, path = arg.split("=", 1)
        p = json.load(open(path))
        n, rows = p["nodes"], p["cuts"]
        c = rows[p["chosen_cut"]]
        off = [r for r in rows if r["feasible"] and r["cut"] < n]
        b = min(off, key=lambda r: r["predicted_ms"]) if off else None
        d = p["dag"]
        if not d["searched"]:
            dag = "not searched"
        elif d["is_prefix"]:
            dag = "a prefix (%d nodes)" % d["device_nodes"]
        else:
            dag = "%d nodes: %.2f ms vs %.2f (cut %d)" % (d["device_nodes"], d["dag_cost"], d["topo_cost"],
                                                        d["topo_cut"])
        chosen = "%d of %d%s" % (c["cut"], n, " (device only)" if c["cut"] == n else ", " + c["codec"])
        best = "-" if not b else "%d, %s, %d" % (b["cut"], b["codec"], b["bytes_up"])
        split = "-" if not b else "**%.2f** = %.2f + %.2f + %.2f + %g + %.2f + %.2f + %.2f" % (
            b["predicted_ms"], b["device_ms"], b["encode_ms"], b["up_ms"], b["rtt_ms"], b["decode_ms"],
            b["worker_ms"], b["reply_ms"])
        print("| %s | %s | %.2f | %.2f | %s | %s | %s |" % (label, chosen, c["predicted_ms"],
                                                          rows[n]["predicted_ms"], best, split, dag))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
