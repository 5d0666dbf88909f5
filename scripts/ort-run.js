#!/usr/bin/env node
// ort-run.js: run one ONNX model with ONNX Runtime (onnxruntime-node), the reference cleave is compared
// with. Inputs and outputs are .npy files; with --repeat it also times the runs.
//
//   node scripts/ort-run.js MODEL.onnx --input a.npy [--input b.npy]... [--output-dir D]
//        [--threads N] [--repeat N [--stats FILE.json]] [--ort DIR]
//
// Inputs are fed in the model's graph-input order; outputs are written in graph-output order as
// D/output_0.npy, D/output_1.npy, ... and one line per output is printed on stdout.
// ONNX Runtime is loaded from DIR/node_modules/onnxruntime-node, where DIR is --ort, else $CLEAVE_ORT,
// else build/testdata/ort in this repository (scripts/fetch-testdata.sh installs it there).
// Exit status: 0 done, 1 failed at run time, 2 bad usage.
'use strict';
const fs = require('fs');
const path = require('path');

const USAGE = `usage: node scripts/ort-run.js MODEL.onnx --input IN.npy [--input IN.npy]... [--output-dir DIR]
                          [--threads N] [--repeat N [--stats FILE.json]] [--ort DIR]
  --input FILE      an input tensor (.npy: float32, float64, int64, int32, uint8, int8, bool), in graph-input order
  --output-dir DIR  write the outputs there as output_0.npy, output_1.npy, ... (graph-output order)
  --threads N       ONNX Runtime intra-op threads (default 1; inter-op threads are always 1)
  --repeat N        one warm-up run, then N timed runs
  --stats FILE      with --repeat: write {runs, median_ms, p90_ms, min_ms, peak_rss_mb, threads} there
                    (default: print that JSON on stdout)
  --ort DIR         folder holding node_modules/onnxruntime-node (default $CLEAVE_ORT or build/testdata/ort)`;

class UsageError extends Error {}

/* === .npy reading and writing (format versions 1, 2 and 3; little-endian, C order) === */

// numpy descr -> [ORT tensor type, typed-array constructor]
const DTYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array],
  '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array], '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  if (major < 1 || major > 3 || hstart + hlen > buf.length) throw new Error(`${file}: bad .npy header`);
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`${file}: cannot parse .npy header ${header.trim()}`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran-order arrays are not supported`);
  const dt = DTYPES[descr[1]];
  if (!dt) throw new Error(`${file}: unsupported dtype ${descr[1]}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  const nbytes = count * dt[1].BYTES_PER_ELEMENT;
  if (buf.length - off !== nbytes) throw new Error(`${file}: ${buf.length - off} data bytes, shape needs ${nbytes}`);
  // copy into a fresh, aligned buffer
  const data = new dt[1](count);
  new Uint8Array(data.buffer).set(buf.subarray(off, off + nbytes));
  return { type: dt[0], data: dt[0] === 'bool' ? Uint8Array.from(data, (v) => (v ? 1 : 0)) : data, dims };
}

function writeNpy(file, tensor) {
  const descr = Object.keys(DTYPES).find((k) => DTYPES[k][0] === tensor.type);
  if (!descr) throw new Error(`cannot write ${tensor.type} tensors as .npy`);
  const dims = tensor.dims;
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64); // numpy aligns the data to 64 bytes
  header += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const d = tensor.data;
  const body = tensor.type === 'bool' ? Buffer.from(Uint8Array.from(d, (v) => (v ? 1 : 0)))
    : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

/* === Command line === */

function parseArgs(argv) {
  const o = { inputs: [], threads: 1, repeat: 0 };
  const posInt = (flag, v) => {
    if (!/^[1-9][0-9]*$/.test(v || '')) throw new UsageError(`${flag} needs a positive integer, got '${v}'`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--help' || a === '-h') o.help = true;
    else if (a === '--input') o.inputs.push(val());
    else if (a === '--output-dir') o.outDir = val();
    else if (a === '--threads') o.threads = posInt(a, val());
    else if (a === '--repeat') o.repeat = posInt(a, val());
    else if (a === '--stats') o.stats = val();
    else if (a === '--ort') o.ort = val();
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else if (o.model) throw new UsageError(`more than one model given ('${o.model}', '${a}')`);
    else o.model = a;
  }
  if (o.help) return o;
  if (!o.model) throw new UsageError('no model given');
  if (o.inputs.length === 0) throw new UsageError('no --input given');
  if (o.stats && !o.repeat) throw new UsageError('--stats needs --repeat');
  return o;
}

function loadOrt(dir) {
  const base = dir || process.env.CLEAVE_ORT || path.join(__dirname, '..', 'build', 'testdata', 'ort');
  const mod = path.resolve(base, 'node_modules', 'onnxruntime-node');
  if (!fs.existsSync(mod)) throw new Error(`onnxruntime-node not found in ${mod} (run scripts/fetch-testdata.sh)`);
  return require(mod);
}

/* === Main === */

const round3 = (x) => Math.round(x * 1000) / 1000;

function percentile(sorted, p) { // nearest rank
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) { console.log(USAGE); return; }
  const ort = loadOrt(o.ort);
  if (!fs.existsSync(o.model)) throw new Error(`${o.model}: no such file`);
  const session = await ort.InferenceSession.create(o.model, {
    intraOpNumThreads: o.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  if (o.inputs.length !== session.inputNames.length) {
    throw new UsageError(`${o.model} has ${session.inputNames.length} input(s) (${session.inputNames.join(', ')}),`
      + ` ${o.inputs.length} --input given`);
  }
  const feeds = {};
  session.inputNames.forEach((name, i) => {
    const t = readNpy(o.inputs[i]);
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  });

  let results = await session.run(feeds); // the warm-up when timing
  const times = [];
  for (let r = 0; r < o.repeat; r++) {
    const t0 = process.hrtime.bigint();
    results = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }

  if (o.outDir) fs.mkdirSync(o.outDir, { recursive: true });
  session.outputNames.forEach((name, i) => {
    const t = results[name];
    if (o.outDir) writeNpy(path.join(o.outDir, `output_${i}.npy`), t);
    console.log(`output_${i} ${name} ${t.type} [${t.dims.join(',')}]`);
  });

  if (o.repeat) {
    const s = times.slice().sort((a, b) => a - b);
    const mid = s.length >> 1;
    const stats = {
      runs: s.length,
      median_ms: round3(s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2),
      p90_ms: round3(percentile(s, 0.9)),
      min_ms: round3(s[0]),
      peak_rss_mb: round3(process.resourceUsage().maxRSS / 1024), // maxRSS is in KiB
      threads: o.threads,
    };
    const json = JSON.stringify(stats) + '\n';
    if (o.stats) fs.writeFileSync(o.stats, json); else process.stdout.write(json);
  }
}

main().catch((e) => {
  const msg = String((e && e.message) || e).split('\n')[0];
  if (e instanceof UsageError) {
    console.error(`ort-run: ${msg} (try --help)`);
    process.exit(2);
  }
  console.error(`ort-run: ${msg}`);
  process.exit(1);
});
