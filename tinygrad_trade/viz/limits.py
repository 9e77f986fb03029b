"""Run a renderer with a bound on its time and memory: `bounded`.

Graphviz's layout time grows steeply with the graph (a product of 100 factors sharing one input
takes minutes), and a renderer that runs out of memory takes the whole process with it. The CLI
therefore renders in a forked child process with an address-space limit and a deadline; the
parent kills the child when the deadline passes. Any failure, in the child or of the child,
becomes one :class:`RenderLimitError` line. Where ``fork`` is not available the call runs in
this process, unbounded.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import traceback

__all__ = ["bounded", "RenderLimitError", "RENDER_SECONDS", "RENDER_MEMORY_MB", "MAX_DRAW_NODES"]

RENDER_SECONDS = 60.0      # default deadline of one picture
RENDER_MEMORY_MB = 2048    # default limit of the child's data segment
MAX_DRAW_NODES = 2000      # most records one picture may show (layouts past this take far too long)


class RenderLimitError(RuntimeError):
    """The renderer ran out of time or memory, or failed (one-line message)."""


def _child(conn, fn, args, kwargs, memory_mb):
    try:
        try:
            import resource
            limit = int(memory_mb) * 2**20
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        except (ImportError, ValueError, OSError):
            pass
        import io
        import sys
        sys.stderr = io.StringIO()   # the renderer's notes go back to the parent's stderr
        result = fn(*args, **kwargs)
        conn.send(("ok", (result, sys.stderr.getvalue())))
    except MemoryError:
        conn.send(("memory", None))
    except BaseException as exc:   # noqa: BLE001 - reported to the parent as one line
        lines = str(exc).strip().splitlines()
        conn.send(("error", lines[0] if lines else type(exc).__name__))
        if os.environ.get("TINYGRAD_TRADE_DEBUG"):
            traceback.print_exc()
    finally:
        conn.close()


def bounded(fn, *args, seconds: float | None = None, memory_mb: int | None = None,
            what: str = "rendering", **kwargs):
    """``fn(*args, **kwargs)`` in a forked child limited to ``seconds`` and ``memory_mb``; returns its
    result (which must pickle). Raises :class:`RenderLimitError` with one line on a timeout, on
    running out of memory, on a crash of the child or on any exception ``fn`` raises.
    ``None``: the module's :data:`RENDER_SECONDS` / :data:`RENDER_MEMORY_MB`."""
    seconds = RENDER_SECONDS if seconds is None else seconds
    memory_mb = RENDER_MEMORY_MB if memory_mb is None else memory_mb
    if "fork" not in multiprocessing.get_all_start_methods():
        return fn(*args, **kwargs)
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, kwargs, memory_mb), daemon=True)
    proc.start()
    send.close()
    try:
        ready = recv.poll(seconds)
        message = recv.recv() if ready else None
    except EOFError:
        message = None
        ready = True
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        recv.close()
    if not ready:
        raise RenderLimitError(f"{what} took longer than {seconds:g} s and was stopped; "
                               f"draw fewer nodes (--max-nodes) or a smaller expression")
    if message is None:
        raise RenderLimitError(f"{what} failed: the renderer stopped (exit code {proc.exitcode}), "
                               f"probably out of memory (limit {memory_mb} MB); draw fewer nodes (--max-nodes)")
    kind, value = message
    if kind == "memory":
        raise RenderLimitError(f"{what} ran out of memory (limit {memory_mb} MB); draw fewer nodes (--max-nodes)")
    if kind == "error":
        raise RenderLimitError(f"{what} failed: {value}")
    result, notes = value
    if notes:
        sys.stderr.write(notes)
    return result
