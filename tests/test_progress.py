"""One progress bar in the driver, weighted by model cost, on stderr only when it is a terminal."""
import io
import sys

import numpy as np

from test_walkforward import _synthetic_prices
from tinygrad_trade.vol.runs import tasks as walkforward
from tinygrad_trade.vol.dataset import build_dataset
from tinygrad_trade.vol.walkforward import Job, ModelSpec, run_jobs, task_cost, walk_forward


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Recorder:
    """Stands in for the tqdm bar: what the driver told it."""

    def __init__(self, total, desc):
        self.total, self.desc, self.n, self.seen = total, desc, 0.0, []

    def update(self, step):
        self.n += step
        self.seen.append(self.n / self.total)

    def set_postfix_str(self, text):
        pass

    def close(self):
        self.closed = True


def test_bar_only_when_stderr_is_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert walkforward._progress_bar(10, "x").disable
    ds = build_dataset(_synthetic_prices(400))
    walk_forward(ds, ["ewma", "har"], start=300, refit_every=50, progress=True)
    assert sys.stderr.getvalue() == ""
    monkeypatch.setattr(sys, "stderr", Terminal())
    bar = walkforward._progress_bar(10, "x")
    assert not bar.disable and bar.fp is not None
    bar.close()
    assert "x:" in sys.stderr.getvalue()


def test_bar_is_weighted_by_model_cost(monkeypatch):
    bars = []
    monkeypatch.setattr(walkforward, "_progress_bar", lambda total, desc: bars.append(Recorder(total, desc)) or bars[-1])
    done = []
    jobs = [Job(done.append, (name,), task_cost(ModelSpec(name), 3), f"x: model {name!r}") for name in ("har", "gru")]
    run_jobs(jobs, progress=True, desc="test")
    assert done == ["har", "gru"] and bars[0].closed
    # after har's job the bar shows well under 1% done: the ETA is not fooled by the cheap models
    assert bars[0].seen[0] < 0.01 and bars[0].seen[-1] == 1.0
    assert task_cost(ModelSpec("gru")) > 100 * task_cost(ModelSpec("har"))
    assert task_cost(ModelSpec("cluster_models:Noisy")) == 1.0     # unknown models count as one


def test_in_process_bar_moves_per_block(monkeypatch):
    bars = []
    monkeypatch.setattr(walkforward, "_progress_bar", lambda total, desc: bars.append(Recorder(total, desc)) or bars[-1])
    ds = build_dataset(_synthetic_prices(400))
    walk_forward(ds, ["har", "gjr"], start=300, refit_every=25, progress=True)
    seen = np.array(bars[0].seen)
    assert len(seen) == 8 and np.all(np.diff(seen) > 0) and abs(seen[-1] - 1) < 1e-12
    assert seen[3] < 0.1      # har's 4 blocks first: a sliver of the work next to gjr's
