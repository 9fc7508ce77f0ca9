#!/usr/bin/python3
"""Moves a model trained by aelab to PyTorch: builds an nn.Module from the config stored in the
safetensors file that `aelab export RUN_DIR` wrote and loads every tensor into it by name
(load_state_dict(strict=True): the names and shapes are PyTorch's, nothing is transposed).

Usage:
  /usr/bin/python3 scripts/to_torch.py RUN_DIR [--file model.safetensors] [--data-dir DIR] [--check]

--check evaluates the model on the run's test split (data.source: idx; named data sets are looked up
in --data-dir, $AELAB_DATA, /usr/share/datasets like aelab does) and compares the mean binary
cross-entropy with the "bce" of RUN_DIR/final.json: exit 1 when they differ by more than 1e-5.

Layers: dense (nn.Linear), conv2d (nn.Conv2d), conv_transpose2d (nn.ConvTranspose2d), reshape;
activations identity, relu, sigmoid, tanh; latent deterministic or gaussian (z = mu, as aelab's
evaluation). Needs PyTorch (python3-torch, installed by `make bench`) and PyYAML.
"""
import argparse
import gzip
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

ACT = {"identity": lambda x: x, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


def read_safetensors(path):
    """(metadata, {name: float32 tensor}) read by the format's rules (F32 only)."""
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack_from("<Q", b, 0)[0]
    head = json.loads(b[8:8 + n])
    meta = head.pop("__metadata__", {})
    data = b[8 + n:]
    tensors = {}
    for name, t in head.items():
        if t["dtype"] != "F32":
            sys.exit(f"{path}: {name} has dtype {t['dtype']}, expected F32")
        s, e = t["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[s:e]), dtype=torch.float32).reshape(t["shape"])
    return meta, tensors


class AelabModel(nn.Module):
    """encoder[i] / decoder[i] are the aelab layers (ModuleList: state_dict names encoder.0.weight ...);
    their activations are applied in forward, as aelab fuses them into the layer."""

    def __init__(self, cfg, in_shape):
        super().__init__()
        m = cfg["model"]
        self.enc_spec, self.dec_spec = m["encoder"], m["decoder"]
        self.in_shape = in_shape
        shape = list(in_shape)
        self.encoder, shape = self._layers(self.enc_spec, shape)
        lat = m.get("latent", {}).get("kind", "deterministic")
        if lat == "gaussian":
            n, size = _numel(shape), int(m["latent"]["size"])
            self.latent = nn.ModuleDict({"mu": nn.Linear(n, size), "logvar": nn.Linear(n, size)})
            shape = [size]
        elif lat != "deterministic":
            sys.exit(f"latent kind {lat}: to_torch.py knows deterministic and gaussian")
        else:
            self.latent = None
        self.decoder, _ = self._layers(self.dec_spec, shape)

    @staticmethod
    def _layers(spec, shape):
        mods = nn.ModuleList()
        for s in spec:
            t = s["type"]
            if t == "dense":
                mods.append(nn.Linear(_numel(shape), int(s["units"]), bias=_bool(s.get("bias", True))))
                shape = [int(s["units"])]
            elif t in ("conv2d", "conv_transpose2d"):
                c, h, w = shape
                k, st, p = int(s["kernel"]), int(s["stride"]), int(s["padding"])
                f = int(s["filters"])
                if t == "conv2d":
                    mods.append(nn.Conv2d(c, f, k, st, p, bias=_bool(s.get("bias", True))))
                    h, w = (h + 2 * p - k) // st + 1, (w + 2 * p - k) // st + 1
                else:
                    op = int(s.get("output_padding", 0))
                    mods.append(nn.ConvTranspose2d(c, f, k, st, p, op, bias=_bool(s.get("bias", True))))
                    h, w = (h - 1) * st - 2 * p + k + op, (w - 1) * st - 2 * p + k + op
                shape = [f, h, w]
            elif t == "reshape":
                mods.append(nn.Identity())
                shape = [int(v) for v in s["shape"]]
            else:
                sys.exit(f"layer type {t}: to_torch.py knows dense, conv2d, conv_transpose2d and reshape")
        return mods, shape

    @staticmethod
    def _run(mods, spec, x):
        for mod, s in zip(mods, spec):
            if s["type"] == "reshape":
                x = x.reshape([x.shape[0]] + [int(v) for v in s["shape"]])
                continue
            if isinstance(mod, nn.Linear):
                x = x.flatten(1)
            x = ACT[s.get("activation", "identity")](mod(x))
        return x

    def encode(self, x):
        h = self._run(self.encoder, self.enc_spec, x.reshape([x.shape[0]] + list(self.in_shape)))
        return self.latent["mu"](h.flatten(1)) if self.latent is not None else h.flatten(1)

    def forward(self, x):
        return self._run(self.decoder, self.dec_spec, self.encode(x)).flatten(1)


def _numel(shape):
    n = 1
    for v in shape:
        n *= int(v)
    return n


def _bool(v):
    return v is True or str(v).lower() == "true"


def _idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        b = f.read()
    nd = b[3]
    dims = struct.unpack_from(">" + "I" * nd, b, 4)
    return torch.frombuffer(bytearray(b[4 + 4 * nd:]), dtype=torch.uint8).reshape(dims)


def load_test(cfg, data_dir):
    """The run's test split for data.source: idx (named data sets), scaled to [0, 1] as aelab does."""
    d = cfg["data"]
    if d.get("source") != "idx" or d.get("images"):
        sys.exit("--check reads named IDX data sets (data: {source: idx, name: ...}) only")
    roots = ([data_dir] if data_dir else []) + [p for p in os.environ.get("AELAB_DATA", "").split(":") if p]
    roots.append("/usr/share/datasets")
    for r in roots:
        for ext in ("", ".gz"):
            p = os.path.join(r, d["name"], "t10k-images-idx3-ubyte" + ext)
            if os.path.exists(p):
                x = _idx(p)
                lim = int(d.get("test_limit", 0) or 0)
                x = x[:lim] if lim > 0 else x
                return x.reshape(x.shape[0], -1).float() / 255.0, list(x.shape[1:])
    sys.exit(f"data set {d['name']}: t10k-images-idx3-ubyte[.gz] not found under {roots}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--file", default=None, help="default RUN_DIR/model.safetensors")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--check", action="store_true", help="compare the test BCE with final.json (1e-5)")
    a = ap.parse_args()
    path = a.file or os.path.join(a.run_dir, "model.safetensors")
    if not os.path.exists(path):
        sys.exit(f"{path} not found: run `aelab export {a.run_dir}` first")
    meta, tensors = read_safetensors(path)
    cfg = yaml.safe_load(meta["config"])
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    x, img = load_test(cfg, a.data_dir) if a.check else (None, None)
    in_shape = [1] + img if img else [tensors["encoder.0.weight"].shape[1]]
    model = AelabModel(cfg, in_shape)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    print(f"loaded {len(tensors)} tensors ({sum(t.numel() for t in tensors.values())} parameters) into "
          f"{type(model).__name__}")
    if not a.check:
        return
    total = 0.0
    with torch.no_grad():
        for s in range(0, x.shape[0], 1000):
            xb = x[s:s + 1000]
            total += float(F.binary_cross_entropy(model(xb), xb, reduction="none").mean(1).double().sum())
    bce = total / x.shape[0]
    with open(os.path.join(a.run_dir, "final.json")) as f:
        ref = json.load(f)["bce"]
    diff = abs(bce - ref)
    print(f"test bce: pytorch {bce:.8f}  aelab {ref:.8f}  |diff| {diff:.2e} ({'ok' if diff <= 1e-5 else 'DIFFERS'})")
    sys.exit(0 if diff <= 1e-5 else 1)


if __name__ == "__main__":
    main()
