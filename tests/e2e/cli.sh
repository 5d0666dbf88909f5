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
expect 2 "needs a plan" $DEV $SPLIT --cut auto
expect 2 "need --edge" $DEV --cut 3
expect 2 "takes no --key" $DEV $SPLIT --cut 3 --insecure
expect 2 "is required" "$BIN/cleave-edge" --model "$MODEL"
expect 2 "unknown" "$BIN/cleave-edge" --bogus
expect 0 "" "$BIN/cleave-edge" --help
expect 0 "" "$BIN/cleave-edge" --version
grep -q "cleave-edge" "$W/out" || fail "cleave-edge --version"

# === Refusals: exit 1, a reason on both sides ===
expect 1 "not in the allow-list" $DEV --edge "$EP" --key "$W/stranger.key" --edge-pub "$W/edge.pub" --cut 3
grep -q "refused HELLO.*not in the allow-list" "$W/edge.log" || fail "the edge did not log the stranger"
expect 1 "does not verify" $DEV --edge "$EP" --key "$W/dev.key" --edge-pub "$W/stranger.pub" --cut 3
expect 1 "--insecure" $DEV --edge "$EP" --insecure --cut 3
expect 1 "no answer from the edge" $DEV --edge tcp://127.0.0.1:9 --key "$W/dev.key" \
  --edge-pub "$W/edge.pub" --cut 3 --timeout 300
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
