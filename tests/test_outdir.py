"""Output folders never lose the user's files (vol.outdir, and through it forecast/demo --out)."""
import errno
import json
import os

import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.vol.report import writer as vwriter
from tinygrad_trade.vol.outdir import MANIFEST, OutputError, output_dir

FAST = ["--start", "2017-01-01", "--refit-every", "63", "--models", "ewma,har", "--quiet"]


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _write(out, name, text):
    with open(out.path(name), "w") as fh:
        fh.write(text)


def _leftovers(folder):
    return sorted(e for e in os.listdir(folder) if "tinygrad-trade" in e)


# ------------------------------------------------------------------------------ the module
def test_files_appear_only_at_the_end_with_a_manifest(tmp_path):
    target = tmp_path / "a" / "b"
    with output_dir(target) as out:
        _write(out, "r.md", "x")
        assert not target.exists()            # staged beside the target, not in it
    assert (target / "r.md").read_text() == "x"
    assert json.loads((target / MANIFEST).read_text())["files"] == ["r.md"]
    assert _leftovers(tmp_path / "a") == []    # no staging folder, no lock file


def test_rerun_touches_only_its_own_files(tmp_path):
    with output_dir(tmp_path / "o") as out:
        _write(out, "r.md", "1")
        _write(out, "old.png", "1")
    with output_dir(tmp_path / "o", force=True) as out:   # force: the user's file below is allowed
        pass
    (tmp_path / "o" / "mine.png").write_text("user")
    with output_dir(tmp_path / "o", force=True) as out:
        _write(out, "r.md", "2")
    assert (tmp_path / "o" / "mine.png").read_text() == "user"
    assert (tmp_path / "o" / "r.md").read_text() == "2"
    assert not (tmp_path / "o" / "old.png").exists()    # the tool's stale file is removed


def test_foreign_files_need_force_and_nothing_is_created(tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="notes.txt.*--force"):
        with output_dir(tmp_path / "o"):
            pass
    assert sorted(os.listdir(tmp_path / "o")) == ["notes.txt"]
    assert _leftovers(tmp_path) == []


def test_failure_leaves_previous_contents_and_no_new_folder(tmp_path):
    with pytest.raises(RuntimeError):
        with output_dir(tmp_path / "new" / "deeper") as out:
            _write(out, "r.md", "x")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []          # neither the folder nor its missing parent is left
    with output_dir(tmp_path / "o") as out:
        _write(out, "r.md", "old")
    with pytest.raises(OutputError, match=r"r\.md \(no space left on device\).*unchanged"):
        with output_dir(tmp_path / "o") as out:
            with open(out.path("r.md"), "w") as fh:
                fh.write("half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert (tmp_path / "o" / "r.md").read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_input_inside_out_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "prices.csv").write_text("x")
    with pytest.raises(OutputError, match="input file .*prices.csv"):
        with output_dir(tmp_path / "d", force=True, inputs=[tmp_path / "d" / "prices.csv"]):
            pass


def test_second_concurrent_run_fails_and_orphans_are_cleaned(tmp_path):
    with output_dir(tmp_path / "o") as out:
        _write(out, "r.md", "1")
        with pytest.raises(OutputError, match="another tinygrad-trade run"):
            with output_dir(tmp_path / "o"):
                pass
    orphan = tmp_path / ".o.tinygrad-trade-tmp-killed"   # what a killed run leaves
    orphan.mkdir()
    (orphan / "r.md").write_text("half")
    with output_dir(tmp_path / "o") as out:
        _write(out, "r.md", "2")
    assert _leftovers(tmp_path) == []


# ------------------------------------------------------------------------------ through the CLI
def test_forecast_refuses_a_folder_with_user_files(tmp_path, capsys):
    d = tmp_path / "d"
    d.mkdir()
    (d / "training_loss.png").write_bytes(b"user's picture")
    (d / "report.md").write_text("user's notes")
    rc, _, err = _run(capsys, "forecast", "--out", str(d), *FAST)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "--force" in err
    assert (d / "report.md").read_text() == "user's notes"
    rc, _, err = _run(capsys, "forecast", "--out", str(d), *FAST, "--force")
    assert rc == 0, err
    assert (d / "training_loss.png").read_bytes() == b"user's picture"   # not deleted, not in the manifest
    assert "training_loss.png" not in json.loads((d / MANIFEST).read_text())["files"]


def test_forecast_input_inside_out_and_rejected_run(tmp_path, capsys):
    d = tmp_path / "d"
    d.mkdir()
    (d / "forecasts.csv").write_text("Date,Open,High,Low,Close\n")
    rc, _, err = _run(capsys, "forecast", "--csv", str(d / "forecasts.csv"), "--out", str(d), "--force", *FAST)
    assert rc == 2 and "input file" in err
    assert (d / "forecasts.csv").read_text() == "Date,Open,High,Low,Close\n"
    rc, _, err = _run(capsys, "forecast", "--csv", str(d / "forecasts.csv"), "--out", str(tmp_path / "new"), *FAST)
    assert rc == 2 and not (tmp_path / "new").exists()


def test_disk_full_on_rerun_keeps_the_previous_report(tmp_path, capsys, monkeypatch):
    d = tmp_path / "d"
    assert _run(capsys, "forecast", "--out", str(d), *FAST)[0] == 0
    before = {p.name: p.read_bytes() for p in d.iterdir()}

    def full(walk, path):
        with open(path, "w") as fh:
            fh.write("date,")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(vwriter, "write_forecasts", full)
    rc, _, err = _run(capsys, "forecast", "--out", str(d), *FAST, "--seed", "3")
    assert rc == 2 and "forecasts.csv" in err and "no space" in err and len(err.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
    assert _leftovers(tmp_path) == []


def test_force_moves_the_users_file_aside_numbered(tmp_path, caplog):
    from tinygrad_trade.vol.jobs.outdir import output_dir as open_out
    target = tmp_path / "out"
    target.mkdir()
    (target / "report.md").write_text("mine\n")
    (target / "report.md.~1~").write_text("older\n")
    (target / "notes.txt").write_text("untouched\n")
    with open_out(target, force=True) as out:
        with open(out.path("report.md"), "w") as fh:
            fh.write("tool\n")
    assert (target / "report.md").read_text() == "tool\n"
    assert (target / "report.md.~2~").read_text() == "mine\n" and (target / "report.md.~1~").read_text() == "older\n"
    assert (target / "notes.txt").read_text() == "untouched\n"
    assert out.moved_aside == [(str(target / "report.md"), str(target / "report.md.~2~"))]
    with open_out(target, force=True) as out:   # now the tool's own file: replaced, no copy
        with open(out.path("report.md"), "w") as fh:
            fh.write("tool again\n")
    assert out.moved_aside == [] and not (target / "report.md.~3~").exists()


def test_a_folder_where_no_lock_can_be_made_is_one_line(tmp_path, capsys, monkeypatch):
    """Any OS error taking the folder's lock (a pseudo file system such as /proc, a read-only mount) is one line
    naming the folder, exit status 2, not a traceback or a raw errno text."""
    def refuse(*args, **kwargs):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr("tinygrad_trade.vol.jobs.outdir._Lock.acquire", refuse)
    out = tmp_path / "rep"
    assert main(["forecast", "--models", "ewma", "--start", "2018-06-01", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write in" in err[0] and "Read-only file system" in err[0], err
    assert not out.exists()
