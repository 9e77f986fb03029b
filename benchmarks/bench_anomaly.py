"""What anomaly mode costs: the training step with it off (against another checkout of the package,
say the commit before it existed) and with it on.

    python benchmarks/bench_anomaly.py                       # this checkout: off and on
    python benchmarks/bench_anomaly.py --before /tmp/base    # ... and a checkout without the mode

Two steps, each the best CPU time (``time.process_time``) of several rounds with the collector paused:
- scalar: forward + squared error + backward of a 22-16-16-1 tanh MLP of `Value`s, per sample (as
  bench_scalar.py);
- tensor: one training step (forward, MSE, backward, Adam) of a 22-16-16-1 ReLU MLP at batch 32,
  float64 (bench_tensor.py's smallest case, where per-op overhead shows most).
Each checkout runs in its own process; the processes alternate round by round, so a busy shared
machine slows both alike. With ``--before``, "off" must match "before" within the noise.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROUNDS = 5
TENSOR_STEPS = 300


def _measure(mode: str) -> dict:
    """In this process (the package on sys.path): best seconds per scalar sample and per tensor step."""
    sys.path.insert(0, str(HERE))
    import bench_scalar
    import bench_tensor

    on = mode == "on"
    if on:
        from tinygrad_trade import set_detect_anomaly
        set_detect_anomaly(True)
    scalar = bench_scalar.per_sample("ours", pause_gc=True)
    X, Y, W = bench_tensor._init(32, 16)
    step = bench_tensor.step_ours(X, Y, W)

    def steps():
        for _ in range(TENSOR_STEPS):
            step()
    tensor = bench_scalar._best_cpu(steps, pause_gc=True, rounds=5) / TENSOR_STEPS
    return {"scalar": scalar, "tensor": tensor}


def _run(root: str, mode: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(Path(root).resolve()))
    out = subprocess.run([sys.executable, str(HERE / "bench_anomaly.py"), "--child", mode],
                         capture_output=True, text=True, check=True, env=env, cwd=HERE)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(before: str | None = None, rounds: int = ROUNDS) -> str:
    here = str(HERE.parent)
    cases = ([("before", before, "off")] if before else []) + [("off", here, "off"), ("on", here, "on")]
    best = {name: {"scalar": float("inf"), "tensor": float("inf")} for name, _, _ in cases}
    for _ in range(rounds):
        for name, root, mode in cases:
            r = _run(root, mode)
            for k in best[name]:
                best[name][k] = min(best[name][k], r[k])
    lines = ["| anomaly mode | scalar MLP, per sample | tensor step, batch 32 / hidden 16 |", "|---|---|---|"]
    for name, _, _ in cases:
        b = best[name]
        lines.append(f"| {name} | {b['scalar'] * 1e6:.0f} us | {b['tensor'] * 1e6:.0f} us |")
    base = best.get("before", best["off"])
    for name in ("off", "on"):
        lines.append(f"| {name} / {'before' if before else 'off'} | {best[name]['scalar'] / base['scalar']:.2f}x "
                     f"| {best[name]['tensor'] / base['tensor']:.2f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(_measure(sys.argv[2])))
    else:
        p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        p.add_argument("--before", metavar="DIR", help="another checkout of the repository to compare 'off' with")
        p.add_argument("--rounds", type=int, default=ROUNDS)
        a = p.parse_args()
        print(run(a.before, a.rounds))
