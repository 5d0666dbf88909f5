#!/bin/sh
# cleave tests: hostile input to cleave-device gives one clear line on stderr and exit status 1 (2 for
# bad usage), never a crash (a signal), a hang (a timeout) or a stack of messages.
#   tests/cli/bad_input.sh BUILD_DIR TESTDATA_DIR
set -u
BUILD=$1
TD=$2
DEV=$BUILD/bin/cleave-device
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail=0
M=$TD/models/mobilenetv2.onnx
X=$TD/ref/mobilenetv2/random/input_0.npy
[ -f "$M" ] && [ -f "$X" ] || { echo "bad_input: test material absent: run scripts/fetch-testdata.sh $TD"; exit 1; }

# expect STATUS PATTERN -- ARGS...: runs cleave-device, checks the status, one stderr line matching.
expect() {
  want=$1; pattern=$2; shift 3
  timeout 60 "$DEV" "$@" >"$W/out" 2>"$W/err"
  got=$?
  lines=$(wc -l < "$W/err")
  if [ "$got" -ne "$want" ] || [ "$lines" -ne 1 ] || ! grep -qE -e "$pattern" "$W/err"; then
    echo "FAIL cleave-device $*: status $got (want $want), $lines stderr lines, want /$pattern/:"
    sed 's/^/  | /' "$W/err"
    fail=1
  else
    echo "ok   $(cat "$W/err")"
  fi
}

# Files made from the real model and input.
head -c 100000 "$M" > "$W/truncated.onnx"
cp "$M" "$W/corrupt.onnx"
printf '\377\377\377\377\377\377\377\377' | dd of="$W/corrupt.onnx" bs=1 seek=20 conv=notrunc 2>/dev/null
: > "$W/empty.onnx"
head -c 300 /dev/urandom > "$W/random.onnx"
/usr/bin/python3 - "$W" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, TensorProto
w = sys.argv[1]
def model(nodes, inputs, outputs, name):
    g = helper.make_graph(nodes, "g", inputs, outputs)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), f"{w}/{name}.onnx")
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
model([helper.make_node("Frobnicate", ["x"], ["y"], name="frob_1")], [x], [y], "unknown_op")
big = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 100000, 100000])
model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [big], [y], "absurd_dims")
np.save(f"{w}/int_input.npy", np.zeros((1, 3, 224, 224), dtype=np.int64))
np.save(f"{w}/small_input.npy", np.zeros((1, 3, 100, 100), dtype=np.float32))
np.save(f"{w}/vec.npy", np.zeros((1, 4), dtype=np.float32))
with open(f"{w}/absurd.npy", "wb") as f:  # a header claiming 4 PiB of data, then 16 bytes
    np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (2**40, 1024)})
    f.write(b"\0" * 16)
PY
head -c 1000 "$X" > "$W/truncated.npy"

expect 1 "cannot open model" -- --model "$W/missing.onnx" --input "$X"
expect 1 "truncated or corrupt" -- --model "$W/truncated.onnx" --input "$X"
expect 1 "truncated|corrupt|format|defined|missing" -- --model "$W/corrupt.onnx" --input "$X"
expect 1 "bytes \(must be 1 to" -- --model "$W/empty.onnx" --input "$X"
expect 1 "truncated or corrupt|opset|graph" -- --model "$W/random.onnx" --input "$X"
expect 1 "node 'frob_1' \(Frobnicate\): operator 'Frobnicate' is not supported" -- --model "$W/unknown_op.onnx" --input "$W/vec.npy"
expect 1 "input 'input' must be float, not int64" -- --model "$M" --input "$W/int_input.npy"
expect 1 "must have shape \[1,3,224,224\], not \[1,3,100,100\]" -- --model "$M" --input "$W/small_input.npy"
expect 1 "larger than|out of range" -- --model "$W/absurd_dims.onnx"
expect 1 "absurd.npy.*(larger than|out of range)" -- --model "$M" --input "$W/absurd.npy"
expect 1 "truncated.npy" -- --model "$M" --input "$W/truncated.npy"
expect 2 "--threads must be an integer" -- --model "$M" --input "$X" --threads 0
expect 2 "unknown or incomplete option" -- --model "$M" --frobnicate
expect 2 "--model is required" -- --input "$X"
exit $fail
