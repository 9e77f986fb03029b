"""A lean process for fitting small models: single-threaded BLAS and a glibc heap that is not trimmed.

Small-matrix training is dominated by two process-level effects: multi-threaded OpenBLAS spinning on
matrices of a few thousand rows, and glibc returning freed heap memory to the system after every step,
so that the next step page-faults it back. :func:`lean_runtime` fixes both: OpenBLAS runs one thread
while a model fits or predicts (restored afterwards), and, once per process, glibc keeps up to 256 MB of
freed memory (``M_TRIM_THRESHOLD``) and serves blocks up to 32 MB from the heap (``M_MMAP_THRESHOLD``).
Neither changes any result. The nets (``lean=False`` leaves the process alone) and the pooled model use
it; the measurements behind it are in docs/model-card.md.
"""
from __future__ import annotations

import ctypes
import sys
import threading
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

__all__ = ["lean_runtime", "one_blas_thread", "blas_pinned"]

_MALLOC_TUNED = False


def _tune_malloc() -> None:
    global _MALLOC_TUNED
    if _MALLOC_TUNED or not sys.platform.startswith("linux"):
        return
    _MALLOC_TUNED = True
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 << 20)      # M_MMAP_THRESHOLD
        libc.mallopt(-1, 256 << 20)     # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


@contextmanager
def lean_runtime(enabled: bool = True):
    """Single-threaded BLAS inside the block (restored after, via threadpoolctl) and, once, glibc heap tuning.

    Inside a walk-forward task (:func:`one_blas_thread`) BLAS is pinned already: nothing more is done
    (threadpoolctl scans the process's libraries on every call, ~2 ms, more than many a forecast costs)."""
    if not enabled:
        yield
        return
    _tune_malloc()
    if blas_pinned():
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


_PIN_LOCK = threading.Lock()
_PIN = {"depth": 0, "limits": None}


@contextmanager
def one_blas_thread():
    """BLAS on one thread inside the block (threadpoolctl), restored when the last concurrent user
    leaves: threads of one process share BLAS's setting, so a plain per-task limit would be undone
    under another thread's running task. threadpoolctl limits only libraries already loaded, so
    SciPy's own BLAS (loaded lazily by the first fit that needs it) is loaded first."""
    import scipy.linalg  # noqa: F401  (loads the BLAS SciPy links, which may not be NumPy's)
    with _PIN_LOCK:
        if _PIN["depth"] == 0:
            _PIN["limits"] = threadpool_limits(limits=1, user_api="blas")
        _PIN["depth"] += 1
    try:
        yield
    finally:
        with _PIN_LOCK:
            _PIN["depth"] -= 1
            if _PIN["depth"] == 0:
                _PIN["limits"].restore_original_limits()
                _PIN["limits"] = None


def blas_pinned() -> bool:
    """True inside :func:`one_blas_thread` (in any thread): BLAS already runs one thread, nothing to pin."""
    return _PIN["depth"] > 0
