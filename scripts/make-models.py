#!/usr/bin/python3
"""Export standard architectures to ONNX with Debian's torch 1.13 / torchvision 0.14 (run with /usr/bin/python3).

    /usr/bin/python3 scripts/make-models.py OUT_DIR

Writes OUT_DIR/{mobilenetv2,resnet18,squeezenet1_1}.onnx: batch 1, 3x224x224, opset 13, input "input",
output "logits". No pretrained weights can be downloaded here, so the weights are random but fixed (one
seed per model) and made well-conditioned: BatchNormalization gets random scale/shift, then its running
statistics are calibrated on random images (like a short training pass), so the activations of the eval
model neither explode nor vanish and the BN layers are far from identities (folding them is really tested).

BN nodes are kept in the graph: torch 1.13 fuses BN into Conv whenever it exports with
training=TrainingMode.EVAL (whatever do_constant_folding says), so the models are exported in eval mode
with TrainingMode.PRESERVE and do_constant_folding=False: cleave does the folding itself, and the graphs
keep the small shape subgraphs torch emits. Checked with onnx below: fails when a BN is missing.

Also writes OUT_DIR/torch-check/<model>/{input_0,output_0}.npy: torch's own output on a random input, so
make-references.py can check that ONNX Runtime agrees with torch on the exported file.
"""
import collections
import os
import sys
import time

import numpy as np
import onnx
import torch
import torchvision

MODELS = {  # name -> (constructor, seed, must keep BatchNormalization nodes)
    "mobilenetv2": (torchvision.models.mobilenet_v2, 1, True),
    "resnet18": (torchvision.models.resnet18, 2, True),
    "squeezenet1_1": (torchvision.models.squeezenet1_1, 3, False),  # has no BN
}


def log(msg):
    print(f"make-models: {msg}", file=sys.stderr, flush=True)


def calibrate_bn(model, gen):
    """Random BN scale/shift, then running statistics measured on random ImageNet-normalised images."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.uniform_(0.5, 1.5, generator=gen)
            bn.bias.normal_(0.0, 0.2, generator=gen)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batches
        model.train()
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        for _ in range(2):
            x = (torch.rand(16, 3, 224, 224, generator=gen) - mean) / std
            model(x)
    model.eval()
    return len(bns)


def export(name, out_dir):
    ctor, seed, want_bn = MODELS[name]
    t0 = time.time()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = ctor(weights=None)
    nbn = calibrate_bn(model, gen)

    x = torch.randn(1, 3, 224, 224, generator=gen)
    with torch.no_grad():
        y = model(x)
    check_dir = os.path.join(out_dir, "torch-check", name)
    os.makedirs(check_dir, exist_ok=True)
    np.save(os.path.join(check_dir, "input_0.npy"), x.numpy())
    np.save(os.path.join(check_dir, "output_0.npy"), y.numpy())

    path = os.path.join(out_dir, name + ".onnx")
    tmp = path + ".tmp"
    torch.onnx.export(model, x, tmp, opset_version=13, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=["input"], output_names=["logits"])
    m = onnx.load(tmp)
    onnx.checker.check_model(m)
    ops = collections.Counter(n.op_type for n in m.graph.node)
    if want_bn and ops["BatchNormalization"] != nbn:
        raise SystemExit(f"make-models: {name}: {ops['BatchNormalization']} BatchNormalization nodes "
                         f"in the export, the model has {nbn}")
    os.replace(tmp, path)
    log(f"{name}: {os.path.getsize(path) / 1e6:.1f} MB, {len(m.graph.node)} nodes "
        f"{dict(sorted(ops.items()))}, {time.time() - t0:.1f} s")


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)  # same calibration sums, so the same weights, on every machine
    log(f"torch {torch.__version__}, torchvision {torchvision.__version__}, onnx {onnx.__version__}")
    for name in MODELS:
        log(f"{name}: building and exporting")
        export(name, out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
