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
import pytest

distributed = pytest.importorskip("distributed", reason="dask.distributed is the [dask] extra (in [test])")

import cluster_models  # noqa: E402  (tests/ is on the path of the driver and of every worker)
from test_walkforward import _synthetic_prices  # noqa: E402

from tinygrad_trade.cli import main  # noqa: E402
from tinygrad_trade.vol import cluster  # noqa: E402
from tinygrad_trade.vol.cluster import DaskExecutor, check_scheduler, open_executor  # noqa: E402
from tinygrad_trade.vol.dataset import build_dataset  # noqa: E402
from tinygrad_trade.vol.models import MODELS, register_model  # noqa: E402
from tinygrad_trade.vol.walkforward import ModelSpec, WalkForwardError, walk_forward  # noqa: E402

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
# gjr: the model whose forecasts moved with BLAS's thread count; a seeded net; a user's model by import path
MODELS_RUN = ["gjr", ("mlp", {"quick": True, "progress": False}), "cluster_models:Noisy"]


def _dataset(seed, name):
    ds = build_dataset(_synthetic_prices(500, seed=seed))
    ds.source = name
    return ds


@pytest.fixture(scope="module")
def datasets():
    return [_dataset(s, f"asset-{s}") for s in (3, 4, 5)]


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
    return [walk_forward(ds, MODELS_RUN, start=300, refit_every=50, seed=s) for ds in datasets for s in (0, 1)]


@pytest.mark.parametrize("where", ["local", "remote"])
def test_walk_forward_on_dask_is_bitwise_identical(request, where, datasets, in_process):
    ex = request.getfixturevalue(where)
    ex = ex[1] if where == "remote" else ex
    runs = [walk_forward(ds, MODELS_RUN, start=300, refit_every=50, seed=s, executor=ex)
            for ds in datasets for s in (0, 1)]
    for a, b in zip(in_process, runs):
        _assert_same(a, b)
    # the seed matters (so equality above is not vacuous) and the workers ran the user's model
    assert not np.array_equal(in_process[0].forecasts["cluster_models:Noisy"], in_process[1].forecasts["cluster_models:Noisy"])
    pids = set(ex.client.run(cluster_models.worker_pid).values())
    assert len(pids) == 2 and os.getpid() not in pids


def test_task_error_is_the_same_one_line_everywhere(local, datasets):
    ds = datasets[1]
    spec = ModelSpec("cluster_models:Boom", {"at_day": 400})
    msgs = []
    for ex in (None, local):
        with pytest.raises(WalkForwardError) as info:
            walk_forward(ds, ["har", spec], start=300, refit_every=50, executor=ex, chunk=1)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]
    assert "\n" not in msgs[0]
    assert msgs[0].startswith("asset-4: model 'cluster_models:Boom', block 2 (refit 2011-")
    assert msgs[0].endswith("ValueError: no convergence at day 400")


def test_models_travel_by_import_path_not_by_the_drivers_registry(local, datasets):
    ds = datasets[0]
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
def test_a_worker_killed_mid_run_changes_nothing(request, where, datasets):
    ex = request.getfixturevalue(where)
    ex = ex[1] if where == "remote" else ex
    models = ["har", ModelSpec("cluster_models:Noisy", {"pause": 0.3}, label="slow")]
    want = walk_forward(datasets[2], models, start=300, refit_every=25, seed=3)
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=lambda: killed.append(_kill_a_busy_worker(ex.client, stop)))
    killer.start()
    try:
        got = walk_forward(datasets[2], models, start=300, refit_every=25, seed=3, executor=ex, chunk=1)
    finally:
        stop.set()
        killer.join()
    assert killed and killed[0] is not None
    _assert_same(want, got)
    ex.client.wait_for_workers(2, timeout=60)   # the nanny restarted it, for the tests that follow


def test_forecast_cli_on_a_remote_scheduler_writes_the_same_metrics(remote, tmp_path, capsys):
    address, _ = remote
    common = ["forecast", "--models", "har,gjr", "--start", "2017-01-01", "--refit-every", "63", "--quiet"]
    assert main(common + ["--out", str(tmp_path / "a")]) == 0
    assert main(common + ["--out", str(tmp_path / "b"), "--scheduler", address]) == 0
    a, b = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("a", "b"))
    assert b["config"].pop("scheduler") == address and a["config"].pop("scheduler") is None
    assert a["config"].pop("out") != b["config"].pop("out")
    assert a == b


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
