#!/bin/sh
# An interrupted sweep cleans up: SIGINT to `cleave-bench --quick` while it measures, then its exit
# status (1, "interrupted"), and nothing of its lab left: no namespace, no veth, no cgroup, no child
# process. Then SIGKILL (no chance to clean up): the next run's clean-up removes the leftovers. Needs
# root and the test models; skips (77) with a plain message otherwise.
# Usage: interrupt.sh CLEAVE-BENCH TESTDATA
set -u
BENCH=$1
TESTDATA=$2
if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: the interrupted-sweep test needs root (network namespaces, tbf, a cgroup CPU quota)"
  exit 77
fi
if [ ! -f "$TESTDATA/models/mobilenetv2.onnx" ]; then
  echo "SKIPPED: the interrupted-sweep test needs the test models: run scripts/fetch-testdata.sh $TESTDATA"
  exit 77
fi
OUT=$(mktemp -d /tmp/cleave-bench-int-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
rc=0

left_of() {   # what of run PID is still there
  pid=$1
  ip netns list 2>/dev/null | grep "^cbench-$pid-" | sed 's/ .*//'
  [ -d "/sys/fs/cgroup/cpu/cbench-$pid" ] && echo "cgroup cbench-$pid"
  pgrep -P "$pid" >/dev/null 2>&1 && echo "children of $pid"
}

# Waits until the sweep measures a cut (the lab is up, servers run), at most 60 s.
wait_measuring() {
  for _ in $(seq 1 600); do
    grep -q ": cut [0-9]" "$OUT/log" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

"$BENCH" --quick --out "$OUT/a" --testdata "$TESTDATA" 2>"$OUT/log" &
pid=$!
wait_measuring || { echo "FAIL: the sweep never started measuring"; kill "$pid"; exit 1; }
[ -n "$(ip netns list | grep "^cbench-$pid-")" ] || { echo "FAIL: no lab while measuring"; rc=1; }
kill -INT "$pid"
wait "$pid"
st=$?
[ "$st" = 1 ] || { echo "FAIL: exit $st after SIGINT (wanted 1)"; rc=1; }
grep -q "interrupted" "$OUT/log" || { echo "FAIL: no 'interrupted' message"; rc=1; }
sleep 0.5
what=$(left_of "$pid")
[ -z "$what" ] || { echo "FAIL: left after SIGINT: $what"; rc=1; }
grep -q "^interrupted" "$OUT/a/run.txt" || { echo "FAIL: run.txt does not say interrupted"; rc=1; }

# SIGKILL: no clean-up by the victim; its children die with it; `cleanup` removes the rest.
: >"$OUT/log"
"$BENCH" --quick --out "$OUT/b" --testdata "$TESTDATA" 2>"$OUT/log" &
pid=$!
wait_measuring || { echo "FAIL: the second sweep never started measuring"; kill "$pid"; exit 1; }
kill -KILL "$pid"
wait "$pid" 2>/dev/null
sleep 0.5
"$BENCH" cleanup 2>"$OUT/clean" || { echo "FAIL: cleanup failed: $(cat "$OUT/clean")"; rc=1; }
what=$(left_of "$pid")
[ -z "$what" ] || { echo "FAIL: left after SIGKILL and cleanup: $what"; rc=1; }
grep -q "removed [1-9]" "$OUT/clean" || { echo "FAIL: cleanup removed nothing: $(cat "$OUT/clean")"; rc=1; }
[ $rc = 0 ] && echo "interrupt.bench: SIGINT cleans up; after SIGKILL, cleanup does"
exit $rc
