#!/usr/bin/env python3
"""Dependencies run one way: reads every #include "..." of the framework's modules, the units
(variants/), plug-ins and the CLI, and fails when a file includes a header of a module above its
own, or a private header of another module. Usage: scripts/check_layers.py [SOURCE_DIR]"""
import os
import re
import sys

# Each module and the modules it builds on directly (the order of the architecture issue:
# core <- config <- data; core <- graph <- ops <- units <- model <- train <- run <- experiment <- cli).
MODULES = {
    "core": [],
    "config": ["core"],
    "report": ["core"],
    "baselines": ["core"],
    "data": ["config"],
    "graph": ["core"],
    "ops": ["graph"],
    "units": ["ops", "config", "data"],  # the registry: what a layer, regularizer, preset or source is
    "model": ["units", "data"],
    "train": ["model", "report"],
    "run": ["train", "baselines"],
    "experiment": ["run"],
    "variants": ["units"],        # the in-tree units register through the registry only
    "plugins": ["units"],         # and so do out-of-tree ones
    "cli": ["experiment", "variants"],
}

# Public headers (include/aelab/) and the module that owns each.
HEADERS = {
    "core": "ae_error.h ae_rng.h ae_philox.h ae_par.h ae_dnnl.h ae_sysmem.h ae_clock.h",
    "config": "ae_config.h ae_schema.h",
    "report": "ae_report.h",
    "baselines": "ae_baseline.h",
    "data": "ae_data.h",
    "graph": "ae_graph.h ae_params.h",
    "ops": "ae_ops.h ae_conv.h ae_latent.h ae_penalty.h ae_norm.h",
    "units": "ae_registry.h ae_taps.h ae_pretrainer.h",
    "model": "ae_model.h",
    "train": "ae_train.h ae_optim.h ae_schedule.h ae_checkpoint.h ae_vae.h ae_pretrain.h",
    "run": "ae_run.h ae_export.h",
    "experiment": "ae_experiment.h",
    "variants": "ae_builtins.h",
}
PUBLIC = {h: m for m, hs in HEADERS.items() for h in hs.split()}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def closure(m, seen=None):
    seen = set() if seen is None else seen
    if m not in seen:
        seen.add(m)
        for d in MODULES[m]:
            closure(d, seen)
    return seen


def module_of(rel):
    """The module a source or private header belongs to, from its folder."""
    parts = rel.split(os.sep)
    if parts[0] == "framework" and len(parts) > 2:
        return parts[1]
    if parts[0] in ("variants", "plugins", "cli"):
        return parts[0]
    if parts[0] == "include":
        return PUBLIC.get(parts[-1])
    return None


def files(src):
    for top in ("framework", "variants", "plugins", "cli", "include"):
        for dirpath, _, names in os.walk(os.path.join(src, top)):
            for n in sorted(names):
                if n.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, n), src)


def check(src):
    errors = []
    for rel in files(src):
        mod = module_of(rel)
        if mod is None or mod not in MODULES:
            errors.append(f"{rel}: in no module (framework/<module>/, variants/, plugins/, cli/; "
                          f"a public header must be listed in scripts/check_layers.py)")
            continue
        allowed = closure(mod)
        text = open(os.path.join(src, rel), encoding="utf-8", errors="replace").read()
        for m in INCLUDE.finditer(text):
            h = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            base = os.path.basename(h)
            if base in PUBLIC:
                hm = PUBLIC[base]
            elif os.path.exists(os.path.join(src, os.path.dirname(rel), h)):
                hm = module_of(os.path.normpath(os.path.join(os.path.dirname(rel), h)))
                if hm != mod:
                    errors.append(f"{rel}:{line}: includes {h}, a private header of module '{hm}'")
                    continue
            elif os.path.exists(os.path.join(src, "variants", h)) and mod in ("variants",):
                hm = "variants"
            else:
                errors.append(f"{rel}:{line}: includes {h}, which is in no module")
                continue
            if hm not in allowed:
                errors.append(f"{rel}:{line}: includes {h} of module '{hm}', above '{mod}' "
                              f"('{mod}' builds on: {', '.join(sorted(allowed - {mod})) or 'nothing'})")
    return errors


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    errors = check(os.path.abspath(src))
    for e in errors:
        print("check_layers: " + e)
    print(f"check_layers: {'ok' if not errors else str(len(errors)) + ' back-edge(s)'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
