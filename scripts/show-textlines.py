#!/usr/bin/python3
"""Reads a PaddleOCR text-detection probability map (.npy, [1,1,H,W]) and prints what a person can
read: the text lines found (connected regions above a threshold, as PaddleOCR's DB post-processing
starts) with their boxes, and a coarse picture of the map.

usage: show-textlines.py MAP.npy [--threshold 0.3] [--width 64]
"""
import argparse
import sys

import numpy as np


def components(mask):
    """4-connected components of a boolean mask: list of (y0, x0, y1, x1, pixels)."""
    h, w = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    boxes = []
    for y in range(h):
        for x in np.flatnonzero(mask[y] & ~seen[y]):
            if seen[y, x]:
                continue
            stack = [(y, x)]
            seen[y, x] = True
            y0, x0, y1, x1, n = y, x, y, x, 0
            while stack:
                cy, cx = stack.pop()
                n += 1
                y0, x0, y1, x1 = min(y0, cy), min(x0, cx), max(y1, cy), max(x1, cx)
                for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                    if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
            boxes.append((y0, x0, y1, x1, n))
    return boxes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("map")
    ap.add_argument("--threshold", type=float, default=0.3)
    ap.add_argument("--width", type=int, default=64)
    a = ap.parse_args()
    try:
        m = np.load(a.map)
    except (OSError, ValueError) as e:
        print(f"show-textlines: cannot read {a.map}: {e}", file=sys.stderr)
        return 1
    if m.ndim != 4 or m.shape[:2] != (1, 1):
        print(f"show-textlines: expected a [1,1,H,W] map, got {list(m.shape)}", file=sys.stderr)
        return 1
    p = m[0, 0]
    h, w = p.shape
    lines = [b for b in components(p > a.threshold) if b[4] >= 20]
    lines.sort(key=lambda b: (b[0], b[1]))
    print(f"text lines found: {len(lines)} (probability > {a.threshold})")
    for i, (y0, x0, y1, x1, n) in enumerate(lines, 1):
        print(f"  line {i}: x {x0:4d}..{x1:4d}  y {y0:4d}..{y1:4d}  ({x1 - x0 + 1} x {y1 - y0 + 1} px)")
    cols = a.width
    rows = max(1, cols * h // w // 2)
    print()
    for r in range(rows):
        band = p[r * h // rows:(r + 1) * h // rows]
        print("  " + "".join("#" if band[:, c * w // cols:(c + 1) * w // cols].max() > a.threshold else "."
                             for c in range(cols)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
