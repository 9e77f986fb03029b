"""Dask clusters run the walk-forward with bit-identical results: a LocalCluster of two processes and a
`dask scheduler` with two `dask worker`s on loopback (subprocesses), each started once per module.

Also: models by import path on the workers, a task error as one line naming asset/model/block, a
worker killed mid-run, an unreachable scheduler (one line, exit 2, no hang)."""
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed", reason="dask.distributed is the [dask] extra (in [test])")

import cluster_models  # noqa: E402  (tests/ is on the path of the driver and of every worker)
from test_walkforward import _synthetic_prices  # noqa: E402

from tinygrad_trade.cli import build_parser, main  # noqa: E402
from tinygrad_trade.vol import cluster  # noqa: E402
from tinygrad_trade.vol.cluster import DaskExecutor, check_scheduler, open_executor  # noqa: E402
from tinygrad_trade.vol.dataset import build_dataset  # noqa: E402
from tinygrad_trade.vol.models import MODELS, register_model  # noqa: E402
from tinygrad_trade.vol.pipeline import ForecastConfig, run_forecast  # noqa: E402
from tinygrad_trade.vol.sweep import sweep  # noqa: E402
from tinygrad_trade.vol.walkforward import Job, ModelSpec, WalkForwardError, run_jobs, walk_forward  # noqa: E402

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
# gjr: the model whose forecasts moved with BLAS's thread count; mlp: a seeded, warm-started net
SWEEP_MODELS = ["gjr", ("mlp", {"quick": True, "progress": False})]


def _dataset(seed, name):
    ds = build_dataset(_synthetic_prices(500, seed=seed))
    ds.source = name
    return ds


@pytest.fixture(scope="module")
def datasets():
    return {f"asset-{s}": _dataset(s, f"prices-{s}.csv") for s in (3, 4, 5)}


@pytest.fixture(scope="module")
def local():
    """LocalCluster(n_workers=2, processes=True): workers are spawned with this process's sys.path."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.CRITICAL) as lc:
        with distributed.Client(lc, set_as_default=False) as client:
            yield DaskExecutor(client)


def _wait_file(path, proc, seconds=60):
    t0 = time.monotonic()
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() - t0 > seconds:
            raise RuntimeError("the dask scheduler did not start")
        time.sleep(0.1)
    time.sleep(0.2)   # the file is written whole, but let the writer close it


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """`dask scheduler` + two `dask worker`s on 127.0.0.1 as subprocesses, torn down at the end."""
    d = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, TESTS, os.environ.get("PYTHONPATH", "")])}
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": str(d)}
    sched_file = str(d / "scheduler.json")
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", sched_file], **quiet)]
    try:
        _wait_file(sched_file, procs[0])
        with open(sched_file) as f:
            address = json.load(f)["address"]
        for i in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nthreads", "1",
                                           "--no-dashboard", "--name", f"w{i}"], **quiet))
        with distributed.Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=90)
            yield address, DaskExecutor(client)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _assert_same(a, b):
    assert list(a.forecasts) == list(b.forecasts)
    for k in a.forecasts:
        assert a.forecasts[k].tobytes() == b.forecasts[k].tobytes(), k     # bitwise
    timeless = lambda h: {k: [{f: v for f, v in e.items() if f != "seconds"} for e in hs] for k, hs in h.items()}  # noqa: E731
    assert timeless(a.histories) == timeless(b.histories)   # the nets' training curves, wall time aside


@pytest.fixture(scope="module")
def in_process(datasets):
    return sweep(datasets, SWEEP_MODELS, seeds=(0, 1), start=300, refit_every=50)


def _assert_same_sweep(a, b):
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    assert list(a.forecasts) == list(b.forecasts)
    for k in a.forecasts:
        assert a.forecasts[k].to_numpy().tobytes() == b.forecasts[k].to_numpy().tobytes(), k    # bitwise
    for key in a.walks:
        for asset in a.walks[key]:
            _assert_same(a.walks[key][asset], b.walks[key][asset])


@pytest.mark.parametrize("where", ["local", "remote"])
def test_sweep_on_dask_is_bitwise_identical(request, where, datasets, in_process):
    ex = request.getfixturevalue(where)
    ex = ex[1] if where == "remote" else ex
    sent = []
    scatter = ex.scatter
    ex.scatter = lambda data: sent.append(data) or scatter(data)     # count what crosses the network
    try:
        got = sweep(datasets, SWEEP_MODELS, seeds=(0, 1), start=300, refit_every=50, executor=ex)
    finally:
        del ex.scatter
    _assert_same_sweep(in_process, got)
    assert len(sent) == 1 and [id(d) for d in sent[0].values()] == [id(d) for d in datasets.values()]  # once
    table = got.metrics
    assert len(table) == 3 * 2 * 2 and set(table.columns) >= {"asset", "model", "seed", "qlike", "mse", "mae"}
    # gjr has no randomness: run once (walks key None), its rows repeat under both seeds
    assert set(got.walks) == {None, 0, 1} and "gjr" not in got.walks[0]["asset-3"].forecasts
    gjr = table[table.model == "gjr"].set_index(["asset", "seed"]).qlike
    assert (gjr.xs(0, level="seed") == gjr.xs(1, level="seed")).all()
    mlp = table[table.model == "mlp"].set_index(["asset", "seed"]).qlike
    assert (mlp.xs(0, level="seed") != mlp.xs(1, level="seed")).any()       # the seed reaches the net
    pids = set(ex.client.run(cluster_models.worker_pid).values())
    assert len(pids) == 2 and os.getpid() not in pids


def test_walk_forward_on_dask_with_a_users_model(local, datasets):
    models = ["gjr", "cluster_models:Noisy"]          # found on the workers by import path
    for seed in (0, 1):
        here = walk_forward(datasets["asset-4"], models, start=300, refit_every=50, seed=seed)
        there = walk_forward(datasets["asset-4"], models, start=300, refit_every=50, seed=seed, executor=local)
        _assert_same(here, there)


def test_task_error_is_the_same_one_line_everywhere(local, datasets):
    ds = datasets["asset-4"]
    spec = ModelSpec("cluster_models:Boom", {"at_day": 400})
    msgs = []
    for ex in (None, local):
        with pytest.raises(WalkForwardError) as info:
            walk_forward(ds, ["har", spec], start=300, refit_every=50, executor=ex, chunk=1)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]
    assert "\n" not in msgs[0]
    assert msgs[0].startswith("prices-4.csv: model 'cluster_models:Boom', block 2 (refit 2011-")
    assert msgs[0].endswith("ValueError: no convergence at day 400")
    # in a sweep, the same line names the asset (not its file)
    with pytest.raises(WalkForwardError) as info:
        sweep(datasets, ["har", spec], start=300, refit_every=50, executor=local, chunk=1)
    assert str(info.value) == msgs[0].replace("prices-4.csv", "asset-3")   # the first asset: same dates


def test_models_travel_by_import_path_not_by_the_drivers_registry(local, datasets):
    ds = datasets["asset-3"]
    register_model("har_by_ref", cluster_models.har_factory)     # module-level: pickles by reference
    register_model("har_lambda", lambda **opts: cluster_models.har_factory(**opts))
    try:
        here = walk_forward(ds, ["har_by_ref"], start=300, refit_every=50)
        there = walk_forward(ds, ["har_by_ref"], start=300, refit_every=50, executor=local)
        _assert_same(here, there)
        with pytest.raises(WalkForwardError, match="unknown model 'har_lambda' in this process.*'package.module:Class'"):
            walk_forward(ds, ["har_lambda"], start=300, refit_every=50, executor=local)
    finally:
        MODELS.pop("har_by_ref", None)
        MODELS.pop("har_lambda", None)


def _kill_a_busy_worker(client, stop):
    """SIGKILL the process of a worker that is running a task (its nanny starts a new one)."""
    while not stop.is_set():
        busy = [w for w, tasks in client.processing().items() if tasks]
        if busy:
            pid = client.run(cluster_models.worker_pid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.05)


@pytest.mark.parametrize("where", ["local", "remote"])
def test_a_worker_killed_mid_sweep_changes_nothing(request, where, datasets):
    ex = request.getfixturevalue(where)
    ex = ex[1] if where == "remote" else ex
    two = {k: datasets[k] for k in ("asset-3", "asset-5")}
    models = ["har", ModelSpec("cluster_models:Noisy", {"pause": 0.15}, label="slow")]
    want = sweep(two, models, seeds=(0, 1), start=300, refit_every=50)
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=lambda: killed.append(_kill_a_busy_worker(ex.client, stop)))
    killer.start()
    try:
        got = sweep(two, models, seeds=(0, 1), start=300, refit_every=50, executor=ex, chunk=1)
    finally:
        stop.set()
        killer.join()
    assert killed and killed[0] is not None
    _assert_same_sweep(want, got)
    ex.client.wait_for_workers(2, timeout=60)   # the nanny restarted it, for the tests that follow


def test_forecast_job_on_a_remote_scheduler_gives_the_same_metrics(remote):
    address, _ = remote
    common = dict(out=None, models=("har", "gjr"), start="2017-01-01", refit_every=63, quiet=True)
    a = run_forecast(ForecastConfig(**common)).metrics
    b = run_forecast(ForecastConfig(**common, scheduler=address)).metrics
    assert b["config"].pop("scheduler") == address and a["config"].pop("scheduler") is None
    assert a == b
    assert build_parser().parse_args(["forecast", "--scheduler", address]).scheduler == address


def test_unreachable_scheduler_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    with socket.socket() as s:               # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    t0 = time.monotonic()
    rc = main(["forecast", "--models", "har", "--quiet", "--out", str(tmp_path), "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert rc == 2 and time.monotonic() - t0 < 30
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach the Dask scheduler within 1 s" in err[0], err
    assert main(["forecast", "--scheduler", "127.0.0.1:8786", "--quiet", "--out", str(tmp_path)]) == 2
    assert "--scheduler must be 'local' or a Dask scheduler address" in capsys.readouterr().err


def test_check_scheduler_and_plain_executors():
    assert check_scheduler(None) is None and check_scheduler(" local ") == "local"
    assert check_scheduler("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    for bad in ("", "localhost", "http://x:1", "tcp://"):
        with pytest.raises(ValueError, match="--scheduler"):
            check_scheduler(bad)
    with open_executor(None, 1) as ex:
        assert ex is None
    with open_executor(None, 2) as ex:
        assert ex.submit(pow, 2, 10).result() == 1024


class _DeadWorkers:
    """An executor whose every task 'died with its workers', as Dask reports it after allowed-failures."""

    def submit(self, fn, *args):
        from concurrent.futures import Future
        from types import SimpleNamespace
        fut = Future()
        fut.set_exception(distributed.KilledWorker("run_task-1", SimpleNamespace(address="tcp://10.0.0.9:4000"), 3))
        return fut


def test_a_run_that_cannot_finish_fails_with_one_line(datasets):
    with pytest.raises(WalkForwardError) as info:
        walk_forward(datasets["asset-5"], ["har"], start=300, refit_every=50, executor=_DeadWorkers())
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("prices-5.csv: model 'har', block 0: the executor could not finish it (KilledWorker: ")


def test_lost_scheduler_stops_the_run_with_one_line():
    from concurrent.futures import Future

    class Stalled:
        """Tasks that never finish, on a scheduler that is gone (what DaskExecutor.check reports)."""

        client = type("Client", (), {"status": "closed",
                                     "scheduler": type("S", (), {"address": "tcp://127.0.0.1:1"})()})()
        check = DaskExecutor.check

        def submit(self, fn, *args):
            return Future()

    t0 = time.monotonic()
    with pytest.raises(WalkForwardError, match=r"^the run cannot finish: RuntimeError: lost the Dask scheduler "
                                               r"tcp://127.0.0.1:1 \(client closed\)$"):
        run_jobs([Job(pow, (2, 3))], executor=Stalled())
    assert time.monotonic() - t0 < 30


def test_predict_on_a_remote_scheduler_gives_the_same_table(remote):
    from tinygrad_trade.vol.predict import PredictConfig, run_predict
    address, _ = remote
    common = dict(models=("gjr", "har"), horizons=(1, 5), out=None, quiet=True)
    here = run_predict(PredictConfig(**common)).table
    there = run_predict(PredictConfig(**common, scheduler=address)).table
    pd.testing.assert_frame_equal(here, there, check_exact=True)


def test_a_run_whose_workers_all_died_ends_with_one_line(monkeypatch):
    """No worker for NO_WORKERS_TIMEOUT seconds: check() raises (the driver's wait loop turns it into one line)."""
    class FakeClient:
        status = "running"
        scheduler = type("S", (), {"address": "tcp://127.0.0.1:1"})()
        workers = {}

        def scheduler_info(self):
            return {"workers": self.workers}

        def get_executor(self, **kw):
            return None

    client = FakeClient()
    ex = DaskExecutor(client)
    monkeypatch.setattr(cluster, "NO_WORKERS_TIMEOUT", 0.05)
    ex.check()                       # the first sight of no worker starts the clock
    client.workers = {"w0": {}}
    time.sleep(0.1)
    ex.check()                       # a worker came back: the clock stops
    client.workers = {}
    ex.check()
    time.sleep(0.1)
    with pytest.raises(RuntimeError, match="no worker for 0.05 s"):
        ex.check()
