"""A Spark standalone cluster on localhost for the tests: one master and one worker.

Started with the launcher pyspark ships (``bin/spark-class`` under pyspark's Spark home) and
the daemons' public command lines only, so it works on any pyspark release that bundles them::

    spark-class org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 7077 ...
    spark-class org.apache.spark.deploy.worker.Worker spark://127.0.0.1:7077 --cores 1 ...

Everything binds to 127.0.0.1 (``SPARK_LOCAL_IP`` and ``--host``). The master takes port 7077
when it is free; when it is taken (say by a concurrent test run) a free port is used and a
warning says so. Each daemon runs in its own process group, so stopping the group also stops
the executors the worker launched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: The port the issue names for the test cluster's master.
PREFERRED_PORT = 7077
HOST = "127.0.0.1"
#: JVM options for short-lived test JVMs on a busy machine: the quick JIT tier only and one
#: garbage-collector thread (less CPU spent on compiling and collecting; results unchanged).
LEAN_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


@dataclass(frozen=True)
class Cluster:
    """A running test cluster: ``url`` (``spark://127.0.0.1:<port>``) and the master's web UI."""

    url: str
    webui: str
    logs: Path

    def state(self) -> dict:
        """The master's state from its web UI (``/json/``): workers, running and completed
        applications (the same JSON the standalone UI serves)."""
        with urllib.request.urlopen(f"{self.webui}/json/", timeout=5) as response:
            return json.load(response)


def spark_home() -> Path:
    """The Spark distribution inside the installed pyspark (what ``pyspark`` itself uses)."""
    from pyspark.find_spark_home import _find_spark_home

    return Path(_find_spark_home())


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM the process group (daemon and its children), then SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
            if sig == signal.SIGTERM:
                # the daemon is gone; its children (executors) get the same treatment
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def standalone_cluster(work_dir: Path, *, cores: int = 1, memory: str = "1g",
                       timeout: float = 120.0) -> Iterator[Cluster]:
    """Start a master and one worker (``cores``, ``memory``) on 127.0.0.1, wait until the
    worker has registered (at most ``timeout`` seconds; else ``RuntimeError`` with the logs'
    last lines), yield the :class:`Cluster` and always stop both daemons and their children.
    Logs and the worker's application folders go under ``work_dir``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    launcher = spark_home() / "bin" / "spark-class"
    port = PREFERRED_PORT
    if not _port_free(port):
        port = _free_port()
        warnings.warn(f"port {PREFERRED_PORT} is taken (another Spark cluster or test run?); "
                      f"the test cluster's master uses spark://{HOST}:{port}", stacklevel=3)
    ui_port = _free_port()
    url, webui = f"spark://{HOST}:{port}", f"http://{HOST}:{ui_port}"
    env = dict(os.environ, SPARK_HOME=str(spark_home()), SPARK_LOCAL_IP=HOST,
               SPARK_LOCAL_HOSTNAME=HOST, SPARK_DAEMON_JAVA_OPTS=LEAN_JVM,
               # one attempt per port: a taken port is an error, not a silent move to the next
               SPARK_MASTER_OPTS="-Dspark.port.maxRetries=0",
               SPARK_WORKER_OPTS="-Dspark.worker.cleanup.enabled=false")
    daemons: list[tuple[str, subprocess.Popen, Path]] = []

    def start(name: str, *args: str) -> None:
        log = work_dir / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(launcher), *args], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=env, cwd=work_dir, start_new_session=True)
        daemons.append((name, process, log))

    try:
        start("master", "org.apache.spark.deploy.master.Master", "--host", HOST,
              "--port", str(port), "--webui-port", str(ui_port))
        start("worker", "org.apache.spark.deploy.worker.Worker", url, "--host", HOST,
              "--cores", str(cores), "--memory", memory, "--webui-port", str(_free_port()),
              "--work-dir", str(work_dir / "work"))
        cluster = Cluster(url=url, webui=webui, logs=work_dir)
        deadline = time.monotonic() + timeout
        while True:
            for name, process, log in daemons:
                if process.poll() is not None:
                    raise RuntimeError(f"the Spark {name} exited (code {process.returncode}) "
                                       f"before the worker registered; {log}:\n{_tail(log)}")
            with contextlib.suppress(OSError, ValueError):
                state = cluster.state()
                if state.get("status") == "ALIVE" and state.get("aliveworkers", 0) >= 1:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"no Spark worker registered with {url} within {timeout:.0f} s; "
                    + "; ".join(f"{log}:\n{_tail(log)}" for _name, _p, log in daemons))
            time.sleep(0.5)
        yield cluster
    finally:
        for _name, process, _log in reversed(daemons):  # the worker first, then the master
            _stop(process)
