#!/bin/sh
# cleave: what the split's data path costs on loopback, against the compute alone, and the cut the
# partitioner chooses for a link (issue 3, docs/BENCHMARKS.md).
#
# Per model: cleave-edge (sealed, 1 worker, 1 compute thread) pinned to EDGE_CPU, cleave-device
# (1 thread) pinned to DEVICE_CPU (taskset), loopback TCP.
#   1. `cleave-partitioner profile` on each CPU (1 thread), then `plan` for BW_MBIT Mbit/s and RTT_MS
#      ms: the cut it chooses when device and edge are this host.
#   2. A slow device (THROTTLE percent of a core, a cgroup v1 CPU quota; 0: skipped): its slowdown S
#      is measured on the whole model (throttled mean over unthrottled mean) and the plan's rows are
#      re-ranked with the device's work times S, as cleave-bench does (a CFS quota stalls a run in
#      bursts, so the profiler's per-node medians do not see it): predicted'(k) = predicted(k) +
#      (S - 1) x (device_ms + encode_ms) for k < n, S x device_ms for k = n.
#   3. In ROUNDS alternating rounds (noise from the rest of the machine hits all alike): the whole
#      model locally, and cuts 0, n/4, n/2, 3n/4, n and the two chosen cuts, each with codecs raw and
#      raw+nolz4. Each figure is the median over the rounds of each run's per-column median.
# Overhead = end-to-end - device compute [0, k) - edge compute [k, n): codec and seal both ways,
# ZeroMQ, the kernel's loopback, the edge's queueing and copies. The split's own parts are also
# summed (encode + wire + edge decode + edge encode + decode), which other jobs' noise on the
# compute columns does not reach. The slow device's cut is not timed with the throttled device: a
# CFS quota stalls the device's ZeroMQ I/O thread for whole periods (9 ms in 10), which is no slow
# CPU; its overhead is estimated from the table's row with the device's parts times S.
#   scripts/bench-split.sh [BUILD_DIR] [TESTDATA_DIR] [OUT_DIR]
# Environment: MODELS (default "mobilenetv2 ppocr_det"), ROUNDS (3), RUNS_SCALE (multiplies the run
# counts, 1), DEVICE_CPU (0), EDGE_CPU (1), BW_MBIT (100), RTT_MS (20), THROTTLE (10; 0: no slow
# device), PROFILE_RUNS (20). Writes OUT_DIR (default BUILD_DIR/bench-split)/results.md,
# results.csv, the profiles, plans and every --stats JSON file; prints results.md. Needs python3
# (standard library only) and taskset; the slow device needs root (a cgroup v1 cpu controller).
set -eu
BUILD=${1:-build}
TD=${2:-$BUILD/testdata}
OUT=${3:-$BUILD/bench-split}
BIN=$BUILD/bin
MODELS=${MODELS:-mobilenetv2 ppocr_det}
ROUNDS=${ROUNDS:-3}
RUNS_SCALE=${RUNS_SCALE:-1}
DEVICE_CPU=${DEVICE_CPU:-0}
EDGE_CPU=${EDGE_CPU:-1}
BW_MBIT=${BW_MBIT:-100}
RTT_MS=${RTT_MS:-20}
THROTTLE=${THROTTLE:-10}
PROFILE_RUNS=${PROFILE_RUNS:-20}
CODECS="raw raw+nolz4"
PY=${PY:-python3}
CG=/sys/fs/cgroup/cpu/cleave-bench-split-$$

for f in cleave-device cleave-edge cleave-keygen cleave-partitioner; do
  [ -x "$BIN/$f" ] || { echo "bench-split: $BIN/$f is missing: build first" >&2; exit 1; }
done
command -v taskset >/dev/null || { echo "bench-split: taskset is missing (util-linux)" >&2; exit 1; }
command -v "$PY" >/dev/null || { echo "bench-split: $PY is missing" >&2; exit 1; }
mkdir -p "$OUT/keys"
KEYS=$OUT/keys
[ -e "$KEYS/edge.key" ] || "$BIN/cleave-keygen" "$KEYS/edge" >/dev/null
[ -e "$KEYS/device.key" ] || "$BIN/cleave-keygen" "$KEYS/device" >/dev/null
cp "$KEYS/device.pub" "$KEYS/allow.pub"

# === The edge and the slow device's cgroup: removed on exit, whatever happens ===
EDGE_PID=""
stop_edge() {
  if [ -n "$EDGE_PID" ]; then
    kill -TERM "$EDGE_PID" 2>/dev/null || true
    wait "$EDGE_PID" 2>/dev/null || true
    EDGE_PID=""
  fi
}
cleanup() {
  stop_edge
  if [ -d "$CG" ]; then rmdir "$CG" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# THROTTLE% of one core: a quota of THROTTLE x 100 us per 10 ms period (the smallest quota is 1 ms).
if [ "$THROTTLE" -ge 10 ] && [ "$THROTTLE" -lt 100 ] && [ -w /sys/fs/cgroup/cpu ] &&
   mkdir "$CG" 2>/dev/null; then
  echo 10000 > "$CG/cpu.cfs_period_us"
  echo $((100 * THROTTLE)) > "$CG/cpu.cfs_quota_us"
else
  if [ "$THROTTLE" -gt 0 ]; then
    echo "bench-split: THROTTLE outside [10, 100) or no cgroup v1 cpu controller: no slow device" >&2
  fi
  THROTTLE=0
fi

# Timed runs per measurement: the table (per round) and the slow device.
runs() { # MODEL KIND
  case "$1:$2" in
    mobilenetv2:table) n=50 ;; mobilenetv2:slow) n=30 ;;
    ppocr_det:table) n=10 ;; ppocr_det:slow) n=6 ;;
    oww_embedding:table) n=200 ;; oww_embedding:slow) n=60 ;;
    *) n=20 ;;
  esac
  echo $((n * RUNS_SCALE))
}

input_shape() { # MODEL: the edge's --input-shape for models with dynamic dimensions
  case "$1" in
    ppocr_det) echo "--input-shape 1x3x640x640" ;;
    oww_embedding) echo "--input-shape 1x76x32x1" ;;
    *) echo "" ;;
  esac
}

start_edge() { # MODEL
  # shellcheck disable=SC2046
  taskset -c "$EDGE_CPU" "$BIN/cleave-edge" --model "$TD/models/$1.onnx" --listen 'tcp://127.0.0.1:*' \
    --key "$KEYS/edge.key" --allow "$KEYS/allow.pub" --threads 1 --compute-threads 1 \
    $(input_shape "$1") 2>"$OUT/$1/edge.log" &
  EDGE_PID=$!
  EP=""
  for _ in $(seq 600); do
    EP=$(sed -n 's/^cleave-edge: listening on \(tcp:[^,]*\),.*/\1/p' "$OUT/$1/edge.log")
    [ -n "$EP" ] && return 0
    kill -0 "$EDGE_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "bench-split: the edge did not start: $(cat "$OUT/$1/edge.log")" >&2
  exit 1
}

device() { # MODEL RUNS STATS [ARGS...]: cleave-device pinned, in the slow cgroup when SLOW=1
  dv_model=$1 dv_runs=$2 dv_stats=$3   # (sh has no local variables: names of their own)
  shift 3
  set -- taskset -c "$DEVICE_CPU" "$BIN/cleave-device" --model "$TD/models/$dv_model.onnx" \
    --input "$TD/ref/$dv_model/real/input_0.npy" --threads 1 --repeat "$dv_runs" \
    --stats "$dv_stats" --quiet "$@"
  if [ "${SLOW:-0}" = 1 ]; then
    sh -c 'echo $$ > "$0/tasks" && exec "$@"' "$CG" "$@"
  else
    "$@"
  fi
}

split() { # MODEL RUNS STATS CUT CODEC
  device "$1" "$2" "$3" --edge "$EP" --key "$KEYS/device.key" --edge-pub "$KEYS/edge.pub" \
    --cut "$4" --codec "$5"
}

profile() { # MODEL CPU OUT
  taskset -c "$2" "$BIN/cleave-partitioner" profile --model "$TD/models/$1.onnx" \
    --input "$TD/ref/$1/real/input_0.npy" --threads 1 --runs "$PROFILE_RUNS" \
    --codecs "$(echo "$CODECS" | tr ' ' ',')" --no-accuracy --quiet -o "$3"
}

# The plan's choice, re-ranked for a device S times slower (its codec is in the plan).
calibrated_cut() { # PLAN_JSON S
  $PY - "$1" "$2" <<'EOF'
import json, sys
p, s = json.load(open(sys.argv[1])), float(sys.argv[2])
n = p["nodes"]
def cost(r):
    if r["cut"] == n:
        return s * r["device_ms"]
    return r["predicted_ms"] + (s - 1) * (r["device_ms"] + r["encode_ms"])
rows = [r for r in p["cuts"] if r["feasible"]]
best = min(rows, key=lambda r: (cost(r), -r["cut"]))
print(best["cut"])
EOF
}

# FILE-rR.json for every round -> FILE.json: each number the median of the rounds' values, runs summed.
combine_rounds() { # PREFIX (without -rR.json)
  $PY - "$1" <<'EOF'
import glob, json, statistics, sys
rounds = [json.load(open(f)) for f in sorted(glob.glob(sys.argv[1] + "-r*.json"))]
out = dict(rounds[0])
for k, v in out.items():
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        vals = [r[k] for r in rounds]
        out[k] = sum(vals) if k == "runs" else statistics.median(vals)
out["rounds"] = len(rounds)
json.dump(out, open(sys.argv[1] + ".json", "w"))
EOF
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
for m in $MODELS; do
  for f in "$TD/models/$m.onnx" "$TD/ref/$m/real/input_0.npy"; do
    [ -e "$f" ] || { echo "bench-split: $f is missing: run scripts/fetch-testdata.sh" >&2; exit 1; }
  done
  D=$OUT/$m
  rm -rf "${D:?}"
  mkdir -p "$D/table" "$D/slow"
  N=$("$BIN/cleave-device" --model "$TD/models/$m.onnx" --input "$TD/ref/$m/real/input_0.npy" \
      --list-cuts | tail -n 1 | cut -d' ' -f1)
  echo "$N" > "$D/nodes"

  # === 1. The partitioner's choice, device and edge both this host ===
  printf 'bench-split: %s: profiles\n' "$m" >&2
  profile "$m" "$DEVICE_CPU" "$D/device.profile"
  profile "$m" "$EDGE_CPU" "$D/edge.profile"
  "$BIN/cleave-partitioner" plan --device "$D/device.profile" --edge "$D/edge.profile" \
    --bandwidth "${BW_MBIT}mbit" --rtt "${RTT_MS}ms" --json > "$D/plan.json"
  "$BIN/cleave-partitioner" plan --device "$D/device.profile" --edge "$D/edge.profile" \
    --bandwidth "${BW_MBIT}mbit" --rtt "${RTT_MS}ms" > "$D/plan.txt"
  PLAN_CUT=$($PY -c "import json; print(json.load(open('$D/plan.json'))['chosen_cut'])")

  # === 2. The slow device: its slowdown, the re-ranked choice ===
  SLOW_CUT=""
  if [ "$THROTTLE" -gt 0 ]; then
    printf 'bench-split: %s: slow device (%s%% of a core)\n' "$m" "$THROTTLE" >&2
    device "$m" "$(runs "$m" slow)" "$D/slow/local-fast.json"
    SLOW=1 device "$m" "$(runs "$m" slow)" "$D/slow/local.json"
    S=$($PY -c "import json, sys; l = lambda f: json.load(open(sys.argv[1] + f))['mean_ms']
print(l('local.json') / l('local-fast.json'))" "$D/slow/")
    echo "$S" > "$D/slow/slowdown"
    SLOW_CUT=$(calibrated_cut "$D/plan.json" "$S")
  fi

  # === 3. The overhead table, in alternating rounds ===
  CUTS=""
  for k in 0 $((N / 4)) $((N / 2)) $((3 * N / 4)) "$N" "$PLAN_CUT" $SLOW_CUT; do
    case " $CUTS " in *" $k "*) ;; *) CUTS="$CUTS $k" ;; esac
  done
  start_edge "$m"
  round=1
  while [ "$round" -le "$ROUNDS" ]; do
    printf '\rbench-split: %s: round %s/%s, local              ' "$m" "$round" "$ROUNDS" >&2
    device "$m" "$(runs "$m" table)" "$D/local-r$round.json"
    for k in $CUTS; do
      for codec in $CODECS; do
        printf '\rbench-split: %s: round %s/%s, cut %s, %s     ' "$m" "$round" "$ROUNDS" "$k" \
          "$codec" >&2
        split "$m" "$(runs "$m" table)" "$D/table/$codec-$k-r$round.json" "$k" "$codec"
      done
    done
    round=$((round + 1))
  done
  printf '\n' >&2
  combine_rounds "$D/local"
  for k in $CUTS; do
    for codec in $CODECS; do combine_rounds "$D/table/$codec-$k"; done
  done

  stop_edge
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
MINUTES=$(( ($(date +%s) - START + 59) / 60 ))

# === Tables ===
$PY "$(dirname "$0")/bench-split-report.py" "$OUT" "$BW_MBIT" "$RTT_MS" "$MODELS" "$LOAD_BEFORE" \
  "$LOAD_AFTER" "$DEVICE_CPU" "$EDGE_CPU" "$THROTTLE" "$ROUNDS" "$MINUTES" | tee "$OUT/results.md"
