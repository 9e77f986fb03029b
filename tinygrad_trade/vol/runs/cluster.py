"""Where the walk-forward tasks run: this process, a local process pool, or a Dask cluster.

    from tinygrad_trade.vol.cluster import open_executor
    with open_executor("local", workers=2) as ex:          # a LocalCluster started and closed here
        wf = walk_forward(ds, ["har", "gjr"], start=2000, executor=ex)
    with open_executor("tcp://10.0.0.5:8786") as ex:       # an existing `dask scheduler`
        ...

Every runner is a ``concurrent.futures.Executor`` (Dask's is ``Client.get_executor()``), the one seam
the walk-forward knows; results never depend on it (see :mod:`.walkforward`). Dask
(``dask.distributed``, the ``[dask]`` extra) is imported only when a scheduler is asked for.

Failure modes, each one line: a scheduler that cannot be reached within ``timeout`` seconds
(``ValueError``, so the CLI exits 2, never hangs); a task that raises on a worker (its
``WalkForwardError`` line, naming asset, model and block); a worker that dies (Dask reruns its tasks
elsewhere, up to ``distributed.scheduler.allowed-failures`` times, then the run stops with one line);
a scheduler that goes away mid-run (:meth:`DaskExecutor.check` raises instead of waiting forever).

Workers print nothing: a local cluster's logs are silenced (a task's error comes back here instead), and the CLI turns off the
nets' own epoch bars whenever the work runs elsewhere, leaving one progress bar in the driver.
"""
from __future__ import annotations

import logging
import re
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Iterator, Optional

__all__ = ["open_executor", "check_scheduler", "DaskExecutor", "CONNECT_TIMEOUT", "NO_WORKERS_TIMEOUT", "dask_client"]

CONNECT_TIMEOUT = 10.0    # seconds to reach a scheduler before giving up with one line
NO_WORKERS_TIMEOUT = 120.0   # seconds a run waits with no worker at all before giving up with one line
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|ucx)://[^\s/:]+(:\d+)?/?$")


def check_scheduler(scheduler: Optional[str]) -> Optional[str]:
    """``None``, ``"local"`` or a scheduler address ``tcp://host:port``; a one-line ValueError otherwise."""
    if scheduler is None:
        return None
    text = str(scheduler).strip()
    if text == "local" or _ADDRESS.match(text):
        return text
    raise ValueError(f"--scheduler must be 'local' or a Dask scheduler address like tcp://host:8786, got {scheduler!r}")


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ValueError("--scheduler needs Dask: pip install 'tinygrad_trade[dask]'") from None
    return distributed


class DaskExecutor:
    """``Client.get_executor()`` with a health check: the driver's wait loop calls :meth:`check`.

    Behaves as the ``concurrent.futures.Executor`` it wraps (``submit``, ``map``, ``shutdown``);
    ``client`` is the ``dask.distributed.Client`` (for ``scatter``).
    """

    def __init__(self, client):
        self.client = client
        self._no_workers_since = None   # time.monotonic() when check() first saw no worker
        # pure=False: no hashing of the (large) arguments for a task key; retries=0: a task that
        # raises is a deterministic model error, not worth rerunning (dead workers are Dask's job)
        self._executor = client.get_executor(pure=False, retries=0)

    def submit(self, fn, *args, **kwargs):
        return self._executor.submit(fn, *args, **kwargs)

    def map(self, fn, *iterables, **kwargs):
        return self._executor.map(fn, *iterables, **kwargs)

    def shutdown(self, wait: bool = True, **_):
        self._executor.shutdown(wait=wait)

    def scatter(self, data, copies: int = 2):
        """Send ``data`` to the cluster once; pass the returned future(s) as task arguments.

        A dict or list is scattered item by item in one round trip (``{name: future}`` / ``[future]``).
        Each item is kept on ``copies`` workers (when there are that many): scattered data has no recipe
        to recompute it, so a single copy would die with its worker and take the tasks that need it along.
        """
        # a list, never a dict: Dask would key a dict's items by its keys, shared by every run (a new
        # scatter could meet an old run's release of the same key); a list gets fresh random keys
        items = list(data.values()) if isinstance(data, dict) else list(data) if isinstance(data, (list, tuple)) \
            else [data]
        futures = self.client.scatter(items, broadcast=False, hash=False)
        n = min(int(copies), len(self.client.scheduler_info().get("workers", {})))
        if n > 1:
            self.client.replicate(futures, n=n)
        if isinstance(data, dict):
            return dict(zip(data, futures))
        return futures if isinstance(data, (list, tuple)) else futures[0]

    def check(self) -> None:
        """Raise a one-line ``RuntimeError`` when the client lost its scheduler for good, or when the scheduler
        has had no worker for ``NO_WORKERS_TIMEOUT`` seconds (every worker died and none came back: the run
        would otherwise wait forever)."""
        status = getattr(self.client, "status", "running")
        if status in ("closed", "closing", "failed"):
            raise RuntimeError(f"lost the Dask scheduler {self.client.scheduler.address} (client {status})")
        try:
            workers = len(self.client.scheduler_info().get("workers", {}))
        except Exception:   # noqa: BLE001 - the scheduler's status is the first check's business
            return
        now = time.monotonic()
        if workers:
            self._no_workers_since = None
        elif self._no_workers_since is None:
            self._no_workers_since = now
        elif now - self._no_workers_since > NO_WORKERS_TIMEOUT:
            raise RuntimeError(f"the Dask scheduler {self.client.scheduler.address} has had no worker for "
                               f"{NO_WORKERS_TIMEOUT:g} s; start workers (dask worker ADDRESS) and run again")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown(wait=False)
        return False


@contextmanager
def dask_client(scheduler: str, workers: int = 1, timeout: Optional[float] = None) -> Iterator:
    """A ``dask.distributed.Client`` on ``"local"`` (a LocalCluster of ``workers`` one-thread
    processes, closed on exit) or on an existing scheduler address; one-line ValueError if the
    scheduler cannot be reached within ``timeout`` seconds (default :data:`CONNECT_TIMEOUT`)."""
    scheduler = check_scheduler(scheduler)
    timeout = CONNECT_TIMEOUT if timeout is None else float(timeout)
    distributed = _distributed()
    cluster = None
    try:
        if scheduler == "local":
            # no dashboard; the scheduler's small HTTP server on a free port (its default, 8787, may be taken)
            cluster = distributed.LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                                               dashboard_address=None, silence_logs=logging.CRITICAL,
                                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
            address = cluster
        else:
            address = scheduler
        try:
            client = distributed.Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"--scheduler {scheduler}: cannot reach the Dask scheduler within {timeout:g} s "
                             f"({' '.join(str(exc).split()) or type(exc).__name__})") from None
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


@contextmanager
def open_executor(scheduler: Optional[str] = None, workers: int = 1,
                  timeout: Optional[float] = None) -> Iterator:
    """The executor for ``--scheduler``/``--workers``: ``None`` (run in this process) when there is
    no scheduler and one worker; a ``ProcessPoolExecutor(workers)`` without a scheduler; a
    :class:`DaskExecutor` on a local or remote Dask cluster otherwise. Closed on exit."""
    scheduler = check_scheduler(scheduler)
    if scheduler is None:
        if int(workers) <= 1:
            yield None
            return
        with ProcessPoolExecutor(int(workers)) as pool:
            yield pool
        return
    with dask_client(scheduler, workers, timeout) as client:
        ex = DaskExecutor(client)
        try:
            yield ex
        finally:
            ex.shutdown(wait=False)
