#!/usr/bin/python3
"""Builds the 16 openWakeWord embedding windows of a melspectrogram reference, as
scripts/make-references.py does (openWakeWord's AudioFeatures._get_embeddings): mel/10 + 2, windows
of 76 frames every 8 frames, shape [16, 76, 32, 1] float32. cleave-codec-eval --head oww_alexa.onnx
runs them one by one through the embedding model and feeds the 16 embeddings to the alexa head.

usage: /usr/bin/python3 bench/oww_windows.py build/testdata/ref/oww_melspec/real/output_0.npy OUT.npy
       [--check build/testdata/ref/oww_embedding/real/input_0.npy]   (the last window, bit-exact)
"""
import sys

import numpy as np


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--check"):
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    mel = np.load(argv[1])
    feats = mel.reshape(-1, 32) / 10.0 + 2.0
    wins = np.stack([feats[i:i + 76] for i in range(0, feats.shape[0] - 75, 8)])[..., None]
    wins = wins.astype(np.float32)
    if len(argv) == 5:
        last = np.load(argv[4])
        if last.shape != (1, 76, 32, 1) or not np.array_equal(last[0], wins[-1]):
            print("oww_windows: the last window differs from " + argv[4], file=sys.stderr)
            return 1
    np.save(argv[2], wins)
    print(f"{argv[2]}: {list(wins.shape)} float32")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
