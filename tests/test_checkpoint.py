"""Checkpoints from a hostile or careless world: zip bombs, lying headers, flipped bytes, NaN weights,
killed saves, missing folders. Each is refused with one CheckpointError line (or cleaned up), and the
module is left as it was."""
import io
import os
import tracemalloc
import zipfile

import numpy as np
import pytest

from tinygrad_trade.nn import MLP, CheckpointError


def _one_line(e) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def _unchanged(net, before):
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def _npy(array_header_shape, dtype="<f8", payload=b""):
    """A .npy member: a version 1.0 header claiming ``array_header_shape``, then ``payload``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": array_header_shape})
    return buf.getvalue() + payload


def _npz(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, blob in members.items():
            zf.writestr(name + ".npy", blob)


def _good_members(net, **override):
    out = {}
    for name, a in net.state_dict().items():
        buf = io.BytesIO()
        np.save(buf, a)
        out[name] = buf.getvalue()
    out.update(override)
    return out


def test_a_small_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    net = MLP([3, 2], rng=0)
    before = net.state_dict()
    bomb = _npy((4000, 1000), payload=bytes(32_000_000))  # 32 MB of zeros, a few tens of kB deflated
    path = tmp_path / "bomb.npz"
    _npz(path, _good_members(net, **{"layers.0.weight": bomb}), zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as e:
            net.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, f"allocated {peak} bytes for a 3x2 weight"
    msg = _one_line(e)
    assert str(path) in msg and "layers.0.weight" in msg and "32000" in msg
    _unchanged(net, before)


def test_a_header_claiming_800_gb_is_refused_without_allocating(tmp_path):
    net = MLP([3, 2], rng=0)
    before = net.state_dict()
    path = tmp_path / "liar.npz"
    _npz(path, _good_members(net, **{"layers.0.weight": _npy((100_000, 1_000_000), payload=bytes(48))}))
    with pytest.raises(CheckpointError) as e:
        net.load(path)
    msg = _one_line(e)
    assert "layers.0.weight" in msg and "(100000, 1000000)" in msg and "(3, 2)" in msg
    _unchanged(net, before)


def test_every_flipped_byte_is_refused_or_harmless(tmp_path):
    net = MLP([2, 2], rng=0)
    path = tmp_path / "model.npz"
    net.save(path)
    blob = bytearray(path.read_bytes())
    before = net.state_dict()
    refused = 0
    for i in range(len(blob)):
        bad = bytearray(blob)
        bad[i] ^= 0x10
        path.write_bytes(bytes(bad))
        other = MLP([2, 2], rng=1)
        try:
            other.load(path)
        except CheckpointError as e:
            assert "\n" not in str(e) and str(path) in str(e)
            refused += 1
            continue
        _unchanged(other, before)  # a byte the data does not depend on (a timestamp, say)
    assert refused > len(blob) // 2  # most of the file is data, headers and checksums


def test_nan_weights_are_refused(tmp_path):
    net = MLP([3, 2], rng=0)
    before = net.state_dict()
    state = net.state_dict()
    state["layers.0.bias"] = np.array([0.0, np.nan])
    np.savez(tmp_path / "nan.npz", **state)
    with pytest.raises(CheckpointError) as e:
        net.load(tmp_path / "nan.npz")
    msg = _one_line(e)
    assert "layers.0.bias" in msg and "NaN" in msg
    state["layers.0.bias"] = np.array([np.inf, 0.0])
    np.savez(tmp_path / "inf.npz", **state)
    with pytest.raises(CheckpointError, match="infinite"):
        net.load(tmp_path / "inf.npz")
    _unchanged(net, before)


def _dead_pid() -> int:
    pid = 4_194_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1


@pytest.mark.parametrize("then", ["save", "load"])
def test_temp_files_of_killed_saves_are_removed_by_the_next_save_or_load(tmp_path, then):
    net = MLP([2, 2], rng=0)
    path = tmp_path / "model.npz"
    net.save(path)
    orphan = tmp_path / f"model.npz.{_dead_pid()}.0badc0de.tmp"  # what a save killed mid-write leaves
    orphan.write_bytes(b"half a checkpoint")
    mine = tmp_path / f"model.npz.{os.getpid()}.12345678.tmp"  # a live process's: maybe still writing
    mine.write_bytes(b"in progress")
    users = [tmp_path / "model.npz.backup.tmp", tmp_path / "other.npz.1.0badc0de.tmp", tmp_path / "notes.txt"]
    for u in users:
        u.write_bytes(b"the user's")
    getattr(net, then)(path)
    assert not orphan.exists()
    assert mine.exists() and all(u.read_bytes() == b"the user's" for u in users)


def test_saving_into_a_missing_folder_names_the_users_path(tmp_path):
    net = MLP([2, 2], rng=0)
    target = tmp_path / "no" / "such" / "model.npz"
    with pytest.raises(FileNotFoundError) as e:
        net.save(target)
    msg = _one_line(e)
    assert str(target) in msg and ".tmp" not in msg
    assert not (tmp_path / "no").exists()


def test_a_save_really_killed_midway_leaves_nothing_after_the_next_save(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    path = tmp_path / "model.npz"
    script = (
        "import time, numpy as np\n"
        "from tinygrad_trade.nn import MLP\n"
        "def slow(f, **arrays):\n"
        "    f.write(b'half a checkpoint'); f.flush(); time.sleep(60)\n"
        "np.savez = slow\n"
        f"MLP([2, 2], rng=0).save({str(path)!r})\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 60
        while not any(n.endswith(".tmp") for n in os.listdir(tmp_path)):
            assert proc.poll() is None and time.monotonic() < deadline, "the save never started"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]  # the killed save's leftover
    MLP([2, 2], rng=1).save(path)
    assert os.listdir(tmp_path) == ["model.npz"]
