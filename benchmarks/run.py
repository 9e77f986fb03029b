"""Run every benchmark and write docs/benchmarks.md (also printed to stdout).

    python benchmarks/run.py                      # all: scalar, tensor, garch (a minute or two)
    python benchmarks/run.py --only scalar,garch --out /tmp/bench.md

Each benchmark module exposes ``run() -> str``, a Markdown section. Peers (micrograd, PyTorch, arch) that
are not installed are skipped by the modules and listed as such in the header. Timings are the best of 5
rounds after a warm-up (see ``common.best_of``); other processes on the machine make them noisier, so the
header records the load average at the start.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]          # `from common import ...` in the modules; the package itself

from common import machine, peer_version  # noqa: E402

BENCHMARKS = [  # key, module, section title
    ("scalar", "bench_scalar", "Scalar engine (`Value`) vs micrograd"),
    ("tensor", "bench_tensor", "Tensor engine vs hand-written numpy and PyTorch"),
    ("garch", "bench_garch", "GARCH fit vs arch"),
    ("torch", "crosscheck_torch", "Gradients and optimizers checked against PyTorch"),
    ("ops", "op_coverage", "Op coverage against the peers' op tests"),
    ("layers", "crosscheck_torch_layers", "nn layers checked against PyTorch"),
    ("mcs", "crosscheck_mcs", "Model Confidence Set checked against arch"),
    ("dask", "bench_dask", "Scaling out on Dask"),     # minutes; bench_dask.py --write refreshes it alone
    ("dcc", "bench_dcc", "DCC for a book vs pymgarch"),  # minutes: pymgarch takes about a minute per fit
]
PEERS = [("micrograd", "micrograd", "scalar"), ("torch", "PyTorch", "tensor"), ("arch", "arch", "garch"),
         ("pymgarch", "pymgarch", "dcc")]
# (PyTorch is also the reference of the "torch", "ops" and "layers" sections)
COMMAND = "python benchmarks/run.py"


def _versions() -> str:
    import numpy
    import scipy

    import tinygrad_trade

    return f"tinygrad_trade {tinygrad_trade.__version__}, numpy {numpy.__version__}, scipy {scipy.__version__}"


def header(keys, load) -> str:
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    peers = []
    for module, name, key in PEERS:
        if key in keys:
            v = peer_version(module)
            peers.append(f"{name} {v}" if v else f"{name}: not installed, skipped")
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{COMMAND}` (do not edit by hand: rerun it). Each benchmark is a module in `benchmarks/` "
        "with a `run()` that returns its section; peers that are not installed are skipped and marked so in "
        "the tables (`pip install -e '.[bench]'` and `pip install torch` bring them).",
        "",
        f"- Date: {now}",
        f"- Machine: {machine()}",
        f"- Versions: {_versions()}",
        f"- Peers: {', '.join(peers) if peers else 'none'}",
        f"- Load average at the start: {load}",
        "- Timings: wall clock, the best of 5 rounds after one warm-up round (`best_of` in `benchmarks/common.py`), "
        "except the 1,000,000-node chain and the Value-graph reference rows of the GARCH tables (one run each) and "
        "the GARCH standard errors (best of 3). Other processes on the machine add noise, so compare ratios "
        "measured in the same run rather than absolute times across runs.",
        "",
        "Regenerate:",
        "",
        "```bash",
        "pip install -e '.[bench]'    # micrograd and arch; PyTorch separately (a peer only, never a dependency)",
        f"{COMMAND}         # writes docs/benchmarks.md and prints it",
        "```",
    ]
    return "\n".join(lines)


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} cores)"
    except (AttributeError, OSError):
        return "unknown"


def _section(key, module, title):
    t = time.perf_counter()
    try:
        body = importlib.import_module(module).run().strip()
        ok = True
    except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
        body = "Failed:\n\n```text\n" + traceback.format_exc().strip() + "\n```"
        ok = False
    secs = time.perf_counter() - t
    print(f"[{key}] {secs:.0f} s", file=sys.stderr, flush=True)
    return f"## {title}\n\n{body}\n\n_Run time of this benchmark: {secs:.0f} s._", ok


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"),
                   help="Markdown file to write (default docs/benchmarks.md); '-' to only print")
    p.add_argument("--only", default=",".join(k for k, _, _ in BENCHMARKS),
                   help="comma-separated benchmarks to run (default: scalar,tensor,garch)")
    args = p.parse_args(argv)
    keys = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = sorted(set(keys) - {k for k, _, _ in BENCHMARKS})
    if unknown or not keys:
        p.error(f"--only: unknown benchmark(s) {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(k for k, _, _ in BENCHMARKS)}")
    load = _load()
    parts, failed = [header(keys, load)], []
    for key, module, title in BENCHMARKS:
        if key in keys:
            text, ok = _section(key, module, title)
            parts.append(text)
            if not ok:
                failed.append(key)
    page = "\n\n".join(parts) + "\n"
    if args.out != "-":
        _write(Path(args.out), page)
    print(page)
    if args.out != "-":
        print(f"wrote {args.out}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
