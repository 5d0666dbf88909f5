#!/bin/sh
# The one list of system packages cleave needs, for the build, the tests, the demo and the bench.
# Idempotent: installs only what is missing. Needs root (or sudo) the first time.
#   scripts/install-deps.sh          build + test + demo dependencies
#   scripts/install-deps.sh --check  exit 1 (and name them) when some are missing, install nothing
set -eu

PACKAGES="
build-essential cmake pkg-config git
libxnnpack-dev libpthreadpool-dev
libzmq3-dev
nanopb libnanopb-dev python3-protobuf
liblz4-dev
libsodium-dev
libcriterion-dev
libonnx-dev libonnx-testdata
clang libclang-rt-14-dev
python3-onnx python3-numpy
python3-torch python3-torchvision python3-pil fonts-dejavu-core espeak-ng
libturbojpeg0-dev gnuplot-nox iproute2
"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

# ONNX Runtime (the reference the tests compare against) comes from npm: any node with npm will do
# (a nodesource nodejs already carries npm; Debian splits them).
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"

if [ -z "$missing" ]; then
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "missing packages:$missing" >&2
  exit 1
fi

echo "install-deps: installing$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps: need root to install:$missing" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
