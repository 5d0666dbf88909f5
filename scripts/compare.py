#!/usr/bin/python3
"""Compare two tensors saved as .npy: the one under test (A) against a reference (B, e.g. ONNX Runtime's).

    /usr/bin/python3 scripts/compare.py A.npy B.npy [--rtol 1e-4] [--atol X] [--quiet]

Prints the relative L2 error ||A-B|| / ||B||, the max absolute error and, for class outputs (1-D, or 2-D
with one row per batch item), whether the top-1 classes agree. Exit status: 0 when the shapes match and
the relative L2 error is at most --rtol, or the max absolute error is at most --atol when given (for
outputs that are nearly all zeros, like a saturated sigmoid, where the relative error means little);
1 when not; 2 on bad usage or an unreadable file.
"""
import argparse
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", help="tensor under test (.npy)")
    ap.add_argument("b", help="reference tensor (.npy)")
    ap.add_argument("--rtol", type=float, default=1e-4, help="max relative L2 error (default 1e-4)")
    ap.add_argument("--atol", type=float, default=None,
                    help="also pass when the max absolute error is at most this (default: not used)")
    ap.add_argument("--quiet", action="store_true", help="print only on failure")
    args = ap.parse_args()
    try:
        a, b = np.load(args.a), np.load(args.b)
    except (OSError, ValueError) as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2

    if a.shape != b.shape:
        print(f"compare: FAIL shapes differ: {a.shape} vs {b.shape}")
        return 1
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        a, b = a.astype(np.uint8), b.astype(np.uint8)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if not (np.isfinite(a64).all() and np.isfinite(b64).all()):
        bad = "A" if not np.isfinite(a64).all() else "B"
        print(f"compare: FAIL {bad} has NaN or Inf values")
        return 1

    diff = a64 - b64
    ref = np.linalg.norm(b64)
    rel = np.linalg.norm(diff) / ref if ref > 0 else np.linalg.norm(diff)  # absolute when B is all zero
    maxabs = float(np.abs(diff).max()) if diff.size else 0.0
    ok = rel <= args.rtol or (args.atol is not None and maxabs <= args.atol)
    line = f"rel_l2={rel:.3e} max_abs={maxabs:.3e} shape={list(a.shape)}"

    # Top-1 agreement for class scores: a 1-D [C] or 2-D [N, C] tensor with C > 1.
    if a.ndim in (1, 2) and a.shape[-1] > 1 and a.dtype.kind == "f":
        rows_a, rows_b = a64.reshape(-1, a.shape[-1]), b64.reshape(-1, a.shape[-1])
        agree = int((rows_a.argmax(1) == rows_b.argmax(1)).sum())
        line += f" top1={agree}/{rows_b.shape[0]}"
        if rows_b.shape[0] == 1:
            line += f" (class {int(rows_a.argmax())} vs {int(rows_b.argmax())})"

    if not ok or not args.quiet:
        print(("ok   " if ok else "FAIL ") + line + (f" (rtol {args.rtol:g}" +
              (f", atol {args.atol:g})" if args.atol is not None else ")")))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
