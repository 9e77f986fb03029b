"""Checkpoint files: a module's parameters in a ``.npz`` (a zip of ``.npy`` arrays), written and read safely.

Writing: the arrays go to a temporary file in the target's folder (``NAME.PID.HEX.tmp``), which is then
renamed over the target (``os.replace``), so a crash never leaves a half-written checkpoint. Temporary
files left by a save that was killed (their process is gone) are removed by the next save or load of
the same name; nothing else in the folder is touched.

Reading never unpickles and never trusts a size in the file: each member's name, its ``.npy`` header
(dtype and shape) and the uncompressed size the zip declares for it are checked against the module's
parameter *before* any data is read, so a zip bomb or a header claiming terabytes costs nothing. A
corrupted file (a flipped byte fails the zip's CRC check), an array of the wrong shape or dtype, and
NaN or infinite weights are each refused with one :class:`CheckpointError` line naming the file and,
where there is one, the parameter. Nothing is copied into the module until every array has passed.
"""
from __future__ import annotations

import os
import re
import secrets
import zipfile
import zlib

import numpy as np

__all__ = ["CheckpointError", "save", "load_arrays"]

_HEADER_ROOM = 1 << 16  # a .npy header is at most 64 KiB (numpy's own limit for version 1/2 headers)
_PICKLE_START = b"\x80"  # pickle protocols 2 and above


class CheckpointError(ValueError):
    """A checkpoint or state dict that does not fit the model (one line naming the parameter)."""


def _temp_name(path: str) -> str:
    return f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's live process, or we cannot tell: leave its file alone
    return True


def remove_stale_temps(path: str) -> None:
    """Delete ``path.PID.HEX.tmp`` files whose writing process has exited (a killed save)."""
    folder, base = os.path.split(os.path.abspath(path))
    pattern = re.compile(re.escape(base) + r"\.(\d+)\.[0-9a-f]{8}\.tmp")
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        m = pattern.fullmatch(name)
        if m and not _pid_alive(int(m.group(1))):
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass


def save(arrays: dict, path) -> None:
    """Write ``{name: array}`` to the ``.npz`` file ``path`` (exactly that name), atomically."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: cannot write {path}: the folder {folder} does not exist")
    remove_stale_temps(path)
    tmp = _temp_name(path)  # same folder, so os.replace is atomic
    try:
        with open(tmp, "xb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_arrays(path, expected: dict) -> dict:
    """Read the checkpoint ``path`` whose members must be exactly ``expected`` (``{name: array}``:
    the shapes and dtypes to match). Returns ``{name: array}``; raises :class:`CheckpointError`."""
    path = os.fspath(path)
    remove_stale_temps(path)
    try:
        is_zip = zipfile.is_zipfile(path)
        if not is_zip:
            with open(path, "rb") as f:
                head = f.read(6)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read the checkpoint ({e.strerror or e})") from None
    if not is_zip:
        if head.startswith(_PICKLE_START):
            raise CheckpointError(f"{path}: refusing to load pickled data; "
                                  "a checkpoint holds plain numeric arrays only")
        if head == b"\x93NUMPY":
            if _npy_holds_objects(path):
                raise CheckpointError(f"{path}: refusing to load pickled data (a .npy of objects); "
                                      "a checkpoint holds plain numeric arrays only")
            raise CheckpointError(f"{path}: not a .npz checkpoint (a single .npy array)")
        raise CheckpointError(f"{path}: not a .npz checkpoint (not a zip file)")
    try:
        with zipfile.ZipFile(path) as zf:
            members = _check_members(path, zf, expected)
            return {name: _read_member(path, zf, info, name, expected[name]) for name, info in members}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as e:
        raise CheckpointError(f"{path}: corrupted checkpoint ({type(e).__name__}: {e})") from None


def _npy_header(fh):
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh)
    raise ValueError(f"unsupported .npy version {version}")


def _npy_holds_objects(path) -> bool:
    try:
        with open(path, "rb") as f:
            return _npy_header(f)[2].hasobject
    except (OSError, ValueError):
        return False


def _check_members(path, zf, expected):
    members = []
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise CheckpointError(f"{path}: unexpected member {info.filename!r} (not a .npy array)")
        members.append((info.filename[:-4], info))
    names = [n for n, _ in members]
    for n in expected:
        if n not in names:
            raise CheckpointError(f"{path}: missing parameter {n!r}")
    for n in names:
        if n not in expected:
            raise CheckpointError(f"{path}: unexpected parameter {n!r} (not in the model)")
    if len(set(names)) != len(names):
        raise CheckpointError(f"{path}: a parameter appears twice in the file")
    for n, info in members:
        want = expected[n]
        limit = want.size * max(want.dtype.itemsize, 8) + _HEADER_ROOM
        if info.file_size > limit:
            raise CheckpointError(f"{path}: parameter {n!r} declares {info.file_size} bytes, more than "
                                  f"an array of shape {want.shape} can take; refusing to read it")
    return members


def _read_member(path, zf, info, name, want):
    with zf.open(info) as fh:
        shape, fortran, dtype = _npy_header(fh)
        if dtype.hasobject:
            raise CheckpointError(f"{path}: refusing to load pickled (object) array {name!r}; "
                                  "a checkpoint holds plain numeric arrays only")
        if dtype.kind not in "fiu":
            raise CheckpointError(f"{path}: parameter {name!r} has non-numeric dtype {dtype}")
        if tuple(shape) != want.shape:
            raise CheckpointError(f"{path}: parameter {name!r} has shape {tuple(shape)}, expected {want.shape}")
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        raw = fh.read()  # bounded by the declared size checked above; reading to the end checks the CRC
    if len(raw) != nbytes:
        raise CheckpointError(f"{path}: parameter {name!r} is truncated ({len(raw)} of {nbytes} bytes)")
    a = np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise CheckpointError(f"{path}: parameter {name!r} holds NaN or infinite values")
    return a
