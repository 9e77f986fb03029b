"""Output folders that never lose the user's files: every folder the tool writes goes through here.

    from tinygrad_trade.vol.outdir import output_dir, OutputError

    with output_dir("report/", force=args.force, inputs=[args.csv]) as out:   # checks + lock, at once
        ...long work...
        write_metrics(metrics, out.path("metrics.json"))   # a path inside the staging folder
        out.dir                                             # the staging folder itself (any file in it counts)
    # normal exit: the new files are moved into report/; an exception: report/ is left exactly as it was

What it guarantees, and how:

* **Staging.** Files are written into a fresh hidden folder beside the target
  (``.NAME.tinygrad-trade-tmp-XXXX``), then moved into place with ``os.replace`` when the ``with``
  block ends without an exception. A failure part-way (disk full, a bug, Ctrl-C) leaves the previous
  report whole; an ``OSError`` becomes an :class:`OutputError` naming the file being written.
* **Manifest.** The target holds ``.tinygrad-trade-manifest.json``, the list of files the tool wrote.
  A rerun replaces those files and removes the ones it no longer writes (a plot of an earlier run);
  it never touches any other file.
* **Foreign files.** A target that exists and holds files the manifest does not list is refused
  (one line) unless ``force=True`` (the CLI's ``--force``); even then only the tool's own file names
  are written, nothing else is removed, and a file of the user's that has one of those names (their own
  ``report.md``) is first moved aside to ``report.md.~1~`` (then ``~2~`` ...), with a note on stderr.
* **Inputs.** An input file (``inputs=``) inside the target is refused: the run could replace it.
* **Lock.** ``.NAME.tinygrad-trade.lock`` beside the target is held (``flock``) from the checks to
  the end; a second concurrent run into the same folder fails at once with one line.
* **Nothing left behind.** The target is created only when the results are moved in, so a rejected
  or failed run leaves no empty folder (parent folders it had to create are removed again). Staging
  folders of killed runs are removed by the next run into the same target (it holds the lock).

Every refusal is an :class:`OutputError` (a ``ValueError``): the CLI prints it as one line, exit 2.
:func:`check_inputs` alone refuses input files inside a folder (for callers that check early).
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import logging
import tempfile
from contextlib import contextmanager
from typing import Iterable, Optional

from ...log import say

try:
    import fcntl
except ImportError:   # Windows: no advisory locks (the lock file still marks a run in progress)
    fcntl = None

__all__ = ["output_dir", "OutputDir", "OutputError", "check_inputs", "MANIFEST", "TOOL"]

TOOL = "tinygrad-trade"
MANIFEST = ".tinygrad-trade-manifest.json"
_TMP = ".tinygrad-trade-tmp-"
_LOCK = ".tinygrad-trade.lock"


class OutputError(ValueError):
    """The output folder cannot be used, or writing into it failed (one-line message)."""


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_inputs(target, inputs: Iterable, option: str = "--out") -> None:
    """Refuse any input file that lies inside the output folder ``target`` (it could be replaced)."""
    target = os.fspath(target)
    for item in inputs or ():
        if item is None:
            continue
        item = os.fspath(item)
        if _inside(item, target):
            raise OutputError(f"{option} {target}: the input file {item} is inside it and could be "
                              f"overwritten; write the results to another folder")


def read_manifest(target: str) -> list:
    """File names (relative, '/'-separated) the tool wrote into ``target`` last time ([] if none)."""
    try:
        with open(os.path.join(target, MANIFEST), encoding="utf-8") as fh:
            data = json.load(fh)
        files = data.get("files", []) if isinstance(data, dict) else []
        return [f for f in files if isinstance(f, str) and f and not os.path.isabs(f) and ".." not in f.split("/")]
    except (OSError, ValueError):
        return []


def _listing(folder: str) -> list:
    """Every file below ``folder`` as a relative '/'-separated name (folders count when empty)."""
    out = []
    for root, dirs, files in os.walk(folder):
        rel = os.path.relpath(root, folder)
        rel = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        out += [rel + f for f in files]
        if not dirs and not files and rel:
            out.append(rel.rstrip("/"))
    return sorted(out)


class _Lock:
    """An exclusive ``flock`` on a lock file; the file is removed on release."""

    def __init__(self, path: str, what: str):
        self.path, self.what, self.fd = path, what, None

    def acquire(self):
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if fcntl is None:
                self.fd = fd
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise OutputError(f"{self.what}: another {TOOL} run is writing to this folder; "
                                  f"wait for it to finish or choose another folder") from None
            try:   # the holder before us may have removed the file while we waited: lock the current one
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return
            os.close(fd)

    def release(self):
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


class OutputDir:
    """A target folder being written through a staging folder (see the module docstring).

    ``target``: the folder the results end up in; ``force``: allow a folder holding other files;
    ``inputs``: input files that must not lie inside it; ``option``: the name used in messages.
    :meth:`open` runs every check and takes the lock; :meth:`commit` moves the files into place;
    :meth:`abort` removes the staging folder. Use :func:`output_dir` rather than these directly.
    """

    def __init__(self, target, force: bool = False, inputs: Iterable = (), option: str = "--out"):
        self.target = os.path.normpath(os.fspath(target))
        self.force, self.inputs, self.option = bool(force), list(inputs or ()), option
        self.what = f"{option} {os.fspath(target)}"
        self.dir: Optional[str] = None          # the staging folder (while open)
        self._lock: Optional[_Lock] = None
        self._made: list = []                   # parent folders created by open()
        self.written: list = []                 # after commit: the files moved into place
        self.moved_aside: list = []             # after commit: (the user's file, where it was kept)

    # --- before the work ---------------------------------------------------------------------
    def open(self) -> "OutputDir":
        t = self.target
        if os.path.exists(t) and not os.path.isdir(t):
            raise OutputError(f"{self.what}: exists and is not a directory")
        check_inputs(t, self.inputs, self.option)
        parent = os.path.dirname(os.path.abspath(t))
        self._make_parents(parent)
        if not os.access(parent, os.W_OK) and os.path.isdir(t) and os.access(t, os.W_OK):
            parent = os.path.abspath(t)   # e.g. --out . in a read-only parent: stage inside the target
        try:
            name = os.path.basename(os.path.abspath(t))
            self._lock = _Lock(os.path.join(parent, f".{name}{_LOCK}"), self.what)
            try:
                self._lock.acquire()
            except PermissionError:
                raise OutputError(f"{self.what}: cannot write in {parent} (permission denied)") from None
            except OSError as exc:     # /proc, a read-only mount ...: one line, not the raw error
                raise OutputError(f"{self.what}: cannot write in {parent} ({exc.strerror or exc}); "
                                  f"choose another folder") from None
            self._clean_orphans(parent, name)
            if os.path.isdir(t):
                if not os.access(t, os.W_OK | os.X_OK):
                    raise OutputError(f"{self.what}: the folder is not writable")
                self._check_foreign()
            try:
                self.dir = tempfile.mkdtemp(prefix=f".{name}{_TMP}", dir=parent)
            except OSError as exc:
                raise OutputError(f"{self.what}: cannot write in {parent} ({exc.strerror or exc})") from None
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.dir, 0o777 & ~umask)   # mkdtemp makes it private; the target gets the usual mode
        except BaseException:
            self._release()
            raise
        return self

    def _make_parents(self, parent: str) -> None:
        missing = []
        p = parent
        while p and not os.path.exists(p):
            missing.append(p)
            p = os.path.dirname(p)
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.what}: cannot create the folder ({exc.strerror or exc})") from None
        self._made = missing   # deepest first

    def _clean_orphans(self, parent: str, name: str) -> None:
        prefix = f".{name}{_TMP}"
        for entry in os.listdir(parent):
            if entry.startswith(prefix):
                shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)

    def _check_foreign(self) -> None:
        ours = set(read_manifest(self.target)) | {MANIFEST}
        foreign = [f for f in _listing(self.target) if f not in ours and _TMP not in f and not f.endswith(_LOCK)]
        if foreign and not self.force:
            n = len(foreign)
            raise OutputError(f"{self.what}: the folder holds {n} file{'s' if n > 1 else ''} {TOOL} did not "
                              f"write (e.g. {foreign[0]!r}); choose a new folder, or add --force to write "
                              f"there anyway (a file of yours with one of the report's names is kept as NAME.~1~)")

    # --- during the work ---------------------------------------------------------------------
    def path(self, name: str) -> str:
        """Where to write the output file ``name`` (a path inside the staging folder)."""
        if self.dir is None:
            raise RuntimeError("the output folder is not open")
        p = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def final(self, path: str) -> str:
        """The path a staging path will have once committed (for messages and returned paths)."""
        rel = os.path.relpath(path, self.dir) if self.dir and _inside(path, self.dir) else path
        return os.path.join(self.target, rel)

    # --- at the end --------------------------------------------------------------------------
    def commit(self) -> list:
        """Move the staged files into the target, remove the tool's stale files, write the manifest."""
        t = self.target
        new = [f for f in _listing(self.dir) if f != MANIFEST]
        old = read_manifest(t) if os.path.isdir(t) else []
        try:
            with open(os.path.join(self.dir, MANIFEST), "w", encoding="utf-8") as fh:
                json.dump({"tool": TOOL, "files": new}, fh, indent=1)
                fh.write("\n")
        except OSError as exc:
            raise self._error(exc, MANIFEST) from None
        try:
            if not os.path.exists(t):
                os.rename(self.dir, t)     # a new folder: one atomic move
                self.dir = None
            else:
                for f in new + [MANIFEST]:
                    dst = os.path.join(t, f)
                    if os.path.isdir(dst) and not os.path.isdir(os.path.join(self.dir, f)):
                        raise OutputError(f"{self.what}: {f} is a folder there; remove it or choose another folder")
                    if f != MANIFEST and f not in old and (os.path.isfile(dst) or os.path.islink(dst)):
                        self.moved_aside.append((dst, _move_aside(dst)))   # the user's file: kept, never lost
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    os.replace(os.path.join(self.dir, f), dst)
                for f in old:
                    if f not in new:
                        p = os.path.join(t, f)
                        if os.path.isfile(p) or os.path.islink(p):
                            os.remove(p)   # written by an earlier run and not by this one: it would mislead
        except OSError as exc:
            raise self._error(exc, None) from None
        self.written = [os.path.join(t, f) for f in new]
        for was, now in self.moved_aside:
            say(f"note: {was} was not written by {TOOL}; kept as {os.path.basename(now)}", logging.WARNING)
        self._made = []
        self.abort()
        return self.written

    def _error(self, exc: OSError, name: Optional[str]) -> OutputError:
        """One line naming the file that could not be written."""
        if name is None and exc.filename:
            name = os.fspath(exc.filename)
            if self.dir and _inside(name, self.dir):
                name = os.path.relpath(name, self.dir)
        if name is None and self.dir and os.path.isdir(self.dir):
            files = _listing(self.dir)   # the newest staged file is the one being written
            if files:
                name = max(files, key=lambda f: os.path.getmtime(os.path.join(self.dir, f)))
        where = os.path.join(self.target, name) if name else self.target
        why = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        return OutputError(f"{self.what}: cannot write {where} ({why}); "
                           f"the folder's previous contents are unchanged")

    def abort(self) -> None:
        """Remove the staging folder (and parent folders :meth:`open` created); release the lock."""
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        self._release()
        for p in self._made:
            try:
                os.rmdir(p)
            except OSError:
                break
        self._made = []

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


def _move_aside(path: str) -> str:
    """Rename ``path`` to the first free ``path.~N~`` (N = 1, 2, ...), as ``cp --backup=numbered`` does; the new
    path."""
    n = 1
    while os.path.lexists(f"{path}.~{n}~"):
        n += 1
    os.rename(path, f"{path}.~{n}~")
    return f"{path}.~{n}~"


def _write_error(exc: OSError, staging: Optional[str]) -> bool:
    """Did writing the results fail (rather than, say, reading an input)?"""
    if exc.errno in _WRITE_ERRNOS:
        return True
    return bool(staging and exc.filename and _inside(os.fspath(exc.filename), staging))


@contextmanager
def output_dir(target, force: bool = False, inputs: Iterable = (), option: str = "--out"):
    """Open ``target`` for writing (checks and lock now), yield the :class:`OutputDir`, commit on
    success; on any exception the target is left as it was (an ``OSError`` becomes an
    :class:`OutputError` naming the file)."""
    out = OutputDir(target, force=force, inputs=inputs, option=option).open()
    try:
        yield out
    except OSError as exc:
        err = out._error(exc, None) if _write_error(exc, out.dir) else None
        out.abort()
        if err is None:
            raise
        raise err from None
    except BaseException:
        out.abort()
        raise
    try:
        out.commit()
    finally:
        out.abort()
