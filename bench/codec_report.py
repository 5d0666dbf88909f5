#!/usr/bin/python3
"""Markdown tables from cleave-codec-eval CSV files (the tables of docs/CODEC.md).

usage: /usr/bin/python3 bench/codec_report.py NAME=FILE.csv [NAME=FILE.csv ...]

Per codec and file, over every cut in the file: compression ratio (total raw bytes / total encoded
bytes), encode and decode throughput (MB/s of raw data on one core: total frontier bytes / total of
the per-cut medians), and the accuracy columns the file has (relative L2 error median and max, top-1
agreement, largest |change of log p| away from the last cut, smallest IoU, largest change of the head
score). Then, for files with an IoU column, the accuracy of the lossy codecs by range of cuts.
"""
import csv
import math
import sys


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def codecs_of(rows):
    seen = []
    for r in rows:
        if r["codec"] not in seen:
            seen.append(r["codec"])
    return seen


def num(s):
    return float(s) if s not in ("", None) else math.nan


def agg(rows):
    raw = sum(int(r["raw_bytes"]) for r in rows)
    enc = sum(int(r["encoded_bytes"]) for r in rows)
    # Each cut was timed on its first item (of raw_bytes / items bytes): the items factor cancels in
    # total bytes / total time.
    enc_s = sum(int(r["raw_bytes"]) / (num(r["encode_mbps"]) * 1e6)
                for r in rows if num(r["encode_mbps"]) > 0)
    dec_s = sum(int(r["raw_bytes"]) / (num(r["decode_mbps"]) * 1e6)
                for r in rows if num(r["decode_mbps"]) > 0)
    rel = sorted(num(r["rel_l2"]) for r in rows)
    last = max(int(r["cut"]) for r in rows)
    out = {
        "ratio": raw / enc if enc else math.nan,
        "enc": raw / enc_s / 1e6 if enc_s else math.nan,
        "dec": raw / dec_s / 1e6 if dec_s else math.nan,
        "rel_med": rel[len(rel) // 2], "rel_max": rel[-1],
    }
    top = [r["top1_agree"] for r in rows if r["top1_agree"]]
    if top:
        a = sum(int(t.split("/")[0]) for t in top)
        b = sum(int(t.split("/")[1]) for t in top)
        out["top1"] = f"{a}/{b}"
    dl = [num(r["max_dlogp"]) for r in rows if r["max_dlogp"] and int(r["cut"]) < last]
    if dl:
        out["dlogp"] = max(dl)
    dl_last = [num(r["max_dlogp"]) for r in rows if r["max_dlogp"] and int(r["cut"]) == last]
    if dl_last:
        out["dlogp_last"] = dl_last[0]
    iou = [num(r["iou"]) for r in rows if r["iou"]]
    if iou:
        out["iou_min"] = min(iou)
        out["iou_bad"] = sum(1 for v in iou if v < 0.99)
    head = [abs(num(r["head_out"]) - num(r["head_ref"])) for r in rows if r["head_out"]]
    if head:
        out["head"] = max(head)
        out["head_ref"] = num(rows[0]["head_ref"])
    out["cuts"] = len(rows)
    return out


def fmt(v, spec=".2e"):
    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return format(v, spec)


def table(title, header, lines):
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for line in lines:
        print("| " + " | ".join(line) + " |")


def main(argv):
    if len(argv) < 2 or any("=" not in a for a in argv[1:]):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    files = [(a.split("=", 1)[0], load(a.split("=", 1)[1])) for a in argv[1:]]
    codecs = codecs_of(files[0][1])
    stats = {(name, c): agg([r for r in rows if r["codec"] == c]) for name, rows in files for c in codecs}
    names = [n for n, _ in files]
    table("Compression ratio (total raw / total encoded bytes over every cut)", ["codec"] + names,
          [[c] + [fmt(stats[n, c]["ratio"], ".2f") for n in names] for c in codecs])
    table("Encode throughput, MB/s of raw data on one core", ["codec"] + names,
          [[c] + [fmt(stats[n, c]["enc"], ".0f") for n in names] for c in codecs])
    table("Decode throughput, MB/s of raw data on one core", ["codec"] + names,
          [[c] + [fmt(stats[n, c]["dec"], ".0f") for n in names] for c in codecs])
    for n, rows in files:
        s0 = stats[n, codecs[0]]
        cols = ["codec", "rel L2 median", "rel L2 max"]
        keys = [("rel_med", ".2e"), ("rel_max", ".2e")]
        for key, col, spec in (("top1", "top-1 agree", ""), ("dlogp", "max abs dlog p (cuts < n)", ".2e"),
                               ("dlogp_last", "dlog p at cut n", ".2e"), ("iou_min", "min IoU", ".4f"),
                               ("iou_bad", "cuts IoU < 0.99", "d"), ("head", "max abs head change", ".2e")):
            if key in s0:
                cols.append(col)
                keys.append((key, spec))
        lossy = [c for c in codecs if not c.startswith("raw")] or codecs
        table(f"{n}: effect on the output over {s0['cuts']} cuts"
              + (f" (head score unsplit {s0['head_ref']:.6g})" if "head_ref" in s0 else ""), cols,
              [[c] + [fmt(stats[n, c].get(k), spec) for k, spec in keys] for c in lossy])
        if "iou_min" in s0:
            last = max(int(r["cut"]) for r in rows)
            edges = [0, 1, 20, 60, 100, last + 1]
            lines = []
            for c in [c for c in lossy if "nolz4" not in c and "shuffle" not in c]:
                for lo, hi in zip(edges, edges[1:]):
                    sub = [r for r in rows if r["codec"] == c and lo <= int(r["cut"]) < hi]
                    if not sub:
                        continue
                    rel = sorted(num(r["rel_l2"]) for r in sub)
                    lines.append([c, f"{lo}-{hi - 1}", fmt(rel[len(rel) // 2]), fmt(rel[-1]),
                                  fmt(min(num(r["iou"]) for r in sub), ".4f")])
            table(f"{n}: by range of cuts", ["codec", "cuts", "rel L2 median", "rel L2 max", "min IoU"],
                  lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
