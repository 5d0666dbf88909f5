#!/bin/sh
# The shaped-link test: `cleave-bench --quick` for real (namespaces, tbf, the delaying relay, a CPU
# quota), then its results checked: the columns, every strategy, the goodput within 10% of the set
# rate, the summary and plots, and the time (under 2 minutes). Needs root and the test models; skips
# (exit 77) with a plain message otherwise.
# Usage: quick.sh CLEAVE-BENCH TESTDATA [MAX_SECONDS]
set -u
BENCH=$1
TESTDATA=$2
MAX=${3:-120}
if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: the shaped-link test (cleave-bench --quick) needs root for network namespaces, tbf and a"
  echo "         cgroup CPU quota; run ctest as root (CI does). The parts that need no root were tested."
  exit 77
fi
if [ ! -f "$TESTDATA/models/mobilenetv2.onnx" ]; then
  echo "SKIPPED: the shaped-link test needs the test models: run scripts/fetch-testdata.sh $TESTDATA"
  exit 77
fi
OUT=$(mktemp -d /tmp/cleave-bench-quick-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
start=$(date +%s)
if ! "$BENCH" --quick --out "$OUT" --testdata "$TESTDATA"; then
  echo "FAIL: cleave-bench --quick exited $?"
  exit 1
fi
took=$(( $(date +%s) - start ))
echo "cleave-bench --quick took ${took} s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
/usr/bin/python3 - "$OUT" "$took" "$MAX" <<'PY'
import csv, os, sys
out, took, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bad = []
rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))
need = ["model", "bandwidth_mbit", "rtt_ms", "slowdown", "strategy", "cut", "codec", "measured_ms",
        "p90_ms", "predicted_ms", "bytes_up"]
missing = [c for c in need if c not in rows[0]]
if missing: bad.append("results.csv lacks " + ", ".join(missing))
points = {(r["model"], r["bandwidth_mbit"], r["rtt_ms"], r["slowdown"]) for r in rows}
for p in points:
    got = {r["strategy"] for r in rows if (r["model"], r["bandwidth_mbit"], r["rtt_ms"], r["slowdown"]) == p}
    for s in ["device_only", "edge_raw", "edge_compressed", "planner", "best", "cut"]:
        if s not in got: bad.append("%s: no %s row" % (p, s))
    for r in rows:
        if (r["model"], r["bandwidth_mbit"], r["rtt_ms"], r["slowdown"]) == p and r["strategy"] in ("planner", "device_only", "best"):
            if not r["measured_ms"]: bad.append("%s: %s not measured: %s" % (p, r["strategy"], r["note"]))
            if r["strategy"] == "planner" and not r["predicted_ms"]: bad.append("%s: no prediction" % (p,))
comp = [r for r in rows if r["strategy"] == "edge_compressed" and r["model"] == "mobilenetv2"]
if comp and comp[0]["codec"] != "jpeg-q90": bad.append("the image baseline is not JPEG: " + comp[0]["codec"])
for g in csv.DictReader(open(os.path.join(out, "goodput.csv"))):
    ratio = float(g["goodput_mbit"]) / float(g["set_mbit"])
    print("goodput at %s Mbit/s %s: %.2f Mbit/s (%.1f%% of the set rate)" % (g["set_mbit"], g["direction"], float(g["goodput_mbit"]), 100 * ratio))
    if abs(ratio - 1) > 0.10: bad.append("goodput %s %s off by more than 10%%" % (g["set_mbit"], g["direction"]))
for f in ["summary.md", "plots/latency_mobilenetv2_4x.png", "plots/latency_mobilenetv2_4x.svg",
          "plots/predicted_vs_measured.png", "plots/predicted_vs_measured.svg"]:
    if not os.path.getsize(os.path.join(out, f)): bad.append("empty " + f)
if took > limit: bad.append("took %d s, more than %d" % (took, limit))
for b in bad: print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
rc=$?
# Nothing of the lab may stay behind (other cleave-bench runs may be live: only dead owners count).
for ns in $(ip netns list 2>/dev/null | sed -n 's/^\(cbench-[0-9]*-[de]\).*/\1/p'); do
  pid=$(echo "$ns" | cut -d- -f2)
  if [ ! -d "/proc/$pid" ]; then echo "FAIL: network namespace $ns is left behind"; rc=1; fi
done
[ $rc = 0 ] && echo "quick.bench: passed"
exit $rc
