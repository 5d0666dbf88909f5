#!/bin/sh
# cleave-bench's command line without root: --help/--version, bad usage (exit 2), the sweep refusing
# plainly without root (exit 1, one line), and `report` on a recorded run (summary.md and plots).
# Usage: cli.sh CLEAVE-BENCH RECORDED_DIR
set -u
BENCH=$1
REC=$2
fail=0
n=0
TMP=$(mktemp -d /tmp/cleave-bench-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# expect STATUS CMD...: runs CMD, checks the exit status, and that errors are one line.
expect() {
  want=$1; shift
  n=$((n + 1))
  "$@" >"$TMP/out" 2>"$TMP/err"
  got=$?
  lines=$(wc -l <"$TMP/err")
  if [ "$got" != "$want" ]; then
    echo "FAIL: exit $got (wanted $want): $*"; head -3 "$TMP/err"; fail=1
  elif [ "$want" != 0 ] && [ "$lines" != 1 ]; then
    echo "FAIL: $lines lines on stderr (wanted 1): $*"; head -3 "$TMP/err"; fail=1
  fi
}

expect 0 "$BENCH" --help
grep -q "usage: cleave-bench" "$TMP/out" || { echo "FAIL: --help prints no usage"; fail=1; }
expect 0 "$BENCH" --version
expect 0 "$BENCH" report --help
expect 2 "$BENCH" --bogus
expect 2 "$BENCH" --bandwidths 1,x
expect 2 "$BENCH" --bandwidths 0
expect 2 "$BENCH" --rtts -1
expect 2 "$BENCH" --slowdowns 0.5
expect 2 "$BENCH" --runs 5
expect 2 "$BENCH" --runs 9,3
expect 2 "$BENCH" --device-cpu 1 --edge-cpu 1
expect 2 "$BENCH" --models ../../etc/passwd
expect 2 "$BENCH" --quick extra
expect 2 "$BENCH" frobnicate
expect 2 "$BENCH" report
expect 2 "$BENCH" linktest --rates abc
expect 2 "$BENCH" relay --listen 127.0.0.1
expect 2 "$BENCH" cleanup extra
expect 1 "$BENCH" report "$TMP/none" --from "$TMP/missing"
grep -q "results.csv" "$TMP/err" || { echo "FAIL: a missing run does not name results.csv"; fail=1; }

# Without root the sweep refuses in one line and points at what works without it.
if [ "$(id -u)" != 0 ]; then
  expect 1 "$BENCH" --quick --out "$TMP/q"
  grep -q "need root" "$TMP/err" || { echo "FAIL: no plain 'need root' refusal"; cat "$TMP/err"; fail=1; }
elif command -v setpriv >/dev/null 2>&1; then
  expect 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$BENCH" --quick --out "$TMP/q"
  grep -q "need root" "$TMP/err" || { echo "FAIL: no plain 'need root' refusal"; cat "$TMP/err"; fail=1; }
fi

# A recorded run: summary and plots, anywhere.
expect 0 "$BENCH" report "$TMP/rep" --from "$REC"
for f in summary.md plots/latency_mobilenetv2_4x.dat plots/predicted_vs_measured.gp; do
  [ -s "$TMP/rep/$f" ] || { echo "FAIL: report wrote no $f"; fail=1; }
done
if command -v gnuplot >/dev/null 2>&1; then
  for f in latency_mobilenetv2_4x predicted_vs_measured; do
    for e in png svg; do
      [ -s "$TMP/rep/plots/$f.$e" ] || { echo "FAIL: no plots/$f.$e"; fail=1; }
    done
  done
fi
cp "$REC/results.csv" "$TMP/rep2.csv" 2>/dev/null
mkdir -p "$TMP/rep2" && cp "$REC/results.csv" "$TMP/rep2/"
expect 0 "$BENCH" report "$TMP/rep2"
[ -s "$TMP/rep2/summary.md" ] || { echo "FAIL: report DIR wrote no summary.md"; fail=1; }

[ $fail = 0 ] && echo "cli.bench: $n commands, all as expected"
exit $fail
