#!/bin/sh
# Runs each cleave fuzzer for SECONDS on a scratch copy of its seed corpus.
#   tests/fuzz/run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]
# (FUZZ_JOBS=N runs N parallel jobs per target.)
# BUILD_DIR was configured with CC=clang -DCLEAVE_FUZZ=ON and built. The committed corpus
# (tests/fuzz/corpus/<target>/) is only read: new inputs and crash reproducers go to
# BUILD_DIR/fuzz-run/<target>/. Exits non-zero when any target crashes, leaks or times out.
set -u
if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
build=$(cd "$1" 2>/dev/null && pwd) || { echo "$0: no build directory $1" >&2; exit 2; }
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
# Default: every fuzzer built in BUILD_DIR/fuzz (onnx_fuzz, tensorfile_fuzz, model_fuzz, ...).
targets=${*:-$(cd "$build/fuzz" 2>/dev/null && ls | grep '_fuzz$')}
if [ -z "$targets" ]; then
  echo "no fuzzers in $build/fuzz (configure with CC=clang -DCLEAVE_FUZZ=ON and build)" >&2
  exit 2
fi
par=""
[ "${FUZZ_JOBS:-1}" -gt 1 ] && par="-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS"   # logs: fuzz-run/<t>/fuzz-N.log
status=0
for t in $targets; do
  bin=$build/fuzz/$t
  if [ ! -x "$bin" ]; then
    echo "$t: not built ($bin)"
    status=1
    continue
  fi
  run=$build/fuzz-run/$t
  mkdir -p "$run/corpus" "$run/artifacts"
  [ -d "$here/corpus/$t" ] && cp -n "$here/corpus/$t"/* "$run/corpus/" 2>/dev/null
  dict=""
  [ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
  echo "== $t: $seconds s, corpus $run/corpus"
  # -rss_limit_mb and -malloc_limit_mb make absurd allocations findings, not OOM kills of the host.
  if ! (cd "$run" && "$bin" corpus $dict -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -malloc_limit_mb=1024 -max_len=65536 $par \
      -artifact_prefix="$run/artifacts/" -print_final_stats=1 > "$run/log.txt" 2>&1); then
    echo "$t: FAILED, see $run/log.txt and $run/artifacts/"
    tail -n 30 "$run/log.txt"
    status=1
  else
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$run/log.txt" | sed "s/^/$t: /"
  fi
done
exit $status
