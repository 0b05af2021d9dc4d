"""Files written whole or not at all: every output a command leaves (pages, summaries, plans,
params drafts, per-customer tables, assignments) goes through a temporary file in the target's
folder and an atomic rename, so a reader, a crash or a full disk never leaves half a file.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write_text(folder / "a.txt", "whole").read_text()
'whole'
>>> with atomic_path(folder / "b.txt") as tmp:
...     _ = tmp.write_text("never seen")
...     raise RuntimeError("the writer failed")
Traceback (most recent call last):
RuntimeError: the writer failed
>>> sorted(p.name for p in folder.iterdir())  # no b.txt, no temporary file
['a.txt']
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temporary path beside ``target`` to write to; renamed onto ``target`` when the block
    ends normally (with the permissions a new file would get: 0666 less the umask), removed
    when it raises."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole, flushed to disk before the rename."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


def atomic_copy(source: str | Path, target: str | Path) -> Path:
    """Copy ``source`` to ``target`` whole."""
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return Path(target)
