#!/bin/sh
# cleave: does the partitioner's cost model predict real split runs? (issue 4, docs/PARTITIONER.md,
# "Prediction on loopback"). On this host, with the split binaries:
#   1. profiles the model for the device (cleave-partitioner profile pinned to DEVICE_CPU, 1 thread)
#      and for the edge (pinned to EDGE_CPU, 1 thread), the way the split runs them;
#   2. starts a sealed cleave-edge pinned to EDGE_CPU (1 worker, 1 compute thread);
#   3. measures the link through the real path: two calibration runs of cleave-device (pinned to
#      DEVICE_CPU) at the cut whose messages are smallest and at the one whose messages are largest;
#      their wire time (cl_split_result.wire_ms: the round trip minus the edge's decode, compute and
#      encode, less the edge's reply sealing, which the cost model counts in the reply) gives the
#      RTT (the intercept) and the bandwidth (the slope) of wire = RTT + bytes * 8 / bandwidth.
#      Nothing else is fitted: every compute, codec and sealing time comes from the profiles;
#   4. plans (cleave-partitioner plan --codec C) with that link and
#   5. runs cleave-device at each cut (--cut K --codec C; cut n: the whole model locally, as the
#      plan's row n means) in ROUNDS interleaved rounds of REPEAT requests, and compares each cut's
#      predicted time with the measured median (the median of the rounds' medians). The table also
#      splits both into device compute, device codec (encode + seal, open + decode of the reply),
#      edge (open + decode, compute, reply encode + seal) and link (wire).
# Prints the table and a verdict; exits 1 when a cut's prediction is off by more than TOLERANCE
# percent (2: bad usage, 3: could not run).
#
#   scripts/check-prediction.sh MODEL.onnx INPUT.npy [--cuts all|spread|LIST] [--build DIR]
#       [--out DIR] [--repeat N] [--rounds R] [--tolerance PCT] [--codec C] [--runs N]
#       [--device-cpu C] [--edge-cpu C] [--reuse-profiles]
#
#   --cuts all       every cut 0..n (default for models of at most 80 nodes)
#   --cuts spread    0, n, the plan's choice, the calibration cuts and 15 cuts spread evenly
#                    (default above 80 nodes)
#   --cuts 0,14,67   these cuts
#   --repeat N       timed requests per cut and round (default 20); --rounds R (default 5)
#   --runs N         profile timing runs (cleave-partitioner profile --runs, default 50)
#   --reuse-profiles keep OUT's profiles when they are there (for re-running the comparison)
#   --priority rt|normal
#                    rt (the default when root): profiles, edge and device run under SCHED_FIFO
#                    (chrt -f 10) on their pinned core, so that other people's jobs on a shared
#                    machine wait while a measurement runs instead of preempting it (they still
#                    share caches and memory bandwidth); normal: plain scheduling
#   --quiet-below P  before each measurement (and each profile), wait until the machine's CPU use,
#                    over 0.3 s with nothing of ours running, is below P percent of all cores
#                    (default 25; 100: never wait), at most --quiet-wait S seconds (default 3),
#                    then go ahead anyway. The same rule for every cut; the table says how often
#                    it waited and how often it gave up. Other people's jobs on a shared machine
#                    slow both halves by 10-80 % while they run (measured on a 2-core box).
# Needs python3 (standard library only) and taskset. Writes OUT (default BUILD/check-prediction/
# MODEL): the profiles, the plan, every --stats file, table.md and result.json.
set -eu
usage() { sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "check-prediction: $*" >&2; exit 3; }

[ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ] && { usage; exit 0; }
[ $# -ge 2 ] || { echo "check-prediction: MODEL and INPUT are required (see --help)" >&2; exit 2; }
MODEL=$1 INPUT=$2
shift 2
BUILD=build CUTS="" OUT="" REPEAT=20 ROUNDS=5 TOL=15 CODEC=raw RUNS=50 REUSE=0 QUIET=25 QUIET_WAIT=3
PRIORITY=normal
[ "$(id -u)" = 0 ] && command -v chrt >/dev/null && PRIORITY=rt
DEVICE_CPU=${DEVICE_CPU:-0} EDGE_CPU=${EDGE_CPU:-1}
while [ $# -gt 0 ]; do
  case "$1" in
    --reuse-profiles|--help|-h) ;;
    --*) [ $# -ge 2 ] || { echo "check-prediction: $1 needs a value" >&2; exit 2; } ;;
  esac
  case "$1" in
    --cuts) CUTS=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --out) OUT=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --tolerance) TOL=$2; shift ;;
    --codec) CODEC=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --device-cpu) DEVICE_CPU=$2; shift ;;
    --edge-cpu) EDGE_CPU=$2; shift ;;
    --reuse-profiles) REUSE=1 ;;
    --quiet-below) QUIET=$2; shift ;;
    --priority) PRIORITY=$2; shift ;;
    --quiet-wait) QUIET_WAIT=$2; shift ;;
    --help|-h) usage; exit 0 ;;
    *) echo "check-prediction: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$PRIORITY" in rt|normal) ;; *) echo "check-prediction: --priority is rt or normal" >&2; exit 2 ;; esac
for v in "$REPEAT" "$ROUNDS" "$RUNS" "$DEVICE_CPU" "$EDGE_CPU" "$QUIET" "$QUIET_WAIT"; do
  case "$v" in ''|*[!0-9]*) echo "check-prediction: '$v' is not a count" >&2; exit 2 ;; esac
done
BIN=$BUILD/bin
# Command prefixes: on that core (and under SCHED_FIFO with --priority rt). Plain words, no function,
# so that `$PIN_EDGE cleave-edge ... &` makes $! the edge itself (taskset and chrt exec it).
RT=""
[ "$PRIORITY" = rt ] && RT="chrt -f 10"
PIN_DEV="taskset -c $DEVICE_CPU $RT"
PIN_EDGE="taskset -c $EDGE_CPU $RT"
PY=${PY:-python3}
NAME=$(basename "$MODEL" .onnx)
OUT=${OUT:-$BUILD/check-prediction/$NAME}
for f in "$BIN/cleave-device" "$BIN/cleave-edge" "$BIN/cleave-keygen" "$BIN/cleave-partitioner"; do
  [ -x "$f" ] || die "$f is missing: build first"
done
[ -r "$MODEL" ] || die "cannot read $MODEL"
[ -r "$INPUT" ] || die "cannot read $INPUT"
command -v taskset >/dev/null || die "taskset is missing (util-linux)"
command -v "$PY" >/dev/null || die "$PY is missing"
mkdir -p "$OUT/runs" "$OUT/keys"
K=$OUT/keys
[ -e "$K/edge.key" ] || "$BIN/cleave-keygen" "$K/edge" >/dev/null
[ -e "$K/device.key" ] || "$BIN/cleave-keygen" "$K/device" >/dev/null
cp "$K/device.pub" "$K/allow.pub"

EDGE_PID=""
cleanup() {
  if [ -n "$EDGE_PID" ]; then
    kill -TERM "$EDGE_PID" 2>/dev/null || true
    wait "$EDGE_PID" 2>/dev/null || true
    EDGE_PID=""
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# === Waiting for a quiet machine (the same rule before every measurement) ===
WAITS=0 GAVE_UP=0 QUIET_CHECKS=0
busy_pct() { # CPU use of the whole machine over 0.3 s, percent of all cores
  a=$(head -n 1 /proc/stat)
  sleep 0.3
  b=$(head -n 1 /proc/stat)
  echo "$a
$b" | awk '{ idle = $5 + $6; tot = 0; for (i = 2; i <= NF; i++) tot += $i;
               if (NR == 1) { i0 = idle; t0 = tot } else { d = tot - t0;
               print (d > 0 ? int(100 * (d - (idle - i0)) / d) : 0) } }'
}
wait_quiet() {
  [ "$QUIET" -ge 100 ] && return 0
  QUIET_CHECKS=$((QUIET_CHECKS + 1))
  waited=0
  while [ "$(busy_pct)" -ge "$QUIET" ]; do
    waited=$((waited + 1))
    if [ "$waited" -ge $((QUIET_WAIT * 10 / 3)) ]; then GAVE_UP=$((GAVE_UP + 1)); break; fi
  done
  [ "$waited" -gt 0 ] && WAITS=$((WAITS + 1))
  return 0
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
N=$("$BIN/cleave-device" --model "$MODEL" --input "$INPUT" --list-cuts | tail -n 1 | cut -d' ' -f1)
case "$N" in ''|*[!0-9]*) die "cleave-device --list-cuts failed on $MODEL" ;; esac

# === 1. Profiles, pinned as the split runs ===
for side in device edge; do
  cpu=$DEVICE_CPU
  [ "$side" = edge ] && cpu=$EDGE_CPU
  if [ "$REUSE" = 1 ] && [ -s "$OUT/$side.prof" ]; then continue; fi
  printf 'check-prediction: profiling %s for the %s (cpu %s)\n' "$NAME" "$side" "$cpu" >&2
  wait_quiet
  taskset -c "$cpu" $RT "$BIN/cleave-partitioner" profile --model "$MODEL" --input "$INPUT" --threads 1 \
    --runs "$RUNS" --codecs "$CODEC" --no-accuracy -o "$OUT/$side.prof" >/dev/null ||
    die "profiling the $side failed"
  "$BIN/cleave-partitioner" show "$OUT/$side.prof" --json > "$OUT/$side.json"
done

# === 2. The edge ===
SHAPE=$($PY - "$INPUT" <<'EOF'
import ast, sys
f = open(sys.argv[1], "rb")   # .npy: magic, version, header length, a dict literal
if f.read(6) != b"\x93NUMPY":
    sys.exit(0)
major = f.read(2)[0]
n = int.from_bytes(f.read(2 if major == 1 else 4), "little")
print("x".join(str(d) for d in ast.literal_eval(f.read(n).decode("latin1"))["shape"]))
EOF
)
: > "$OUT/edge.log"   # exists before the edge writes to it: the loop below reads it
$PIN_EDGE "$BIN/cleave-edge" --model "$MODEL" --listen 'tcp://127.0.0.1:*' \
  --key "$K/edge.key" --allow "$K/allow.pub" --threads 1 --compute-threads 1 \
  ${SHAPE:+--input-shape "$SHAPE"} 2>"$OUT/edge.log" &
EDGE_PID=$!
EP=""
for _ in $(seq 200); do
  EP=$(sed -n 's/^cleave-edge: listening on \(tcp:[^,]*\),.*/\1/p' "$OUT/edge.log")
  [ -n "$EP" ] && break
  kill -0 "$EDGE_PID" 2>/dev/null || break
  sleep 0.05
done
[ -n "$EP" ] || die "the edge did not start: $(cat "$OUT/edge.log")"

run_cut() { # CUT STATS: one measurement, pinned; cut n runs locally
  wait_quiet
  if [ "$1" = "$N" ]; then
    $PIN_DEV "$BIN/cleave-device" --model "$MODEL" --input "$INPUT" --threads 1 \
      --repeat "$REPEAT" --stats "$2" --quiet
  else
    $PIN_DEV "$BIN/cleave-device" --model "$MODEL" --input "$INPUT" --threads 1 \
      --repeat "$REPEAT" --stats "$2" --quiet --edge "$EP" --key "$K/device.key" \
      --edge-pub "$K/edge.pub" --cut "$1" --codec "$CODEC"
  fi || die "cleave-device failed at cut $1"
}

# === 3. The link, from the split's own wire times ===
CAL=$($PY - "$OUT/device.json" "$OUT/edge.json" "$CODEC" <<'EOF'
import json, sys
dev, edge, codec = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
n = dev["node_count"]
down = edge["cuts"][n]["codecs"][codec]["bytes"]
size = {k: dev["cuts"][k]["codecs"][codec]["bytes"] + down for k in range(n)}
small = min(size, key=lambda k: (size[k], -k))
large = max(size, key=lambda k: (size[k], -k))
print(small, large)
EOF
)
set -- $CAL
CAL_SMALL=$1 CAL_LARGE=$2
printf 'check-prediction: measuring the link at cuts %s (smallest messages) and %s (largest)\n' \
  "$CAL_SMALL" "$CAL_LARGE" >&2
REPEAT_SAVED=$REPEAT
REPEAT=$((REPEAT * ROUNDS))
run_cut "$CAL_SMALL" "$OUT/cal-small.json"
run_cut "$CAL_LARGE" "$OUT/cal-large.json"
REPEAT=$REPEAT_SAVED
LINK=$($PY - "$OUT" <<'EOF'
import json, sys
o = sys.argv[1]
edge = json.load(open(f"{o}/edge.json"))
pts = []
for name in ("cal-small", "cal-large"):
    s = json.load(open(f"{o}/{name}.json"))
    # the edge seals the reply after its encode timer: the cost model counts that in the reply
    seal = s["bytes_down"] / 1e6 * edge["seal_ms_per_mb"]
    pts.append((s["bytes_up"] + s["bytes_down"], s["wire_ms"] - seal))
(b1, t1), (b2, t2) = pts
slope = (t2 - t1) / (b2 - b1) if b2 != b1 else 0.0        # ms per byte
if slope <= 0:
    slope = t2 / b2                                        # all RTT-free: bandwidth from the large one
rtt = max(t1 - b1 * slope, 0.0)
bps = 8e3 / slope
print(f"{bps:.0f} {rtt * 1e3:.1f}")
EOF
)
set -- $LINK
BW_BPS=$1 RTT_US=$2
printf 'check-prediction: link %s bit/s, RTT %s us\n' "$BW_BPS" "$RTT_US" >&2

# === 4. The plan ===
"$BIN/cleave-partitioner" plan --device "$OUT/device.prof" --edge "$OUT/edge.prof" \
  --bandwidth "${BW_BPS}bit" --rtt "${RTT_US}us" --codec "$CODEC" --no-dag -o "$OUT/plan.pb" \
  >/dev/null || die "planning failed"
"$BIN/cleave-partitioner" show "$OUT/plan.pb" --json > "$OUT/plan.json"
CHOSEN=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["chosen_cut"])' "$OUT/plan.json")

# === 5. The runs ===
if [ -z "$CUTS" ]; then
  if [ "$N" -le 80 ]; then CUTS=all; else CUTS=spread; fi
fi
LIST=$($PY - "$CUTS" "$N" "$CHOSEN" "$CAL_SMALL" "$CAL_LARGE" <<'EOF'
import sys
spec, n, chosen, a, b = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:])
if spec == "all":
    cuts = set(range(n + 1))
elif spec == "spread":
    cuts = {0, n, chosen, a, b} | {round(i * n / 16) for i in range(1, 16)}
else:
    try:
        cuts = {int(x) for x in spec.split(",")}
    except ValueError:
        sys.exit(f"check-prediction: --cuts takes all, spread or a list of cuts, not '{spec}'")
    if any(k < 0 or k > n for k in cuts):
        sys.exit(f"check-prediction: cuts are 0..{n}")
print(" ".join(str(k) for k in sorted(cuts)))
EOF
) || exit 2
COUNT=$(echo "$LIST" | wc -w)
r=1
while [ "$r" -le "$ROUNDS" ]; do
  # alternate the order between rounds, so that slow drifts of the machine hit all cuts alike
  ORDER=$LIST
  [ $((r % 2)) = 0 ] && ORDER=$(echo "$LIST" | tr ' ' '\n' | sort -rn | tr '\n' ' ')
  i=0
  for k in $ORDER; do
    i=$((i + 1))
    printf '\rcheck-prediction: round %s/%s, cut %s (%s/%s)   ' "$r" "$ROUNDS" "$k" "$i" "$COUNT" >&2
    run_cut "$k" "$OUT/runs/cut$k-r$r.json"
  done
  r=$((r + 1))
done
printf '\n' >&2
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
END=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cleanup

# === 6. Predicted against measured ===
$PY - "$OUT" "$N" "$TOL" "$CODEC" "$LIST" "$CAL_SMALL" "$CAL_LARGE" "$CHOSEN" "$BW_BPS" "$RTT_US" \
  "$START" "$END" "$LOAD_BEFORE" "$LOAD_AFTER" "$NAME" "$ROUNDS" "$REPEAT" \
  "$QUIET_CHECKS $WAITS $GAVE_UP $QUIET" "$PRIORITY" <<'EOF'
import glob, json, statistics, sys
(o, n, tol, codec, cuts, cal_s, cal_l, chosen, bps, rtt_us, start, end, load0, load1, name, rounds,
 repeat, quiet, priority) = sys.argv[1:]
checks, waits, gave_up, quiet_pct = map(int, quiet.split())
n, tol, cuts = int(n), float(tol), [int(k) for k in cuts.split()]
cal = {int(cal_s), int(cal_l)}
plan = json.load(open(f"{o}/plan.json"))
dev, edge = json.load(open(f"{o}/device.json")), json.load(open(f"{o}/edge.json"))
rows = {r["cut"]: r for r in plan["cuts"]}
B = float(bps)
down_b = edge["cuts"][n]["codecs"][codec]["bytes"]
renc_codec = edge["cuts"][n]["codecs"][codec]["encode_ms"]

def med(k, key):
    vals = [json.load(open(f))[key] for f in sorted(glob.glob(f"{o}/runs/cut{k}-r*.json"))]
    return statistics.median(vals), vals

lines, worst, misses, result = [], 0.0, [], []
hdr = ("| cut | bytes up | predicted ms | measured ms | error | device p/m | device codec p/m "
       "| edge p/m | link p/m | rounds (ms) |")
lines += [hdr, "|" + "---|" * 10]
for k in cuts:
    r = rows[k]
    m, per_round = med(k, "median_ms")
    p = r["predicted_ms"]
    err = (p - m) / m * 100
    if k < n:
        down_ms = r["bytes_down"] * 8 / B * 1e3
        seal_e = r["bytes_down"] / 1e6 * edge["seal_ms_per_mb"]
        rdec = r["reply_ms"] - down_ms - renc_codec - seal_e
        p_parts = (r["device_ms"], r["encode_ms"] + rdec, r["decode_ms"] + r["worker_ms"] + renc_codec,
                   r["up_ms"] + r["rtt_ms"] + down_ms + seal_e)
        g = lambda key: med(k, key)[0]
        m_parts = (g("device_ms"), g("encode_ms") + g("decode_ms"),
                   g("edge_decode_ms") + g("edge_ms") + g("edge_encode_ms"), g("wire_ms"))
        parts = " | ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(p_parts, m_parts))
    else:
        p_parts = m_parts = None
        parts = f"{r['device_ms']:.2f}/{m:.2f} | - | - | -"
    tag = (" (cal)" if k in cal else "") + (" (plan)" if k == int(chosen) else "") + \
          (" (local)" if k == n else "")
    lines.append(f"| {k}{tag} | {r['bytes_up']} | {p:.3f} | {m:.3f} | {err:+.1f}% | {parts} | "
                 + ", ".join(f"{v:.2f}" for v in per_round) + " |")
    worst = max(worst, abs(err))
    if abs(err) > tol:
        misses.append(k)
    result.append({"cut": k, "predicted_ms": p, "measured_ms": m, "error_pct": err,
                   "rounds_ms": per_round, "calibration": k in cal})
errs = [c["error_pct"] for c in result]
spread = (f"errors: median {statistics.median(errs):+.1f}%, median |error| "
          f"{statistics.median(abs(e) for e in errs):.1f}%; within 5/10/15%: "
          + "/".join(str(sum(abs(e) <= t for e in errs)) for t in (5, 10, 15)) + f" of {len(errs)}")
verdict = (f"PASS: every cut within {tol:g}% (worst {worst:.1f}%)" if not misses else
           f"FAIL: {len(misses)} of {len(cuts)} cuts off by more than {tol:g}% (worst {worst:.1f}%): "
           + " ".join(map(str, misses))) + "\n" + spread
head = [f"## {name}: predicted vs measured on loopback",
        "",
        f"{start} .. {end}; load average {load0} before, {load1} after; codec {codec}; "
        f"{rounds} rounds x {repeat} requests per cut; link from cuts {cal_s} and {cal_l}: "
        f"{B / 1e9:.3f} Gbit/s, RTT {float(rtt_us):.1f} us; plan's choice: cut {chosen}.",
        f"Quiet gate: machine CPU use below {quiet_pct}% over 0.3 s before each of {checks} "
        f"measurements; waited before {waits}, gave up waiting (ran anyway) on {gave_up}. "
        f"Scheduling: {'SCHED_FIFO (chrt -f 10)' if priority == 'rt' else 'normal'}, pinned.",
        "Parts: predicted/measured ms; device codec = encode + seal + the reply's open + decode;",
        "edge = open + decode + compute + reply encode; link = wire (incl. the edge's reply seal).",
        ""]
text = "\n".join(head + lines + ["", verdict])
open(f"{o}/table.md", "w").write(text + "\n")
json.dump({"model": name, "cuts": result, "worst_pct": worst,
           "median_pct": statistics.median(errs), "median_abs_pct": statistics.median(abs(e) for e in errs), "misses": misses, "tolerance": tol,
           "link": {"bandwidth_bps": B, "rtt_ms": float(rtt_us) / 1e3}, "load_before": load0,
           "load_after": load1, "start": start, "end": end,
           "priority": priority, "quiet_gate": {"below_pct": quiet_pct, "checks": checks, "waited": waits, "gave_up": gave_up}}, open(f"{o}/result.json", "w"), indent=1)
print(text)
sys.exit(1 if misses else 0)
EOF
