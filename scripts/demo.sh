#!/bin/sh
# make demo: cleave splits PaddleOCR's trained text detector between a "device" and an "edge" on
# this machine: the device runs the first layers, seals the frontier tensors and sends them over
# ZeroMQ (loopback TCP) to cleave-edge, which finishes the network and sends the text map back.
# It prints the text lines found, the time split and the bytes, and the same model run locally.
#   scripts/demo.sh [BUILD_DIR] [TESTDATA_DIR]
set -eu
BUILD=${1:-build}
TD=${2:-$BUILD/testdata}
BIN=$BUILD/bin
MODEL=$TD/models/ppocr_det.onnx
CASE=$TD/ref/ppocr_det/real
OUT=$BUILD/demo
KEYS=$OUT/keys
PY=/usr/bin/python3
RUNS=10
for f in "$BIN/cleave-device" "$BIN/cleave-edge" "$BIN/cleave-keygen" "$MODEL" "$CASE/input_0.npy"; do
  [ -e "$f" ] || { echo "demo: $f is missing (make demo builds and fetches everything)" >&2; exit 1; }
done
mkdir -p "$OUT" "$KEYS"

# === Keys: one pair for the edge, one for the device (kept between runs) ===
[ -e "$KEYS/edge.key" ] || "$BIN/cleave-keygen" "$KEYS/edge" --comment "demo edge" >/dev/null
[ -e "$KEYS/device.key" ] || "$BIN/cleave-keygen" "$KEYS/device" --comment "demo device" >/dev/null
cp "$KEYS/device.pub" "$KEYS/allowed-devices.pub"

# === The edge, in the background on a free loopback port; stopped on exit, whatever happens ===
EDGE_PID=""
stop_edge() {
  if [ -n "$EDGE_PID" ]; then
    kill -TERM "$EDGE_PID" 2>/dev/null || true
    wait "$EDGE_PID" 2>/dev/null || true
    EDGE_PID=""
  fi
}
trap stop_edge EXIT
trap 'stop_edge; exit 130' INT TERM
"$BIN/cleave-edge" --model "$MODEL" --listen 'tcp://127.0.0.1:*' --key "$KEYS/edge.key" \
  --allow "$KEYS/allowed-devices.pub" --input-shape 1x3x640x640 --threads 1 2>"$OUT/edge.log" &
EDGE_PID=$!
EP=""
for _ in $(seq 200); do
  EP=$(sed -n 's/^cleave-edge: listening on \(tcp:[^,]*\),.*/\1/p' "$OUT/edge.log")
  [ -n "$EP" ] && break
  kill -0 "$EDGE_PID" 2>/dev/null || break
  sleep 0.05
done
[ -n "$EP" ] || { echo "demo: the edge did not start:" >&2; cat "$OUT/edge.log" >&2; exit 1; }

# === A sensible cut: the smallest frontier in the middle half of the graph ===
DEV="$BIN/cleave-device --model $MODEL --input $CASE/input_0.npy --threads 1"
$DEV --list-cuts >"$OUT/cuts.txt"
N=$(tail -n 1 "$OUT/cuts.txt" | cut -d' ' -f1)
set -- $(awk -v lo=$((N / 4)) -v hi=$((3 * N / 4)) \
  'NR > 1 && $1 >= lo && $1 <= hi && (best == "" || $2 < bytes) { best = $1; bytes = $2 }
   END { print best, bytes }' "$OUT/cuts.txt")
CUT=$1
CUT_BYTES=$2

echo "== cleave demo: text detection with PaddleOCR PP-OCRv4 (trained weights), split"
echo "   page:   $CASE/input.png (640x640, six lines of rendered text)"
echo "   edge:   cleave-edge on $EP (sealed: X25519 handshake, XChaCha20-Poly1305)"
echo "   device: nodes [0, $CUT) of $N here; the frontier ($CUT_BYTES bytes raw) goes to the edge"
echo

# === Split, then local, each $RUNS timed runs after a warm-up ===
$DEV --edge "$EP" --cut "$CUT" --key "$KEYS/device.key" --edge-pub "$KEYS/edge.pub" --codec raw \
  --output "$OUT/textmap.npy" --repeat $RUNS --stats "$OUT/split.json" --quiet
$DEV --output "$OUT/textmap-local.npy" --repeat $RUNS --stats "$OUT/local.json" --quiet
stop_edge

$PY scripts/show-textlines.py "$OUT/textmap.npy"
echo
$PY - "$OUT/split.json" "$OUT/local.json" "$OUT/textmap.npy" "$OUT/textmap-local.npy" <<'EOF'
import json, sys
split, local = (json.load(open(p)) for p in sys.argv[1:3])
same = open(sys.argv[3], "rb").read() == open(sys.argv[4], "rb").read()
print(f"time (median of {split['runs']} runs)      split at cut {split['cut']}   local")
print(f"  device compute [0, cut)   {split['device_ms']:9.2f} ms")
print(f"  encode + seal             {split['encode_ms']:9.2f} ms")
print(f"  wire (loopback TCP)       {split['wire_ms']:9.2f} ms")
print(f"  edge decode               {split['edge_decode_ms']:9.2f} ms")
print(f"  edge compute [cut, n)     {split['edge_ms']:9.2f} ms")
print(f"  edge encode (reply)       {split['edge_encode_ms']:9.2f} ms")
print(f"  device decode             {split['decode_ms']:9.2f} ms")
print(f"  end to end                {split['median_ms']:9.2f} ms   {local['median_ms']:9.2f} ms")
print(f"bytes per inference: {split['bytes_up']:,} up (codec {split['codec']}, LZ4, sealed), "
      f"{split['bytes_down']:,} down")
over = split['median_ms'] - local['median_ms']
print(f"the split output is {'bit-identical to' if same else 'DIFFERENT from'} the local run's.")
print(f"On one machine the split cannot be faster: both halves share these cores, so this shows what")
print(f"the split costs over computing alone: {over:+.2f} ms ({100 * over / local['median_ms']:+.1f}%),")
print(f"the encode, seal, wire and decode steps above. With a slow device and a fast edge, the edge's")
print(f"share of the compute is what the split wins back.")
EOF
echo
echo "   text map: $OUT/textmap.npy   stats: $OUT/split.json, $OUT/local.json   edge log: $OUT/edge.log"
