#!/bin/sh
# cleave end-to-end: the binaries as processes. cleave-keygen makes keys, cleave-edge serves on
# loopback, cleave-device runs split and must give the local run's bytes; refusals and bad usage
# give the documented exit statuses and one-line reasons; SIGTERM stops the edge cleanly.
#   tests/e2e/cli.sh BUILD_DIR TESTDATA_DIR
set -u
BUILD=$1
TD=$2
BIN=$BUILD/bin
MODEL=$TD/models/oww_embedding.onnx
IN=$TD/ref/oww_embedding/real/input_0.npy
if [ ! -e "$MODEL" ] || [ ! -e "$IN" ]; then
  echo "FAIL: test data missing ($MODEL): run scripts/fetch-testdata.sh or make testdata"
  exit 1
fi
W=$(mktemp -d)
EDGE_PID=""
cleanup() {
  [ -n "$EDGE_PID" ] && kill "$EDGE_PID" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# expect STATUS TEXT CMD...: runs CMD, checks its exit status and that stderr holds TEXT.
expect() {
  want=$1 text=$2
  shift 2
  "$@" >"$W/out" 2>"$W/err"
  got=$?
  [ "$got" -eq "$want" ] || fail "exit $got (wanted $want): $*: $(head -c 300 "$W/err")"
  [ -z "$text" ] || grep -q -- "$text" "$W/err" || fail "no '$text' on stderr: $*: $(head -c 300 "$W/err")"
}

"$BIN/cleave-keygen" "$W/edge" >/dev/null && "$BIN/cleave-keygen" "$W/dev" >/dev/null &&
  "$BIN/cleave-keygen" "$W/stranger" >/dev/null || { echo "FAIL: cleave-keygen"; exit 1; }
cp "$W/dev.pub" "$W/allow.pub"

# === The edge starts, on a port of its choosing ===
"$BIN/cleave-edge" --model "$MODEL" --listen 'tcp://127.0.0.1:*' --key "$W/edge.key" \
  --allow "$W/allow.pub" --threads 2 --input-shape 1x76x32x1 2>"$W/edge.log" &
EDGE_PID=$!
EP=""
for _ in $(seq 100); do
  EP=$(sed -n 's/^cleave-edge: listening on \(tcp:[^,]*\),.*/\1/p' "$W/edge.log")
  [ -n "$EP" ] && break
  kill -0 "$EDGE_PID" 2>/dev/null || break
  sleep 0.05
done
[ -n "$EP" ] || { echo "FAIL: the edge did not start: $(cat "$W/edge.log")"; exit 1; }

DEV="$BIN/cleave-device --model $MODEL --input $IN"
SPLIT="--edge $EP --key $W/dev.key --edge-pub $W/edge.pub"

# === Split equals local, through the processes ===
expect 0 "" $DEV --output "$W/local.npy"
expect 0 "" $DEV $SPLIT --cut 20 --output "$W/split.npy" --repeat 5 --inflight 2 --stats "$W/s.json"
cmp -s "$W/local.npy" "$W/split.npy" || fail "split output differs from local"
for key in '"mode": "split"' '"cut": 20' '"codec": "raw"' '"fallbacks": 0' device_ms encode_ms \
  wire_ms edge_ms decode_ms bytes_up bytes_down median_ms p90_ms; do
  grep -q -- "$key" "$W/s.json" || fail "stats lack $key: $(cat "$W/s.json")"
done
expect 0 "" $DEV $SPLIT --cut 0 --codec f16+shuffle
N=$($DEV --list-cuts | tail -n 1 | cut -d' ' -f1)
expect 0 "" $DEV $SPLIT --cut "$N" --output "$W/last.npy"
cmp -s "$W/local.npy" "$W/last.npy" || fail "split at the last cut differs from local"

# === Bad usage: exit 2 ===
expect 2 "is outside \[0, $N\]" $DEV $SPLIT --cut $((N + 1))
expect 2 "needs --cut" $DEV --edge "$EP" --key "$W/dev.key" --edge-pub "$W/edge.pub"
expect 2 "needs --key" $DEV --edge "$EP" --cut 3
expect 2 "codec" $DEV $SPLIT --cut 3 --codec zip
expect 2 "needs --plan PLAN or --profile-device" $DEV $SPLIT --cut auto
expect 2 "need --edge" $DEV --cut 3
expect 2 "takes no --key" $DEV $SPLIT --cut 3 --insecure
expect 2 "is required" "$BIN/cleave-edge" --model "$MODEL"
expect 2 "unknown" "$BIN/cleave-edge" --bogus
expect 0 "" "$BIN/cleave-edge" --help
expect 0 "" "$BIN/cleave-edge" --version
grep -q "cleave-edge" "$W/out" || fail "cleave-edge --version"

# === --cut auto: from a plan, or per request from two profiles ===
PART=$BIN/cleave-partitioner
"$PART" profile --model "$MODEL" --input "$IN" --runs 5 --codecs raw,raw+shuffle --no-accuracy -o "$W/oww.prof" \
  >/dev/null 2>&1 || fail "cleave-partitioner profile"
# The same profile on both sides never gains by offloading; a device memory budget below the whole
# model's makes the plan cut all the same.
"$PART" plan --device "$W/oww.prof" --edge "$W/oww.prof" --bandwidth 1gbit --rtt 0.1ms --codec raw \
  --device-memory 200KiB -o "$W/oww.plan" >/dev/null 2>&1 || fail "cleave-partitioner plan"
"$PART" show "$W/oww.plan" --json >"$W/plan.json" 2>/dev/null
PCUT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["chosen_cut"])' "$W/plan.json")
[ "${PCUT:-$N}" -lt "$N" ] || fail "the plan does not offload (cut ${PCUT:-none} of $N)"
# stats_hold EXPR...: each Python expression holds for s, the JSON of $W/a.json (n: the node count).
stats_hold() {
  /usr/bin/python3 - "$W/a.json" "$N" "$@" <<'PY' || fail "stats: $* ($(head -c 500 "$W/a.json"))"
import json, sys
s, n = json.load(open(sys.argv[1])), int(sys.argv[2])
for e in sys.argv[3:]:
    assert eval(e), e
PY
}
expect 0 "" $DEV $SPLIT --cut auto --plan "$W/oww.plan" --repeat 6 --stats "$W/a.json" --output "$W/auto.npy"
cmp -s "$W/local.npy" "$W/auto.npy" || fail "--cut auto (plan) output differs from local"
stats_hold "s['cut_mode'] == 'auto'" "s['policy'] == 'plan'" "s['cut'] == $PCUT" \
  "s['cut_per_request'] == [$PCUT] * 6" "s['cuts_used'] == {'$PCUT': 6}" "s['cut_switches'] == 0"
# Two profiles: every request at cut n (nothing to gain by offloading) but the link probes: the
# 16th request (the warm-up included) at the best offloading cut, and the next ones too while their
# wire times disagree with the estimate (a few at most).
expect 0 "" $DEV $SPLIT --cut auto --profile-device "$W/oww.prof" --profile-edge "$W/oww.prof" \
  --bandwidth 1gbit --rtt 0.1ms --repeat 40 --stats "$W/a.json" --output "$W/auto.npy"
cmp -s "$W/local.npy" "$W/auto.npy" || fail "--cut auto (profiles) output differs from local"
stats_hold "s['cut_mode'] == 'auto'" "s['policy'] == 'profiles'" "len(s['cut_per_request']) == 40" \
  "1 <= s['probe_requests'] <= 4" "s['cut_per_request'].count(n) == 40 - s['probe_requests']" \
  "s['cuts_used'][str(n)] == 40 - s['probe_requests']" "sum(s['cuts_used'].values()) == 40" \
  "s['cut_switches'] == 0" \
  "s['link']['rtt_samples'] + s['link']['bandwidth_samples'] == s['probe_requests']"
expect 0 "" $DEV $SPLIT --cut auto --profile-device "$W/oww.prof" --profile-edge "$W/oww.prof" \
  --min-cut 5 --codec raw+shuffle --rtt 0ms --bandwidth 100gbit --repeat 3 --quiet
# Bad usage (exit 2), then bad files (exit 1).
expect 2 "not both" $DEV $SPLIT --cut auto --plan "$W/oww.plan" --profile-device "$W/oww.prof" \
  --profile-edge "$W/oww.prof"
expect 2 "needs both" $DEV $SPLIT --cut auto --profile-device "$W/oww.prof"
expect 2 "go with the profiles" $DEV $SPLIT --cut auto --plan "$W/oww.plan" --rtt 1ms
expect 2 "--codec goes with the profiles" $DEV $SPLIT --cut auto --plan "$W/oww.plan" --codec f16
expect 2 "one request at a time" $DEV $SPLIT --cut auto --plan "$W/oww.plan" --inflight 2
expect 2 "go with --cut auto" $DEV $SPLIT --cut 3 --plan "$W/oww.plan"
expect 2 "--bandwidth" $DEV $SPLIT --cut auto --profile-device "$W/oww.prof" --profile-edge "$W/oww.prof" \
  --bandwidth fast
expect 2 "--min-cut $((N + 1)) is outside" $DEV $SPLIT --cut auto --profile-device "$W/oww.prof" \
  --profile-edge "$W/oww.prof" --min-cut $((N + 1))
head -c 200 "$W/oww.plan" >"$W/trunc.plan"
expect 1 "trunc.plan" $DEV $SPLIT --cut auto --plan "$W/trunc.plan"
expect 1 "oww.prof" $DEV $SPLIT --cut auto --plan "$W/oww.prof"
head -c 300 "$W/oww.prof" >"$W/trunc.prof"
expect 1 "trunc.prof" $DEV $SPLIT --cut auto --profile-device "$W/trunc.prof" --profile-edge "$W/oww.prof"
expect 1 "oww.plan" $DEV $SPLIT --cut auto --profile-device "$W/oww.prof" --profile-edge "$W/oww.plan"
"$PART" profile --model "$TD/models/oww_alexa.onnx" --runs 3 --codecs raw --no-accuracy -o "$W/alexa.prof" \
  >/dev/null 2>&1 || fail "cleave-partitioner profile (oww_alexa)"
"$PART" plan --device "$W/alexa.prof" --edge "$W/alexa.prof" --bandwidth 1gbit --rtt 1ms -o "$W/alexa.plan" \
  >/dev/null 2>&1 || fail "cleave-partitioner plan (oww_alexa)"
expect 1 "another model" $DEV $SPLIT --cut auto --plan "$W/alexa.plan"
expect 1 "alexa.prof" $DEV $SPLIT --cut auto --profile-device "$W/oww.prof" --profile-edge "$W/alexa.prof"

# === Refusals: exit 1, a reason on both sides ===
expect 1 "not in the allow-list" $DEV --edge "$EP" --key "$W/stranger.key" --edge-pub "$W/edge.pub" --cut 3
grep -q "refused HELLO.*not in the allow-list" "$W/edge.log" || fail "the edge did not log the stranger"
expect 1 "does not verify" $DEV --edge "$EP" --key "$W/dev.key" --edge-pub "$W/stranger.pub" --cut 3
expect 1 "--insecure" $DEV --edge "$EP" --insecure --cut 3
expect 1 "no answer from the edge" $DEV --edge tcp://127.0.0.1:9 --key "$W/dev.key" \
  --edge-pub "$W/edge.pub" --cut 3 --timeout 300 --no-fallback
expect 1 "give --input-shape" "$BIN/cleave-edge" --model "$TD/models/ppocr_det.onnx" \
  --listen 'tcp://127.0.0.1:*' --insecure
expect 0 "" $DEV $SPLIT --cut 7    # still serving

# === SIGTERM: a clean stop ===
kill -TERM "$EDGE_PID"
wait "$EDGE_PID"
status=$?
EDGE_PID=""
[ "$status" -eq 0 ] || fail "cleave-edge exited $status on SIGTERM"
grep -q "stopped: .* requests served" "$W/edge.log" || fail "no stop line: $(tail -n 3 "$W/edge.log")"

if [ "$failures" -ne 0 ]; then
  echo "--- edge log"; cat "$W/edge.log"
  echo "cli.sh: $failures failure(s)"
  exit 1
fi
echo "cli.sh: all checks passed"
