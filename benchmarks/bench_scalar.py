"""Scalar engine: one forward + backward pass of a 22-16-16-1 MLP per sample, and a 1,000,000-node chain.

Runs micrograd 0.1.0's MLP side by side when micrograd is installed (`pip install micrograd==0.1.0`).
Goals: at least 3x faster than micrograd per sample; the chain back-propagates in under 2 s.

Two measurements per engine, because Python's cyclic garbage collector decides much of micrograd's time:
- as users run it: a fresh process, the collector on (Python's default);
- the collector paused during the timed rounds: the cost of the code alone.
micrograd builds a closure per node, and the closures make reference cycles that only the collector
frees; tinygrad_trade stores parents and ops in slots and makes no cycles.

Times are the CPU time of this process (``time.process_time``), best of ``ROUNDS`` rounds, so that other
processes on a shared machine slow both engines' rounds less unevenly than wall time would.
"""
from __future__ import annotations

import gc
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from common import peer_version, table

N_SAMPLES = 50
ROUNDS = 15


def _samples(seed=0):
    rnd = random.Random(seed)
    return [([rnd.uniform(-1, 1) for _ in range(22)], rnd.uniform(-1, 1)) for _ in range(N_SAMPLES)]


def _net(engine):
    if engine == "ours":
        from tinygrad_trade.nn.scalar import MLP
        return MLP(22, [16, 16, 1], activation="tanh", rng=0)
    from micrograd.nn import MLP as MicroMLP
    random.seed(0)
    return MicroMLP(22, [16, 16, 1])


def per_sample(engine, pause_gc):
    """Best time per sample (seconds) of forward + squared error + backward."""
    net, data = _net(engine), _samples()

    def run():
        for x, y in data:
            loss = (net(x) - y) ** 2
            loss.backward()
    return _best_cpu(run, pause_gc) / len(data)


def _best_cpu(fn, pause_gc, rounds=ROUNDS):
    """Best CPU time of ``fn()`` over ``rounds`` (after one warm-up); garbage collected before each."""
    fn()
    best = float("inf")
    enabled = gc.isenabled()
    try:
        for _ in range(rounds):
            gc.collect()
            if pause_gc:
                gc.disable()
            t = time.process_time()
            fn()
            best = min(best, time.process_time() - t)
            if enabled:
                gc.enable()
    finally:
        if enabled:
            gc.enable()
    return best


def per_sample_fresh_process(engine):
    """The same with the collector on, in a new Python process (as a user's script would run)."""
    here = Path(__file__).resolve().parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(Path(p).resolve()) for p in sys.path if p))
    out = subprocess.run([sys.executable, str(here / "bench_scalar.py"), "--fresh", engine],
                         capture_output=True, text=True, check=True, cwd=here, env=env)
    return json.loads(out.stdout)["seconds"]


def chain(n=1_000_000):
    from tinygrad_trade import Value
    x = Value(0.5)
    y = x
    for i in range(n):
        y = y * 1.0000001 if i % 2 else y + 0.1
    t = time.perf_counter()
    y.backward()
    return time.perf_counter() - t, sys.getrecursionlimit()


def run() -> str:
    mg_version = peer_version("micrograd")
    engines = [("ours", "tinygrad_trade Value")] + ([("micrograd", f"micrograd {mg_version}")] if mg_version else [])
    fresh = {e: per_sample_fresh_process(e) for e, _ in engines}
    paused = {e: per_sample(e, pause_gc=True) for e, _ in engines}
    rows = [[name, f"{fresh[e] * 1e3:.2f} ms", f"{paused[e] * 1e3:.2f} ms"] for e, name in engines]
    if mg_version:
        rows.append(["micrograd / tinygrad_trade", f"{fresh['micrograd'] / fresh['ours']:.1f}x",
                     f"{paused['micrograd'] / paused['ours']:.1f}x"])
    else:
        rows.append(["micrograd", "not installed: skipped", "-"])
    secs, limit = chain()
    return "\n".join([
        "### Scalar engine: 22-16-16-1 tanh MLP, forward + backward per sample", "",
        table(["engine", "as users run it (fresh process, GC on)", "GC paused while timing"], rows), "",
        "micrograd's closures form reference cycles, so its time depends on Python's cyclic garbage "
        "collector; tinygrad_trade makes no cycles. The first column is what a script sees; the second is "
        "the cost of the code alone. Times are CPU time of the process, best of "
        f"{ROUNDS} rounds (the 1,000,000-node chain: wall time, one run). "
        "Goal: micrograd / tinygrad_trade at least 3x with the collector paused.", "",
        "### 1,000,000-node chain (alternating `* c` and `+ c`)", "",
        table(["backward time", "recursion limit"], [[f"{secs:.2f} s", limit]])])


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--fresh":
        print(json.dumps({"seconds": per_sample(sys.argv[2], pause_gc=False)}))
    else:
        print(run())
