#!/bin/sh
# cleave-device as processes while their cleave-edge is killed (SIGKILL) and restarted twice on the
# same port: 4 devices x 50 requests (one warm-up + --repeat 49, one every 60 ms, --deadline 500).
# Every device exits 0, its output is bit-identical to the local run's, and its --stats count the
# requests split and finished here (split_runs + fallbacks = runs). Then --no-fallback with no edge:
# exit 1 and one line.   tests/fault/device_cli.sh BUILD_DIR TESTDATA_DIR
set -u
bin=$1/bin
data=$2
model=$data/models/oww_embedding.onnx
input=$data/ref/oww_embedding/real/input_0.npy
py=/usr/bin/python3
[ -x $py ] || py=python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cleave-device-cli-XXXXXX")
edge_pid=
cleanup() {
  [ -n "$edge_pid" ] && kill -9 $edge_pid 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bin/cleave-keygen" "$tmp/edge" >/dev/null || fail keygen
for i in 0 1 2 3; do
  "$bin/cleave-keygen" "$tmp/dev$i" >/dev/null && cat "$tmp/dev$i.pub" >>"$tmp/devices.pub" || fail keygen
done
"$bin/cleave-device" --model "$model" --input "$input" --output "$tmp/ref.npy" --quiet || fail local run

# start_edge LISTEN LOG: starts cleave-edge, waits for its banner, sets edge_pid
start_edge() {
  "$bin/cleave-edge" --model "$model" --listen "$1" --key "$tmp/edge.key" --allow "$tmp/devices.pub" \
    --input-shape 1x76x32x1 --threads 2 2>"$2" &
  edge_pid=$!
  i=0
  while ! grep -q "listening on" "$2" && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
  grep -q "listening on" "$2" || fail "cleave-edge did not start: $(cat "$2")"
}
start_edge "tcp://127.0.0.1:*" "$tmp/edge0.log"
endpoint=$(sed -n 's/.*listening on \(tcp:\/\/127.0.0.1:[0-9]*\).*/\1/p' "$tmp/edge0.log")
[ -n "$endpoint" ] || fail "no endpoint in the banner"

pids=
for i in 0 1 2 3; do
  "$bin/cleave-device" --model "$model" --input "$input" --edge "$endpoint" --cut 24 \
    --key "$tmp/dev$i.key" --edge-pub "$tmp/edge.pub" --repeat 49 --interval 60 --deadline 500 \
    --timeout 2000 --output "$tmp/out$i.npy" --stats "$tmp/s$i.json" --quiet 2>"$tmp/dev$i.log" &
  pids="$pids $!"
done
for round in 1 2; do
  sleep 0.7
  kill -9 $edge_pid
  wait $edge_pid 2>/dev/null
  sleep 0.4
  start_edge "$endpoint" "$tmp/edge$round.log"
done
i=0
for pid in $pids; do
  wait $pid || fail "device $i exited $?: $(cat "$tmp/dev$i.log")"
  cmp -s "$tmp/out$i.npy" "$tmp/ref.npy" || fail "device $i: output differs from the local run's"
  i=$((i + 1))
done
kill -TERM $edge_pid
wait $edge_pid || fail "the edge did not stop cleanly"
edge_pid=
$py - "$tmp" <<'PY' || exit 1
import json, sys
tot = {"runs": 0, "split_runs": 0, "fallbacks": 0, "fallback_gone": 0, "fallback_slow": 0}
for i in range(4):
    s = json.load(open(f"{sys.argv[1]}/s{i}.json"))
    assert s["runs"] == 49, s
    assert s["split_runs"] + s["fallbacks"] == s["runs"], s
    for k in tot: tot[k] += s[k]
print("ok: 4 devices x 50 requests through two kills and restarts:", tot)
if tot["fallbacks"] == 0 or tot["split_runs"] < 100:
    sys.exit(f"FAIL: expected some fallbacks and mostly split runs: {tot}")
PY

# --no-fallback with nothing listening: exit 1, one line.
"$bin/cleave-device" --model "$model" --input "$input" --edge "$endpoint" --cut 24 \
  --key "$tmp/dev0.key" --edge-pub "$tmp/edge.pub" --timeout 300 --no-fallback >/dev/null 2>"$tmp/nf.log"
st=$?
[ $st -eq 1 ] && [ "$(wc -l <"$tmp/nf.log")" -eq 1 ] || fail "--no-fallback: status $st: $(cat "$tmp/nf.log")"
echo "ok: --no-fallback without an edge: $(cat "$tmp/nf.log")"
