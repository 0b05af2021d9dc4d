"""Who owns a run or a scratch folder, and whether that owner is still alive.

A ``crm-exp`` process killed with ``kill -9`` cannot clean up after itself: its MLflow run
stays RUNNING and its scratch folders (the typed copy of the shop, the notebooks' results)
stay in ``$TMPDIR``. So what it leaves is stamped with its owner, and the next command that
opens the tracking store (:func:`crm_experiments.tracking.client.mlflow_client`) checks the
owners:

- an :class:`Owner` is a process id, the host name and the process's start time (seconds
  since the epoch, as the kernel reports it); it is alive when a process with that id runs on
  this host *and* started at that time (within a second), so a recycled process id is not
  mistaken for the owner. On another host it cannot be checked (:meth:`Owner.alive` is None)
  and the run is left alone.
- scratch folders are named ``crm-exp-<kind>-<pid>-<random>`` in the system's temporary
  folder (:func:`scratch_dir`); :func:`remove_dead_scratch` removes those whose process is
  gone, or whose process id now belongs to a process started after the folder was last
  written (so not its creator).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from crm_experiments.errors import CrmError

#: MLflow run tags of the process that owns the run.
PID_TAG, HOST_TAG, STARTED_TAG = "owner.pid", "owner.host", "owner.started"
_SCRATCH = re.compile(r"^crm-exp-(?:run|shop)-(\d+)-")
#: How far two readings of one process's start time may differ (s): the kernel counts it in
#: clock ticks since boot.
_SAME_START_S = 1.0


def process_started(pid: int) -> float | None:
    """Start time (s since the epoch) of the running process ``pid``; None when there is
    none (or it is a zombie: exited, not yet reaped by its parent)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:  # exists, owned by someone else: alive for our purpose
        return float("nan")


@dataclass(frozen=True)
class Owner:
    """A process: its id, host and start time (s since the epoch)."""

    pid: int
    host: str
    started: float

    @classmethod
    def me(cls) -> Owner:
        return cls(os.getpid(), socket.gethostname(), process_started(os.getpid()) or 0.0)

    def tags(self) -> dict[str, str]:
        return {PID_TAG: str(self.pid), HOST_TAG: self.host, STARTED_TAG: f"{self.started:.3f}"}

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> Owner | None:
        """The owner recorded in a run's tags; None for a run made without them."""
        try:
            return cls(int(tags[PID_TAG]), tags[HOST_TAG], float(tags[STARTED_TAG]))
        except (KeyError, ValueError):
            return None

    def alive(self) -> bool | None:
        """True while the process runs, False once it is gone, None on another host."""
        if self.host != socket.gethostname():
            return None
        started = process_started(self.pid)
        if started is None:
            return False
        return started != started or abs(started - self.started) <= _SAME_START_S  # nan: alive

    def __str__(self) -> str:
        return f"process {self.pid} on {self.host}"


def scratch_dir(kind: str) -> Path:
    """A new folder ``crm-exp-<kind>-<pid>-<random>`` in the temporary folder (``kind``:
    ``run`` or ``shop``), removable by :func:`remove_dead_scratch` once this process is gone."""
    return Path(tempfile.mkdtemp(prefix=f"crm-exp-{kind}-{os.getpid()}-"))


def remove_dead_scratch(root: str | Path | None = None) -> list[Path]:
    """Remove the scratch folders in ``root`` (default: the temporary folder) whose owning
    process is gone (see the module docstring); returns those removed."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob("crm-exp-*"):
        match = _SCRATCH.match(path.name)
        if not match or not path.is_dir() or path.is_symlink():
            continue
        started = process_started(int(match.group(1)))
        try:
            written = path.stat().st_mtime
        except FileNotFoundError:
            continue
        if started is not None and (started != started or started <= written + _SAME_START_S):
            continue  # its process (or one that may be it) still runs
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


class FolderNotWritable(CrmError):
    """An output folder cannot be written (checked before the work, and when writing)."""


def check_writable(folder: str | Path, what: str = "reports folder", *,
                   create: bool = True) -> Path:
    """Write and remove a probe file in ``folder`` (created first when ``create``; else, when
    missing, in its nearest existing parent, where it would be created); raise
    :class:`FolderNotWritable` naming the folder and the reason (read-only, a file in the
    way, no space left ...). Works as root too, where permission bits are not enforced."""
    folder = Path(folder)
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
            where = folder
        else:
            where = next(p for p in (folder, *folder.absolute().parents) if p.exists())
            if not where.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(where))
        fd, probe = tempfile.mkstemp(prefix=".crm-exp-probe-", dir=where)
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise FolderNotWritable(f"{folder}: the {what} cannot be written "
                                f"({os_reason(exc)}); nothing was done") from None
    return folder


def os_reason(exc: OSError) -> str:
    """Why a write failed, in words."""
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if isinstance(exc, FileExistsError | NotADirectoryError):
        return f"{exc.filename or 'a part of the path'} is a file, not a folder"
    return exc.strerror or str(exc)
