"""Owners of runs and scratch folders: alive only while the very process (pid and start time)
runs on this host; scratch folders of gone processes are removed, live ones kept."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from crm_experiments.io.process import Owner, remove_dead_scratch, scratch_dir


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_this_process_is_alive_a_finished_one_is_not():
    me = Owner.me()
    assert me.alive() is True
    assert Owner.from_tags(me.tags()) == me
    assert Owner(_dead_pid(), me.host, me.started).alive() is False


def test_a_recycled_pid_is_not_the_owner():
    me = Owner.me()
    assert Owner(me.pid, me.host, me.started - 3600).alive() is False


def test_another_host_cannot_be_checked():
    assert Owner(os.getpid(), socket.gethostname() + "-other", 0.0).alive() is None
    assert Owner.from_tags({"owner.pid": "12"}) is None  # a run made without the tags


def test_scratch_of_gone_processes_is_removed(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    mine = scratch_dir("run")
    assert mine.parent == tmp_path and mine.name.startswith(f"crm-exp-run-{os.getpid()}-")
    dead = tmp_path / f"crm-exp-shop-{_dead_pid()}-abc"
    (dead / "sub").mkdir(parents=True)
    (dead / "sub" / "shop.duckdb").write_bytes(b"x")
    old = tmp_path / f"crm-exp-run-{os.getpid()}-old"  # our pid, written before we started
    old.mkdir()
    os.utime(old, (0, 0))
    other = tmp_path / "crm-exp-notes"  # not a scratch folder of ours
    other.mkdir()
    assert sorted(remove_dead_scratch()) == sorted([dead, old])
    assert mine.is_dir() and other.is_dir()
