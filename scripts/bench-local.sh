#!/bin/sh
# cleave vs ONNX Runtime on this machine, in one run: median latency and peak RSS, 1 and 2 threads,
# MobileNetV2 224x224 and PaddleOCR detection 640x640. The two runtimes alternate (ROUNDS rounds of
# REPEAT timed runs each, after a warm-up) so that machine noise hits both alike; the figure for
# each is the median of its per-round medians.
#   scripts/bench-local.sh [BUILD_DIR] [TESTDATA_DIR]      (make bench-local)
# Writes BUILD_DIR/bench-local/results.md and results.csv, and prints the table.
set -eu
BUILD=${1:-build}
TD=${2:-$BUILD/testdata}
ROUNDS=${ROUNDS:-5}
REPEAT=${REPEAT:-30}
OUT=$BUILD/bench-local
DEVICE=$BUILD/bin/cleave-device
mkdir -p "$OUT"

[ -x "$DEVICE" ] || { echo "bench-local: $DEVICE is missing: run make build" >&2; exit 1; }
[ -d "$TD/ort/node_modules/onnxruntime-node" ] || { echo "bench-local: no ONNX Runtime in $TD: run scripts/fetch-testdata.sh" >&2; exit 1; }

json_field() { # FILE FIELD
  sed -n "s/.*\"$2\": *\([0-9.eE+-]*\).*/\1/p" "$1" | head -n 1
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "model,threads,runtime,median_ms,peak_rss_mb" > "$OUT/results.csv"
for model in mobilenetv2 ppocr_det; do
  M=$TD/models/$model.onnx
  IN=$TD/ref/$model/random/input_0.npy
  [ -f "$M" ] && [ -f "$IN" ] || { echo "bench-local: $M or $IN is missing: run scripts/fetch-testdata.sh" >&2; exit 1; }
  for threads in 1 2; do
    : > "$OUT/cl.txt"; : > "$OUT/ort.txt"; clrss=0; ortrss=0
    r=1
    while [ $r -le "$ROUNDS" ]; do
      printf '\rbench-local: %s, %s thread(s), round %s/%s ' "$model" "$threads" "$r" "$ROUNDS" >&2
      "$DEVICE" --model "$M" --input "$IN" --threads "$threads" --repeat "$REPEAT" --stats "$OUT/cl.json" --quiet
      node scripts/ort-run.js "$M" --input "$IN" --threads "$threads" --repeat "$REPEAT" --stats "$OUT/ort.json" \
        --ort "$TD/ort" >/dev/null
      json_field "$OUT/cl.json" median_ms >> "$OUT/cl.txt"
      json_field "$OUT/ort.json" median_ms >> "$OUT/ort.txt"
      clrss=$(json_field "$OUT/cl.json" peak_rss_mb); ortrss=$(json_field "$OUT/ort.json" peak_rss_mb)
      r=$((r + 1))
    done
    cl=$(median < "$OUT/cl.txt"); ort=$(median < "$OUT/ort.txt")
    echo "$model,$threads,cleave,$cl,$clrss" >> "$OUT/results.csv"
    echo "$model,$threads,onnxruntime,$ort,$ortrss" >> "$OUT/results.csv"
  done
done
printf '\r%60s\r' '' >&2

{
  echo "| model | threads | cleave median ms | ONNX Runtime median ms | ratio (cleave/ORT) | cleave peak RSS MiB | ORT peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|"
  awk -F, 'NR>1 { key=$1","$2; if ($3=="cleave") {c[key]=$4; cr[key]=$5} else {o[key]=$4; or_[key]=$5}; order[key]=NR }
    END { n=0; for (k in order) keys[++n]=k;
          for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (order[keys[j]]<order[keys[i]]) {t=keys[i];keys[i]=keys[j];keys[j]=t}
          for (i=1;i<=n;i++) { k=keys[i]; split(k,p,",");
            printf "| %s | %s | %.2f | %.2f | %.2f | %.0f | %.0f |\n", p[1], p[2], c[k], o[k], c[k]/o[k], cr[k], or_[k] } }' "$OUT/results.csv"
  echo
  echo "$(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); ROUNDS=$ROUNDS REPEAT=$REPEAT"
} | tee "$OUT/results.md"
