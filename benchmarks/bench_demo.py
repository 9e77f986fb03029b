"""Wall time of `tinygrad-trade demo`: this tree against an earlier commit, side by side on the same machine.

    git worktree add /tmp/base f9e11c5          # or: git archive f9e11c5 | tar -x -C /tmp/base
    python benchmarks/bench_demo.py --before /tmp/base [--rounds 2]

Each round runs the demo of the earlier tree and of this tree one after the other (alternating which goes first),
each in a fresh process with the same Python and packages, writing into a temporary folder, and prints the wall
times and their ratio. The demo's numbers do not depend on the number of workers; this tree's demo uses the
machine's cores by default, the earlier one a single process. Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_demo(tree: str, extra=()) -> float:
    env = dict(os.environ, PYTHONPATH=tree)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sys; from tinygrad_trade.cli import main; sys.exit(main())",
                        "demo", "--out", os.path.join(tmp, "out"), "--quiet", *extra],
                       env=env, cwd=tmp, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="source tree of the earlier commit")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    for k in range(args.rounds):
        order = [("before", args.before), ("now", HERE)]
        if k % 2:
            order.reverse()
        times = {name: run_demo(tree) for name, tree in order}
        print(f"round {k + 1}: before {times['before']:.1f} s, now {times['now']:.1f} s, "
              f"{times['before'] / times['now']:.2f}x faster")


if __name__ == "__main__":
    main()
