#!/bin/sh
# cleave-partitioner on the command line: --help/--version, exit statuses (0 done, 1 run-time
# failure, 2 bad usage), one-line errors, no progress line when stderr is not a terminal, and the
# JSON of profiles and plans.   cli.sh PATH/TO/cleave-partitioner TESTDATA_DIR
# Exits 77 (skipped) after the checks that need no model when TESTDATA_DIR has no models.
set -u
bin=$1
data=${2:-build/testdata}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0

# expect STATUS CMD...: runs CMD, checks its status and, for failures, one line on stderr.
expect() {
  want=$1
  shift
  checks=$((checks + 1))
  "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  lines=$(wc -l <"$tmp/err")
  if [ "$got" != "$want" ]; then
    echo "FAIL (status $got, want $want): $*"; sed 's/^/  stderr: /' "$tmp/err" | head -5; fails=$((fails + 1))
  elif [ "$want" != 0 ] && [ "$lines" != 1 ]; then
    echo "FAIL ($lines lines on stderr, want 1): $*"; sed 's/^/  stderr: /' "$tmp/err"; fails=$((fails + 1))
  elif [ "$want" = 0 ] && [ -s "$tmp/err" ]; then
    echo "FAIL (stderr not empty): $*"; sed 's/^/  stderr: /' "$tmp/err"; fails=$((fails + 1))
  fi
}

# === Usage ===
expect 0 "$bin" --help
expect 0 "$bin" --version
for sub in profile plan show; do
  expect 0 "$bin" $sub --help
  expect 0 "$bin" $sub --version
  grep -q "cleave-partitioner $sub" "$tmp/out" || { echo "FAIL: $sub --version"; fails=$((fails + 1)); }
done
expect 2 "$bin"
expect 2 "$bin" bogus
expect 2 "$bin" profile --model x.onnx
expect 2 "$bin" profile --model x.onnx -o p --runs 0
expect 2 "$bin" profile --model x.onnx -o p --threads many
expect 2 "$bin" profile --model x.onnx -o p --frobnicate
expect 2 "$bin" profile --model x.onnx -o p --codecs raw,zip
expect 2 "$bin" profile --model x.onnx -o p --codecs ,
for pause in 5 -1ms 1h; do
  expect 2 "$bin" profile --model x.onnx -o p --pause "$pause"
done
expect 2 "$bin" plan --device a --edge b --bandwidth 10mbit
for bw in 10 10MB/s nan -5mbit 0mbit "10 parsecs"; do
  expect 2 "$bin" plan --device a --edge b --bandwidth "$bw" --rtt 20ms
done
for rtt in 20 -1ms 5h; do
  expect 2 "$bin" plan --device a --edge b --bandwidth 10mbit --rtt "$rtt"
done
expect 2 "$bin" plan --device a --edge b --bandwidth 10mbit --rtt 20ms --objective speed
expect 2 "$bin" plan --device a --edge b --bandwidth 10mbit --rtt 20ms --objective energy
expect 2 "$bin" plan --device a --edge b --bandwidth 10mbit --rtt 20ms --cloud c
expect 2 "$bin" plan --device a --edge b --bandwidth 10mbit --rtt 20ms --min-cut -1
expect 2 "$bin" plan --device a --edge b --bandwidth 10mbit --rtt 20ms --accuracy-budget lots
expect 2 "$bin" plan --device a --edge b --bandwidth 10mbit --rtt 20ms --device-memory 12 parsecs
expect 2 "$bin" plan --device a --edge b --bandwidth 10mbit --rtt 20ms --codec zip
expect 2 "$bin" show
expect 2 "$bin" show a b
expect 2 "$bin" show --yaml a

# === Bad files ===
expect 1 "$bin" show "$tmp/none"
expect 1 "$bin" show "$tmp"
printf 'not a profile at all' >"$tmp/junk"
expect 1 "$bin" show "$tmp/junk"
expect 1 "$bin" plan --device "$tmp/junk" --edge "$tmp/junk" --bandwidth 10mbit --rtt 20ms
: >"$tmp/empty"
expect 1 "$bin" show "$tmp/empty"

if [ ! -f "$data/models/oww_embedding.onnx" ] || [ ! -f "$data/models/mobilenetv2.onnx" ]; then
  echo "no test models in $data: the rest is skipped"
  [ $fails = 0 ] && exit 77
  exit 1
fi

# === Real profiles ===
oww="$data/models/oww_embedding.onnx"
expect 0 "$bin" profile --model "$oww" --input "$data/ref/oww_embedding/real/input_0.npy" --runs 3 --reps 1 \
  --quiet -o "$tmp/oww.prof"
expect 0 "$bin" profile --model "$oww" --input "$data/ref/oww_embedding/real/input_0.npy" --runs 3 --reps 1 \
  --threads 2 --codecs raw,f16 --quiet -o "$tmp/oww2.prof"
expect 0 "$bin" profile --model "$oww" --input "$data/ref/oww_embedding/real/input_0.npy" --runs 3 --reps 1 \
  --pause 0ms --quiet -o "$tmp/oww3.prof"
# MobileNetV2 with the default settings (50 runs, 5 reps, 4 codecs, accuracy): under a minute.
t0=$(date +%s)
expect 0 "$bin" profile --model "$data/models/mobilenetv2.onnx" --quiet -o "$tmp/mnv2.prof"
t1=$(date +%s)
[ $((t1 - t0)) -lt 60 ] || { echo "FAIL: profiling MobileNetV2 took $((t1 - t0)) s (> 60 s)"; fails=$((fails + 1)); }
echo "cli.partitioner: MobileNetV2 profiled with the defaults in $((t1 - t0)) s"
expect 1 "$bin" profile --model "$data/models/ppocr_det.onnx" -o "$tmp/x.prof" --quiet   # dynamic shapes
expect 1 "$bin" profile --model "$oww" --input "$tmp/junk" -o "$tmp/x.prof"
expect 0 "$bin" show "$tmp/oww.prof"
expect 0 "$bin" show --json "$tmp/oww.prof"
/usr/bin/python3 - "$tmp/out" <<'PY' || fails=$((fails + 1))
import json, sys
p = json.load(open(sys.argv[1]))
assert p["kind"] == "profile" and len(p["nodes"]) == p["node_count"] and len(p["cuts"]) == p["node_count"] + 1
assert all("median_ms" in n and "p90_ms" in n for n in p["nodes"])
assert all(set(p["codec_names"]) == set(c["codecs"]) for c in p["cuts"])
assert all(c["codecs"]["raw"]["bytes"] > 0 for c in p["cuts"])
PY

# Another model, a cut beyond the model, a truncated profile.
expect 1 "$bin" plan --device "$tmp/oww.prof" --edge "$tmp/mnv2.prof" --bandwidth 10mbit --rtt 20ms
grep -q "different models" "$tmp/err" || { echo "FAIL: another model's profile: $(cat "$tmp/err")"; fails=$((fails + 1)); }
expect 2 "$bin" plan --device "$tmp/oww.prof" --edge "$tmp/oww2.prof" --bandwidth 10mbit --rtt 20ms --min-cut 500
expect 1 "$bin" plan --device "$tmp/oww.prof" --edge "$tmp/oww2.prof" --bandwidth 10mbit --rtt 20ms --codec int8
head -c 300 "$tmp/oww.prof" >"$tmp/trunc.prof"
expect 1 "$bin" show "$tmp/trunc.prof"
expect 1 "$bin" plan --device "$tmp/trunc.prof" --edge "$tmp/oww2.prof" --bandwidth 10mbit --rtt 20ms

# === Plans ===
expect 0 "$bin" plan --device "$tmp/oww.prof" --edge "$tmp/oww2.prof" --bandwidth 100mbit --rtt 1ms -o "$tmp/p.plan" --quiet
expect 0 "$bin" show "$tmp/p.plan"
grep -q '^\*' "$tmp/out" || { echo "FAIL: no row marked '*'"; fails=$((fails + 1)); }
expect 0 "$bin" show --json "$tmp/p.plan"
/usr/bin/python3 - "$tmp/out" <<'PY' || fails=$((fails + 1))
import json, sys
p = json.load(open(sys.argv[1]))
assert p["kind"] == "plan" and len(p["cuts"]) == p["nodes"] + 1
for c in p["cuts"]:
    for k in ("cut", "bytes_up", "predicted_ms", "device_ms", "encode_ms", "up_ms", "rtt_ms", "worker_ms",
              "reply_ms", "feasible"):
        assert k in c, k
best = min(c["predicted_ms"] for c in p["cuts"] if c["feasible"])
assert p["cuts"][p["chosen_cut"]]["predicted_ms"] == best
PY
expect 0 "$bin" plan --device "$tmp/oww.prof" --edge "$tmp/oww2.prof" --bandwidth 10kbit --rtt 20ms --json
/usr/bin/python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); assert p["chosen_cut"] == p["nodes"], p["chosen_cut"]' \
  "$tmp/out" || { echo "FAIL: 10 kbit/s should keep everything on the device"; fails=$((fails + 1)); }
expect 0 "$bin" plan --device "$tmp/oww.prof" --edge "$tmp/oww2.prof" --cloud "$tmp/oww2.prof" --bandwidth 1gbit \
  --rtt 1ms --cloud-bandwidth 1gbit --cloud-rtt 5ms --objective energy --device-power 2W --radio-power 1W \
  --idle-power 300mW --min-cut 3 --device-memory 64MiB
expect 0 "$bin" plan --device "$tmp/oww.prof" --edge "$tmp/oww2.prof" --bandwidth 1gbit --rtt 0.1ms \
  --objective throughput --accuracy-budget 0.01
expect 1 "$bin" plan --device "$tmp/oww.prof" --edge "$tmp/oww2.prof" --bandwidth 1gbit --rtt 1ms --device-memory 1KiB
grep -q "no cut satisfies" "$tmp/err" || { echo "FAIL: no feasible cut: $(cat "$tmp/err")"; fails=$((fails + 1)); }
expect 1 "$bin" plan --device "$tmp/p.plan" --edge "$tmp/oww2.prof" --bandwidth 10mbit --rtt 20ms

echo "cli.partitioner: $checks commands checked, $fails failure(s)"
[ $fails = 0 ]
