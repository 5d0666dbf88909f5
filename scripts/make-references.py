#!/usr/bin/python3
"""Make reference inputs and ONNX Runtime outputs for every test model (run with /usr/bin/python3).

    /usr/bin/python3 scripts/make-references.py DIR

Needs DIR/models/*.onnx and DIR/ort (scripts/fetch-testdata.sh makes both). For each model writes
DIR/ref/<model>/<case>/input_N.npy and ONNX Runtime's output_N.npy (scripts/ort-run.js, 1 thread), where
<case> is `random` (fixed seed, a sensible range) or `real...` (rendered text, a rendered scene, speech from
espeak-ng), plus DIR/ref/index.json listing every case with its tensors. Pictures and sounds used are kept
beside the inputs (input.png, speech.wav) for people to look at and listen to.
Sanity checks fail loudly: ORT must agree with torch on the exported models, PaddleOCR must find the text
lines and tell upright from upside-down text. See docs/TESTDATA.md for what each input is.
"""
import json
import os
import subprocess
import sys
import tempfile
import wave

import numpy as np
import onnx
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # fonts-dejavu-core
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
SR = 16000  # openWakeWord's sample rate


def log(msg):
    print(f"make-references: {msg}", file=sys.stderr, flush=True)


def die(msg):
    log("error: " + msg)
    sys.exit(1)


class Refs:
    """Writes cases under DIR/ref and runs ONNX Runtime on them."""

    def __init__(self, top):
        self.top = top
        self.index = []

    def model(self, name):
        return os.path.join(self.top, "models", name + ".onnx")

    def ort(self, model, in_files, out_dir):
        """Runs ort-run.js; returns [(output name, array)] in graph-output order."""
        cmd = ["node", os.path.join(HERE, "ort-run.js"), model, "--output-dir", out_dir,
               "--threads", "1", "--ort", os.path.join(self.top, "ort")]
        for f in in_files:
            cmd += ["--input", f]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            die(f"ONNX Runtime failed on {model}: {r.stderr.strip()}")
        names = [line.split()[1] for line in r.stdout.splitlines()]
        return [(n, np.load(os.path.join(out_dir, f"output_{i}.npy"))) for i, n in enumerate(names)]

    def case(self, name, case, inputs, note, atol=None):
        """Saves the inputs of one case, runs ORT, records it in the index; returns the outputs.
        atol: a suggested absolute tolerance, for outputs where a relative error means little."""
        d = os.path.join(self.top, "ref", name, case)
        os.makedirs(d, exist_ok=True)
        g = onnx.load(self.model(name), load_external_data=False).graph
        inits = {i.name for i in g.initializer}
        in_names = [i.name for i in g.input if i.name not in inits]
        files = []
        for i, a in enumerate(inputs):
            files.append(os.path.join(d, f"input_{i}.npy"))
            np.save(files[-1], np.ascontiguousarray(a))
        outs = self.ort(self.model(name), files, d)
        desc = lambda n, f, a: {"name": n, "file": f, "dtype": str(a.dtype), "shape": list(a.shape)}
        self.index.append({
            "model": name, "model_file": f"models/{name}.onnx", "case": case, "dir": f"ref/{name}/{case}",
            "note": note, "tolerance": {"rtol": 1e-4, **({"atol": atol} if atol else {})},
            "inputs": [desc(n, f"input_{i}.npy", a) for i, (n, a) in enumerate(zip(in_names, inputs))],
            "outputs": [desc(n, f"output_{i}.npy", a) for i, (n, a) in enumerate(outs)],
        })
        shapes = " ".join(str(list(a.shape)) for _, a in outs)
        log(f"{name}/{case}: outputs {shapes}")
        return [a for _, a in outs]


def rel_l2(a, b):
    return float(np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b.astype(np.float64)))


# === Images ===

def font(size):
    if not os.path.exists(FONT):
        die(f"{FONT} is missing (Debian package fonts-dejavu-core)")
    return ImageFont.truetype(FONT, size)


def text_page(w, h):
    """Several lines of English text, dark on a light paper colour; returns the image and line boxes."""
    img = Image.new("RGB", (w, h), (243, 240, 232))
    draw = ImageDraw.Draw(img)
    lines = ["The quick brown fox jumps", "over the lazy dog, 1234567890.", "cleave splits inference",
             "between a device and an edge.", "Text detection test page", "PaddleOCR should find us."]
    boxes, y = [], 40
    for i, s in enumerate(lines):
        f = font(36 if i % 2 == 0 else 30)
        draw.text((40, y), s, fill=(25, 25, 30), font=f)
        boxes.append(draw.textbbox((40, y), s, font=f))
        y += 95
    return img, boxes


def text_line(s):
    """One line of text cropped tight (with a small margin), as PaddleOCR's classifier sees a detection."""
    f = font(40)
    x0, y0, x1, y1 = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), s, font=f)
    img = Image.new("RGB", (x1 - x0 + 16, y1 - y0 + 12), (240, 238, 230))
    ImageDraw.Draw(img).text((8 - x0, 6 - y0), s, fill=(20, 20, 25), font=f)
    return img


def scene(size):
    """A synthetic outdoor picture: sky, sun, hills, a house and a tree, with grain and a slight blur."""
    rng = np.random.default_rng(7)
    h = w = size
    sky = np.linspace([90, 150, 230], [200, 225, 250], h // 2).astype(np.float32)
    arr = np.zeros((h, w, 3), np.float32)
    arr[: h // 2] = sky[:, None, :]
    arr[h // 2:] = [70, 140, 60]
    img = Image.fromarray(arr.astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.ellipse((150, 20, 195, 65), fill=(255, 230, 120))
    d.polygon([(0, 120), (60, 85), (130, 115), (224, 80), (224, 224), (0, 224)], fill=(60, 120, 55))
    d.rectangle((40, 120, 110, 175), fill=(200, 170, 130), outline=(90, 60, 40))
    d.polygon([(32, 122), (75, 88), (118, 122)], fill=(150, 50, 40))
    d.rectangle((65, 145, 82, 175), fill=(100, 70, 40))
    d.rectangle((88, 132, 102, 146), fill=(170, 210, 240))
    d.rectangle((160, 130, 170, 190), fill=(90, 60, 30))
    d.ellipse((138, 85, 192, 145), fill=(40, 100, 40))
    arr = np.asarray(img.filter(ImageFilter.GaussianBlur(1.0)), np.float32)
    arr = np.clip(arr + rng.normal(0, 6, arr.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def imagenet_nchw(img):
    """RGB, (x/255 - mean)/std with ImageNet statistics, NCHW float32."""
    x = (np.asarray(img, np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def ppocr_det_input(img):
    """PaddleOCR det preprocessing: the BGR image (cv2.imread order), (x/255 - mean)/std, ImageNet mean/std
    taken in the order PaddleOCR lists them, NCHW."""
    return imagenet_nchw(Image.fromarray(np.asarray(img)[:, :, ::-1].copy()))


def ppocr_cls_input(img):
    """PaddleOCR cls preprocessing: resize to height 48 (width by aspect, at most 192), BGR,
    (x/255 - 0.5)/0.5, zero padding on the right up to 192."""
    w = min(192, int(np.ceil(48 * img.width / img.height)))
    x = np.asarray(img.resize((w, 48), Image.BILINEAR), np.float32)[:, :, ::-1]
    x = (x / 255.0 - 0.5) / 0.5
    out = np.zeros((1, 3, 48, 192), np.float32)
    out[0, :, :, :w] = x.transpose(2, 0, 1)
    return out


# === Audio (openWakeWord) ===

def speak(text, wav_path, rate):
    """espeak-ng -> int16 samples at 16 kHz (espeak-ng writes 22050 Hz; FFT resampling, silence trimmed)."""
    r = subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(rate), "-w", wav_path, text],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        die(f"espeak-ng failed: {r.stderr.strip()} (Debian package espeak-ng)")
    with wave.open(wav_path) as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            die(f"{wav_path}: expected 16-bit mono from espeak-ng")
        sr, x = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float64)
    n = int(round(len(x) * SR / sr))
    y = np.fft.irfft(np.fft.rfft(x), n) * (n / len(x))
    loud = np.nonzero(np.abs(y) > 300)[0]
    return y[loud[0]: loud[-1] + 1]


def clip_2s(speech, end, seed):
    """The speech placed to end at `end` seconds of a 2 s clip, with faint noise; int16-valued float32
    [1, 32000] (openWakeWord feeds its melspectrogram model 16-bit PCM values, not [-1, 1])."""
    n = 2 * SR
    stop = int(end * SR)
    if len(speech) > stop:
        die(f"speech of {len(speech) / SR:.2f} s does not fit before {end} s")
    x = np.random.default_rng(seed).normal(0, 20, n)
    x[stop - len(speech): stop] += speech
    return np.clip(np.round(x), -32768, 32767).astype(np.float32)[None]


def embed_windows(refs, mel, tmp):
    """openWakeWord's AudioFeatures._get_embeddings: mel/10 + 2, windows of 76 frames every 8 frames,
    one batch through the embedding model. Returns (windows [N,76,32,1], embeddings [N,96])."""
    feats = mel.reshape(-1, 32) / 10.0 + 2.0
    wins = np.stack([feats[i:i + 76] for i in range(0, feats.shape[0] - 75, 8)])[..., None].astype(np.float32)
    np.save(os.path.join(tmp, "windows.npy"), wins)
    (_, emb), = refs.ort(refs.model("oww_embedding"), [os.path.join(tmp, "windows.npy")], tmp)
    return wins, emb.reshape(len(wins), 96)


# === The cases ===

def image_models(refs):
    img = scene(224)
    for name, seed in (("mobilenetv2", 11), ("resnet18", 12), ("squeezenet1_1", 13)):
        # ORT against torch on the exported file (make-models.py saved torch's answer)
        chk = os.path.join(refs.top, "models", "torch-check", name)
        with tempfile.TemporaryDirectory() as tmp:
            (_, y), = refs.ort(refs.model(name), [os.path.join(chk, "input_0.npy")], tmp)
        err = rel_l2(y, np.load(os.path.join(chk, "output_0.npy")))
        if err > 1e-4:
            die(f"{name}: ONNX Runtime and torch disagree on the export (rel L2 {err:.2e})")
        log(f"{name}: ORT agrees with torch (rel L2 {err:.1e})")
        rnd = np.random.default_rng(seed).random((224, 224, 3), np.float32)
        refs.case(name, "random", [imagenet_nchw(rnd * 255)], "uniform random pixels, ImageNet-normalised")
        refs.case(name, "real", [imagenet_nchw(img)], "rendered synthetic scene (input.png), ImageNet-normalised")
        img.save(os.path.join(refs.top, "ref", name, "real", "input.png"))


def ppocr(refs):
    rng = np.random.default_rng(21)
    # no text: the probability map is almost all ~1e-7, so relative errors there mean little; ORT itself
    # differs by 1.3e-4 relative (3e-7 absolute) between its optimised and unoptimised graphs
    refs.case("ppocr_det", "random", [ppocr_det_input(rng.integers(0, 256, (640, 640, 3), np.uint8))],
              "uniform random pixels, PaddleOCR det normalisation", atol=1e-5)
    page, boxes = text_page(640, 640)
    (prob,) = refs.case("ppocr_det", "real", [ppocr_det_input(page)],
                        "6 lines of rendered English text (input.png), PaddleOCR det normalisation")
    d = os.path.join(refs.top, "ref", "ppocr_det", "real")
    page.save(os.path.join(d, "input.png"))
    p = prob[0, 0]
    Image.fromarray((p * 255).astype(np.uint8)).save(os.path.join(d, "output_0.png"))
    # each line's centre band (7 rows, along the text) should be text; nothing far from the lines
    bands = [float(p[(y0 + y1) // 2 - 3:(y0 + y1) // 2 + 4, x0 + 5:x1 - 5].mean()) for x0, y0, x1, y1 in boxes]
    near = np.zeros(p.shape, bool)
    for x0, y0, x1, y1 in boxes:
        near[max(0, y0 - 15):y1 + 15, max(0, x0 - 15):x1 + 15] = True
    far = float(p[~near].max())
    log(f"ppocr_det/real: mean probability along the {len(boxes)} text lines "
        f"{', '.join(f'{c:.2f}' for c in bands)}; max probability away from them {far:.3f}")
    if min(bands) < 0.8 or far > 0.3:
        die("ppocr_det/real: the probability map does not follow the text lines")

    rng = np.random.default_rng(22)
    refs.case("ppocr_cls", "random", [ppocr_cls_input(Image.fromarray(
        rng.integers(0, 256, (48, 192, 3), np.uint8)))], "uniform random pixels, PaddleOCR cls normalisation")
    line = text_line("Hello cleave 2024")
    (up,) = refs.case("ppocr_cls", "real", [ppocr_cls_input(line)], "one upright text line (input.png)")
    (down,) = refs.case("ppocr_cls", "real_rot180", [ppocr_cls_input(line.rotate(180))],
                        "the same line rotated 180 degrees (input.png)")
    line.save(os.path.join(refs.top, "ref", "ppocr_cls", "real", "input.png"))
    line.rotate(180).save(os.path.join(refs.top, "ref", "ppocr_cls", "real_rot180", "input.png"))
    log(f"ppocr_cls: upright {up.round(3).tolist()}, rotated {down.round(3).tolist()} (classes 0, 180)")
    if up.argmax() != 0 or down.argmax() != 1:
        die("ppocr_cls: the classifier does not tell upright (class 0) from rotated (class 1) text")


def wakeword(refs):
    rng = np.random.default_rng(31)
    noise = np.clip(np.round(rng.normal(0, 2000, (1, 1280))), -32768, 32767).astype(np.float32)
    refs.case("oww_melspec", "random", [noise],
              "one 80 ms streaming chunk of Gaussian noise, std 2000 in 16-bit PCM units")
    mels = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case, text, rate, seed in (("real", "Alexa", 140, 32), ("real_other", "What time is it?", 160, 33)):
            audio = clip_2s(speak(text, os.path.join(tmp, "espeak.wav"), rate), 1.85, seed)
            (mel,) = refs.case("oww_melspec", case, [audio],
                               f"2 s at 16 kHz of espeak-ng saying '{text}' (speech.wav), 16-bit PCM values")
            with wave.open(os.path.join(refs.top, "ref", "oww_melspec", case, "speech.wav"), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(SR)
                w.writeframes(audio.astype(np.int16).tobytes())
            mels[case] = (text, mel)

        rng = np.random.default_rng(34)
        refs.case("oww_embedding", "random", [rng.uniform(-2, 4, (1, 76, 32, 1)).astype(np.float32)],
                  "uniform random features in [-2, 4] (the range of mel/10 + 2 on speech)")
        refs.case("oww_alexa", "random", [rng.normal(0, 1, (1, 16, 96)).astype(np.float32)],
                  "standard normal random embeddings")
        for case, (text, mel) in mels.items():
            wins, emb = embed_windows(refs, mel, tmp)
            if len(wins) != 16:
                die(f"expected 16 embedding windows in 2 s, got {len(wins)}")
            (e,) = refs.case("oww_embedding", case, [wins[-1:]],
                             f"the last 76-frame window of oww_melspec/{case} ('{text}'), mel/10 + 2")
            err = rel_l2(e.reshape(96), emb[-1])
            if err > 1e-5:
                die(f"oww_embedding: batch 1 and batch 16 runs disagree (rel L2 {err:.1e})")
            # one sigmoid score, 1e-5 for the sentence: an absolute tolerance makes more sense there
            (score,) = refs.case("oww_alexa", case, [emb[None]],
                                 f"the 16 embeddings of oww_melspec/{case} ('{text}')", atol=1e-6)
            log(f"oww_alexa/{case}: score {float(score.ravel()[0]):.3f} for '{text}'")


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    refs = Refs(os.path.abspath(sys.argv[1]))
    for m in ("mobilenetv2", "resnet18", "squeezenet1_1", "ppocr_det", "ppocr_cls",
              "oww_melspec", "oww_embedding", "oww_alexa"):
        if not os.path.exists(refs.model(m)):
            die(f"{refs.model(m)} is missing (run scripts/fetch-testdata.sh)")
    image_models(refs)
    ppocr(refs)
    wakeword(refs)
    with open(os.path.join(refs.top, "ref", "index.json"), "w") as f:  # one case a line
        f.write("[\n" + ",\n".join(json.dumps(c) for c in refs.index) + "\n]\n")
    log(f"{len(refs.index)} cases, index in {os.path.join(refs.top, 'ref', 'index.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
