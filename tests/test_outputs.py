"""Atomic output files and folders: complete or absent, never partial, whatever interrupts them."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import polars as pl
import pytest

from fleetcarbon import outputs
from fleetcarbon.errors import ParameterError
from fleetcarbon.outputs import (
    atomic_folder,
    atomic_path,
    leftovers,
    write_bytes,
    write_frame,
    write_text,
)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_partial_file_is_hidden_beside_the_target_and_marked(tmp_path):
    target = tmp_path / "out.csv"
    with atomic_path(target) as partial:
        assert partial.parent == tmp_path
        assert partial.name.startswith(".out.csv.fleetcarbon-partial-")
        assert partial.exists() and not target.exists()
        assert leftovers(tmp_path) == [partial]
        partial.write_text("a\n", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "a\n"
    assert names(tmp_path) == ["out.csv"]


def test_the_file_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace, real_link = os.fsync, os.replace, os.link
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "link", lambda a, b: events.append("rename") or real_link(a, b))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append("rename") or real_replace(a, b))
    write_text(tmp_path / "a.txt", "x")
    assert events[0] == "fsync" and "rename" in events


@pytest.mark.parametrize("error", [KeyboardInterrupt, ValueError, OSError])
def test_an_error_leaves_the_target_as_it_was(tmp_path, error):
    fresh, existing = tmp_path / "fresh.csv", tmp_path / "existing.csv"
    existing.write_text("previous", encoding="utf-8")
    for target in (fresh, existing):
        with pytest.raises(error), atomic_path(target, overwrite=True) as partial:
            partial.write_text("half a fi", encoding="utf-8")
            raise error
    assert names(tmp_path) == ["existing.csv"]
    assert existing.read_text(encoding="utf-8") == "previous"


def test_an_existing_target_is_replaced_only_with_overwrite(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("previous", encoding="utf-8")
    with pytest.raises(FileExistsError, match="already exists"):
        write_text(target, "new")
    assert target.read_text(encoding="utf-8") == "previous"
    write_text(target, "new", overwrite=True)
    assert target.read_text(encoding="utf-8") == "new"
    assert names(tmp_path) == ["a.txt"]


def test_a_target_that_appears_meanwhile_is_not_replaced(tmp_path):
    target = tmp_path / "a.txt"
    with pytest.raises(FileExistsError), atomic_path(target) as partial:
        partial.write_text("mine", encoding="utf-8")
        target.write_text("theirs", encoding="utf-8")  # another writer got there first
    assert target.read_text(encoding="utf-8") == "theirs"
    assert names(tmp_path) == ["a.txt"]


def test_bad_targets(tmp_path):
    with pytest.raises(IsADirectoryError):
        write_text(tmp_path, "x", overwrite=True)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_text(tmp_path / "missing" / "a.txt", "x")
    with pytest.raises(ParameterError, match=r"parquet or \.csv"):
        write_frame(pl.DataFrame({"a": [1]}), tmp_path / "a.txt")
    assert names(tmp_path) == []


def test_permissions_follow_the_umask(tmp_path):
    umask = os.umask(0o022)
    try:
        mode = stat.S_IMODE(write_bytes(tmp_path / "a.bin", b"x").stat().st_mode)
    finally:
        os.umask(umask)
    assert mode == 0o644


def test_a_symbolic_link_is_written_through(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("previous", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_text(link, "new", overwrite=True)
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new"


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq"])
def test_write_frame_round_trips(tmp_path, suffix):
    frame = pl.DataFrame({"job_id": [1, 2, 3], "kg": [0.5, 1.5, None]})
    path = write_frame(frame, tmp_path / f"f{suffix}")
    back = pl.read_csv(path) if suffix == ".csv" else pl.read_parquet(path)
    assert back.equals(frame)
    assert leftovers(tmp_path) == []


def test_an_interrupt_inside_the_frame_writer_leaves_nothing(tmp_path, monkeypatch):
    real = pl.DataFrame.write_parquet

    def interrupted(frame, file, *args, **kwargs):
        real(frame.head(1), file, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(pl.DataFrame, "write_parquet", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_frame(pl.DataFrame({"a": [1, 2]}), tmp_path / "f.parquet")
    assert names(tmp_path) == []


def test_a_second_ctrl_c_does_not_cut_the_clean_up_short(tmp_path, monkeypatch):
    real_unlink = Path.unlink
    calls = []

    def unlink(path, *args, **kwargs):
        calls.append(path.name)
        if len(calls) == 1:
            raise KeyboardInterrupt  # Ctrl-C again, while the partial file is removed
        real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "a.txt") as partial:
        partial.write_text("half", encoding="utf-8")
        raise ValueError("the first error")
    assert len(calls) == 2
    assert names(tmp_path) == []


def test_the_sigint_handler_is_never_touched(tmp_path, monkeypatch):
    """Polars' writers stop on Ctrl-C only as long as nobody calls signal.signal."""

    def refuse(*args):
        raise AssertionError("signal.signal was called")

    monkeypatch.setattr(signal, "signal", refuse)
    write_frame(pl.DataFrame({"a": [1]}), tmp_path / "a.csv")
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "b.csv"):
        raise KeyboardInterrupt
    with atomic_folder(tmp_path / "r") as stage:
        write_text(stage / "x", "1")
    with atomic_folder(tmp_path / "r", replace=lambda: ["x"]) as stage:
        write_text(stage / "x", "2")
    assert names(tmp_path) == ["a.csv", "r"]


def test_atomic_folder_new_and_replaced(tmp_path):
    target = tmp_path / "report"
    with atomic_folder(target) as stage:
        assert stage.parent == tmp_path and ".report.fleetcarbon-partial-" in stage.name
        write_text(stage / "a.txt", "1")
        assert not target.exists()
    assert names(target) == ["a.txt"]
    (target / "keep.txt").write_text("mine", encoding="utf-8")
    inode = target.stat().st_ino
    with atomic_folder(target, replace=lambda: ["a.txt"]) as stage:
        write_text(stage / "b.txt", "2")
        assert names(target) == ["a.txt", "keep.txt"]  # untouched until the block ends
    assert names(target) == ["b.txt", "keep.txt"]
    assert (target / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert target.stat().st_ino == inode  # the same folder: a shell inside it stays valid
    assert names(tmp_path) == ["report"]


def test_the_marker_leaves_first_and_comes_last(tmp_path, monkeypatch):
    target = tmp_path / "report"
    target.mkdir()
    for name in ("a", "z", ".done"):
        (target / name).write_text("old", encoding="utf-8")
    moves = []
    real_rename = os.rename
    monkeypatch.setattr(os, "rename", lambda a, b: moves.append(Path(a).name) or real_rename(a, b))
    with atomic_folder(target, replace=lambda: ["a", "z", ".done"], last=".done") as stage:
        for name in ("a", "z", ".done"):
            write_text(stage / name, "new")
    assert moves[0] == ".done" and moves[-1] == ".done" and len(moves) == 6
    assert {n: (target / n).read_text(encoding="utf-8") for n in names(target)} == {
        ".done": "new",
        "a": "new",
        "z": "new",
    }


@pytest.mark.parametrize("where", ["block", "replace"])
def test_atomic_folder_failure_keeps_the_old_folder(tmp_path, where):
    target = tmp_path / "report"
    target.mkdir()
    (target / "a.txt").write_text("1", encoding="utf-8")

    def replace():
        if where == "replace":
            raise FileExistsError("changed meanwhile")
        return ["a.txt"]

    with (
        pytest.raises((KeyboardInterrupt, FileExistsError)),
        atomic_folder(target, replace=replace) as stage,
    ):
        write_text(stage / "b.txt", "2")
        if where == "block":
            raise KeyboardInterrupt
    assert names(target) == ["a.txt"]
    assert names(tmp_path) == ["report"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_a_failed_move_is_undone(tmp_path, monkeypatch, error):
    target = tmp_path / "report"
    target.mkdir()
    for name in ("keep.txt", "a.txt", "b.txt"):
        (target / name).write_text(f"old {name}", encoding="utf-8")
    before = {n: (target / n).read_text(encoding="utf-8") for n in names(target)}
    real_rename = os.rename
    moved_in = []

    def rename(src, dst):
        if Path(dst).parent == target:
            moved_in.append(Path(dst).name)
            if len(moved_in) == 2:  # the second new file: half the new folder is in
                raise error
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(error), atomic_folder(target, replace=lambda: ["a.txt", "b.txt"]) as stage:
        for name in ("a.txt", "b.txt", "c.txt"):
            write_text(stage / name, "new")
    monkeypatch.setattr(os, "rename", real_rename)
    assert {n: (target / n).read_text(encoding="utf-8") for n in names(target)} == before
    assert names(tmp_path) == ["report"]


def test_a_second_ctrl_c_does_not_cut_the_roll_back_short(tmp_path, monkeypatch):
    target = tmp_path / "report"
    target.mkdir()
    for name in ("keep.txt", "a.txt", "b.txt"):
        (target / name).write_text(f"old {name}", encoding="utf-8")
    before = {n: (target / n).read_text(encoding="utf-8") for n in names(target)}
    real_rename = os.rename
    renames = []

    def rename(src, dst):
        renames.append((Path(src).name, Path(dst).parent.name))
        if len(renames) in (4, 6):  # the 2nd new file moving in; then a move back
            raise KeyboardInterrupt
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(target, replace=lambda: ["a.txt", "b.txt"]) as stage:
            for name in ("a.txt", "b.txt", "c.txt"):
                write_text(stage / name, "new")
    monkeypatch.setattr(os, "rename", real_rename)
    assert len(renames) > 6
    assert {n: (target / n).read_text(encoding="utf-8") for n in names(target)} == before
    assert names(tmp_path) == ["report"]


def test_a_new_file_never_replaces_a_file_not_named(tmp_path):
    target = tmp_path / "report"
    target.mkdir()
    (target / "mine.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError, match=r"mine\.txt"), atomic_folder(target) as stage:
        write_text(stage / "mine.txt", "new")
        write_text(stage / "other.txt", "new")
    assert names(target) == ["mine.txt"]
    assert (target / "mine.txt").read_text(encoding="utf-8") == "mine"
    assert names(tmp_path) == ["report"]


def test_atomic_folder_refuses_to_replace_a_file(tmp_path):
    target = tmp_path / "report"
    target.write_text("a file", encoding="utf-8")
    with pytest.raises(NotADirectoryError), atomic_folder(target):
        pass
    assert target.read_text(encoding="utf-8") == "a file"
    assert names(tmp_path) == ["report"]


def test_leftovers_lists_only_marked_entries(tmp_path):
    (tmp_path / "a.csv").write_text("x", encoding="utf-8")
    (tmp_path / f".a.csv{outputs.PARTIAL_MARK}0123abcd").write_text("x", encoding="utf-8")
    (tmp_path / f".r{outputs.OLD_MARK}0123abcd").mkdir()
    assert [p.name for p in leftovers(tmp_path)] == [
        ".a.csv.fleetcarbon-partial-0123abcd",
        ".r.fleetcarbon-old-0123abcd",
    ]
