#!/bin/sh
# make demo: cleave runs PaddleOCR's trained text detector on a rendered page and shows what it found.
#   scripts/demo.sh [BUILD_DIR] [TESTDATA_DIR]
set -eu
BUILD=${1:-build}
TD=${2:-$BUILD/testdata}
DEVICE=$BUILD/bin/cleave-device
MODEL=$TD/models/ppocr_det.onnx
CASE=$TD/ref/ppocr_det/real
OUT=$BUILD/demo
mkdir -p "$OUT"
for f in "$DEVICE" "$MODEL" "$CASE/input_0.npy"; do
  [ -e "$f" ] || { echo "demo: $f is missing (make demo builds and fetches everything)" >&2; exit 1; }
done

echo "== cleave demo: text detection with PaddleOCR PP-OCRv4 (trained weights) on this machine"
echo "   page: $CASE/input.png (640x640, six lines of rendered text)"
echo
"$DEVICE" --model "$MODEL" --input "$CASE/input_0.npy" --output "$OUT/textmap.npy" \
  --threads 2 --repeat 10 --stats "$OUT/stats.json"
echo
/usr/bin/python3 scripts/show-textlines.py "$OUT/textmap.npy"
echo
echo "   probability map: $OUT/textmap.npy   timing: $OUT/stats.json"
