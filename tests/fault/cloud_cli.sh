#!/bin/sh
# cleave-cloud as a process: --help, --version, bad usage (exit 2, one line), a bind failure (exit 1,
# one line), and a clean stop on SIGTERM (exit 0).   tests/fault/cloud_cli.sh BUILD_DIR
set -u
bin=$1/bin/cleave-cloud
fails=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cleave-cloud-cli-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
check() {   # check NAME WANT_STATUS ARGS...: one line on stderr unless status 0
  name=$1 want=$2
  shift 2
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  lines=$(wc -l <"$tmp/err")
  if [ "$got" -ne "$want" ] || { [ "$want" -ne 0 ] && [ "$lines" -ne 1 ]; }; then
    echo "FAIL: $name: status $got (want $want), $lines stderr lines: $(cat "$tmp/err")"
    fails=$((fails + 1))
  else
    echo "ok: $name"
  fi
}
check help 0 --help
check version 0 --version
check no-arguments 2
check no-workers 2 --devices tcp://127.0.0.1:*
check bad-heartbeat 2 --devices tcp://127.0.0.1:* --workers tcp://127.0.0.1:* --heartbeat 0
check unknown-option 2 --frobnicate
check stray-argument 2 --devices tcp://127.0.0.1:* --workers tcp://127.0.0.1:* extra
check bad-endpoint 1 --devices nonsense --workers tcp://127.0.0.1:*
# a clean stop
"$bin" --devices tcp://127.0.0.1:* --workers tcp://127.0.0.1:* 2>"$tmp/run" &
pid=$!
i=0
while ! grep -q "devices on" "$tmp/run" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM $pid
wait $pid
st=$?
if [ $st -ne 0 ] || ! grep -q "stopped:" "$tmp/run"; then
  echo "FAIL: SIGTERM: status $st: $(cat "$tmp/run")"
  fails=$((fails + 1))
else
  echo "ok: SIGTERM stops it cleanly"
fi
[ $fails -eq 0 ] || { echo "cloud_cli.sh: $fails failure(s)"; exit 1; }
