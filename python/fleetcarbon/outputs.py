"""Write output files and folders atomically: complete, or not at all.

A file is written under a temporary name beside its target (same folder, so
the final rename is atomic), such as ``.out.csv.fleetcarbon-partial-3f9c1a2b``:
hidden, and marked as incomplete. It is flushed and fsynced, then renamed over
the target. On any exception, ``KeyboardInterrupt`` included, the temporary
file is removed and the target is left as it was. A folder (a report) is built
the same way in a temporary sibling folder: renamed to the target if there was
none, else its files are moved into the target at the end.

A Ctrl-C during a clean-up or a roll-back does not cut it short: it is
finished, then ``KeyboardInterrupt`` is raised. The SIGINT handler is never
replaced: with Polars 2, any call to :func:`signal.signal` (even one putting
the same handler back) keeps its writers from noticing Ctrl-C until they end.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from fleetcarbon.outputs import leftovers, write_text
>>> with tempfile.TemporaryDirectory() as folder:
...     path = write_text(Path(folder) / "notes.txt", "done")
...     print(path.read_text(), leftovers(folder))
done []
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import polars as pl

from fleetcarbon.errors import ParameterError

__all__ = [
    "FRAME_SUFFIXES",
    "OLD_MARK",
    "PARTIAL_MARK",
    "atomic_folder",
    "atomic_path",
    "leftovers",
    "write_bytes",
    "write_frame",
    "write_text",
]

#: Marks the name of a file or folder that is being written (``.<name><mark><random>``).
PARTIAL_MARK = ".fleetcarbon-partial-"
#: Marks the name of a replaced folder while it is being deleted.
OLD_MARK = ".fleetcarbon-old-"
#: File suffixes :func:`write_frame` knows, with their format.
FRAME_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def leftovers(folder: str | Path) -> list[Path]:
    """List what interrupted writes left in ``folder``: partial files and replaced folders.

    Only a process killed outright (``SIGKILL``, power loss) leaves any; they
    are safe to delete.

    Parameters
    ----------
    folder : str or Path
        The folder to look into.

    Returns
    -------
    list of Path
        The leftover entries, sorted by name.
    """
    marks = (PARTIAL_MARK, OLD_MARK)
    return sorted(p for p in Path(folder).iterdir() if any(m in p.name for m in marks))


def _sibling(target: Path, mark: str) -> Path:
    """Return a fresh hidden name beside ``target`` carrying ``mark``."""
    return target.with_name(f".{target.name}{mark}{secrets.token_hex(4)}")


def _to_the_end(step: Callable[[], object]) -> None:
    """Run a clean-up ``step`` (idempotent) to its end, even through Ctrl-C, raised after it."""
    interrupted = False
    while True:
        try:
            step()
            break
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        raise KeyboardInterrupt


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY if os.name == "posix" else os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make renames in ``folder`` durable, where the platform allows it."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _exists(target: Path) -> FileExistsError:
    return FileExistsError(f"{target} already exists")


def _resolved(target: str | Path) -> Path:
    """Return ``target`` with symbolic links resolved, so that a link is written through."""
    return Path(os.path.realpath(target))


@contextlib.contextmanager
def atomic_path(target: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` if the block succeeds.

    Write the file at the yielded path (it exists, empty). When the block
    ends, the file is fsynced and renamed to ``target``; when it raises
    (``KeyboardInterrupt`` included), the file is removed and ``target`` is
    untouched. A symbolic link ``target`` is written through: the file it
    points to is replaced. The new file gets the usual permissions
    (0o666 less the umask).

    Parameters
    ----------
    target : str or Path
        The file to write. Its folder must exist.
    overwrite : bool, default False
        Replace ``target`` if it exists; otherwise an existing ``target``
        raises, before the block and again at the rename.

    Yields
    ------
    Path
        The temporary file, named ``.<name>.fleetcarbon-partial-<random>``.

    Raises
    ------
    FileExistsError
        If ``target`` exists and ``overwrite`` is false.
    IsADirectoryError
        If ``target`` is a folder.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     target = Path(folder) / "table.csv"
    ...     with atomic_path(target) as partial:
    ...         _ = partial.write_text("a,b\\n1,2\\n")
    ...         print(target.exists(), ".fleetcarbon-partial-" in partial.name)
    ...     print(target.read_text().splitlines())
    False True
    ['a,b', '1,2']
    """
    target = _resolved(target)
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a folder")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"folder {target.parent} does not exist")
    if not overwrite and os.path.lexists(target):
        raise _exists(target)
    partial = _sibling(target, PARTIAL_MARK)  # random: any file of that name is a leftover
    try:
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        yield partial
        _fsync_file(partial)
        _rename_into_place(partial, target, overwrite=overwrite)
        _fsync_folder(target.parent)
    except BaseException:
        _to_the_end(lambda: _remove(partial))
        raise


def _rename_into_place(partial: Path, target: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(partial, target)
        return
    try:  # a hard link never replaces an existing file: no race with another writer
        os.link(partial, target)
    except FileExistsError:
        raise _exists(target) from None
    except OSError:  # no hard links on this file system
        if os.path.lexists(target):
            raise _exists(target) from None
        os.replace(partial, target)
    else:
        partial.unlink()


def write_bytes(target: str | Path, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``target`` atomically (see :func:`atomic_path`).

    Parameters
    ----------
    target : str or Path
        The file to write.
    data : bytes
        Its content.
    overwrite : bool, default False
        Replace ``target`` if it exists.

    Returns
    -------
    Path
        ``target``.
    """
    with atomic_path(target, overwrite=overwrite) as partial:
        partial.write_bytes(data)
    return Path(target)


def write_text(
    target: str | Path, text: str, *, overwrite: bool = False, encoding: str = "utf-8"
) -> Path:
    """Write ``text`` to ``target`` atomically (see :func:`atomic_path`).

    Parameters
    ----------
    target : str or Path
        The file to write.
    text : str
        Its content.
    overwrite : bool, default False
        Replace ``target`` if it exists.
    encoding : str, default "utf-8"
        Text encoding.

    Returns
    -------
    Path
        ``target``.
    """
    with atomic_path(target, overwrite=overwrite) as partial:
        partial.write_text(text, encoding=encoding)
    return Path(target)


def write_frame(frame: pl.DataFrame, target: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``frame`` as Parquet or CSV, chosen by the suffix of ``target``, atomically.

    Parameters
    ----------
    frame : pl.DataFrame
        The frame.
    target : str or Path
        The file to write: ``.parquet`` or ``.pq`` (Parquet), or ``.csv``.
    overwrite : bool, default False
        Replace ``target`` if it exists.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    fleetcarbon.errors.ParameterError
        If the suffix is none of the above.
    """
    fmt = FRAME_SUFFIXES.get(Path(target).suffix.lower())
    if fmt is None:
        raise ParameterError(f"{target}: write .parquet or .csv")
    # At Ctrl-C, Polars stops writing and returns as if done; the KeyboardInterrupt
    # pending in Python is raised at the next Python-level step, before the rename
    # (were it raised as __exit__ starts, closing the generator removes the file).
    with atomic_path(target, overwrite=overwrite) as partial:
        if fmt == "parquet":
            frame.write_parquet(partial)
        else:
            frame.write_csv(partial)
    return Path(target)


@contextlib.contextmanager
def atomic_folder(
    target: str | Path,
    *,
    replace: Callable[[], Iterable[str]] = tuple,
    last: str | None = None,
) -> Iterator[Path]:
    """Yield a new folder beside ``target``; move its files into ``target`` if the block succeeds.

    Write the folder's files in the yielded folder. When the block ends:

    - if ``target`` does not exist, the new folder is renamed to ``target``
      (one atomic rename);
    - if it does, the files that ``replace()`` names are moved out of it, the
      new files are moved in, and the old ones are deleted. ``target`` itself
      (its permissions, and a shell or program inside it) and its other
      entries stay; a new file whose name ``target`` holds otherwise is an
      error, raised before anything moves.

    When the block or the move raises (``KeyboardInterrupt`` included), every
    move is undone, the new folder is removed, and ``target`` is left as it
    was; a second Ctrl-C does not cut the roll-back short.

    The caller decides whether ``target`` may be written into (check before
    writing, and again in ``replace``, which runs when the files move).

    Parameters
    ----------
    target : str or Path
        The folder to write; missing parent folders are created. A symbolic
        link is followed.
    replace : callable, default ``tuple``
        Called when the files move, if ``target`` exists; returns the names
        of its entries to remove. Its exceptions abort the move.
    last : str, optional
        A file name moved out first and in last (a marker saying the folder
        is complete).

    Yields
    ------
    Path
        The new folder, named ``.<name>.fleetcarbon-partial-<random>``.

    Raises
    ------
    FileExistsError
        If a new file would replace an entry of ``target`` not named by ``replace()``.
    NotADirectoryError
        If ``target`` exists and is not a folder.
    """
    target = _resolved(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _sibling(target, PARTIAL_MARK)  # random: any folder of that name is a leftover
    try:
        staging.mkdir()
        yield staging
        for entry in staging.iterdir():
            if entry.is_file() and not entry.is_symlink():
                _fsync_file(entry)
        _fsync_folder(staging)
        if os.path.lexists(target):
            _move_files(staging, target, list(replace()), last)
        else:
            os.rename(staging, target)  # atomic: the whole folder appears at once
            _fsync_folder(target.parent)
    except BaseException:
        _to_the_end(lambda: _remove(staging))
        raise


def _move_files(staging: Path, target: Path, old: list[str], last: str | None) -> None:
    """Move ``old`` out of ``target`` and the files of ``staging`` in; undo it all on failure.

    The roll-back looks at the files themselves, not at a record of the moves,
    so that an interrupt between a rename and its record cannot mislead it.
    """
    if not target.is_dir():
        raise NotADirectoryError(f"{target} is not a folder")

    def ordered(names: list[str], *, first: bool) -> list[str]:
        rest = sorted(n for n in names if n != last)
        marker = [last] if last is not None and last in names else []
        return marker + rest if first else rest + marker

    plain = {n for n in old if n not in ("", ".", "..") and Path(n).name == n}  # no a/b, ../b
    old = ordered([n for n in plain if os.path.lexists(target / n)], first=True)
    new = ordered(os.listdir(staging), first=False)
    clash = [n for n in new if n not in old and os.path.lexists(target / n)]
    if clash:
        raise FileExistsError(f"{target / clash[0]} already exists")
    backup = _sibling(target, OLD_MARK)

    def roll_back() -> None:
        for name in reversed(new):  # new files that made it in go back to the staging folder
            if os.path.lexists(target / name) and not os.path.lexists(staging / name):
                os.rename(target / name, staging / name)
        for name in reversed(old):  # then the old files come back
            if os.path.lexists(backup / name):
                os.rename(backup / name, target / name)
        if backup.exists():
            backup.rmdir()  # empty again (were a move back to fail, the old files would stay)

    try:
        backup.mkdir()
        for name in old:
            os.rename(target / name, backup / name)
        for name in new:
            os.rename(staging / name, target / name)
        _fsync_folder(target)
    except BaseException:
        _to_the_end(roll_back)
        raise

    def clean_up() -> None:
        _remove(backup)
        _remove(staging)

    _to_the_end(clean_up)
