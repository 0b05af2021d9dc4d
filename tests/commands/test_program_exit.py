"""``crm-exp`` as a program: ``run`` and ``demo`` end through ``exit_now`` (atexit handlers
and flushed output, no interpreter teardown); the exit code is the command's."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _program(body: str) -> subprocess.CompletedProcess:
    code = textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_run_ends_through_atexit_with_its_code_and_output():
    out = _program("""
        import atexit, sys
        atexit.register(lambda: print("atexit ran"))
        sys.argv = ["crm-exp", "run", "no-such-params.yaml"]
        from crm_experiments.cli.main import program
        print("buffered before the end", end="")
        code = program()
        print("not reached: program returned", code)
    """)
    assert out.returncode == 2, out.stderr
    assert "no-such-params.yaml" in out.stderr
    assert out.stdout.startswith("buffered before the end")
    assert "atexit ran" in out.stdout
    assert "not reached" not in out.stdout


def test_other_subcommands_return_their_code():
    out = _program("""
        import sys
        sys.argv = ["crm-exp", "validate", "no-such-folder"]
        from crm_experiments.cli.main import program
        print("returned", program())
    """)
    assert out.returncode == 0
    assert out.stdout.startswith("returned ") and out.stdout.strip() != "returned 0"


def test_a_running_non_daemon_thread_is_waited_for():
    out = _program("""
        import threading, time
        from crm_experiments.cli.main import exit_now
        def late():
            time.sleep(0.3)
            print("thread finished", flush=True)
        threading.Thread(target=late).start()
        exit_now(3)
    """)
    assert out.returncode == 3
    assert "thread finished" in out.stdout
