"""One kernel for several notebooks (pipeline/kernel.py): each notebook starts from a fresh
kernel's state (empty namespace, execution count 1, the runner's current environment), and a
kernel that died is replaced."""

import os

import nbformat
import psutil
import pytest

from crm_experiments.io.cache import SHOP_CACHE_ENV
from crm_experiments.pipeline.kernel import NotebookKernel


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(s) for s in sources)]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    nbformat.write(nb, path)
    return path


def _outputs(path):
    nb = nbformat.read(path, as_version=4)
    return [(c.execution_count, "".join(o.get("text", "") for o in c.outputs))
            for c in nb.cells if c.cell_type == "code"]


@pytest.fixture(scope="module")
def kernel():
    with NotebookKernel(os.getcwd(), warm=("json",)) as k:
        yield k


def test_each_notebook_starts_from_a_fresh_state(kernel, tmp_path, monkeypatch):
    first = _notebook(tmp_path / "first.ipynb", "leftover = x + 1\nprint(leftover)")
    second = _notebook(tmp_path / "second.ipynb",
                       "import os\nprint('leftover' in dir(), os.getcwd())",
                       f"print(os.environ.get({SHOP_CACHE_ENV!r}))")
    monkeypatch.setenv(SHOP_CACHE_ENV, "first-cache")
    kernel.execute(first, tmp_path / "first.out.ipynb", {"x": 41})
    assert _outputs(tmp_path / "first.out.ipynb")[-1] == (3, "42\n")
    monkeypatch.setenv(SHOP_CACHE_ENV, "second-cache")
    kernel.execute(second, tmp_path / "second.out.ipynb", {"x": 1})
    # numbered from 1 (parameters, injected parameters, cells), nothing of the first
    # notebook, the notebook's folder, the environment of this moment
    assert _outputs(tmp_path / "second.out.ipynb") == [
        (1, ""), (2, ""), (3, f"False {tmp_path}\n"), (4, "second-cache\n")]
    monkeypatch.delenv(SHOP_CACHE_ENV)
    kernel.execute(second, tmp_path / "third.out.ipynb", {"x": 1})
    assert _outputs(tmp_path / "third.out.ipynb")[-1] == (4, "None\n")


def test_a_dead_kernel_is_replaced(kernel, tmp_path):
    nb = _notebook(tmp_path / "pid.ipynb", "import os\nprint(os.getpid())")
    kernel.execute(nb, tmp_path / "a.ipynb", {})
    pid = int(_outputs(tmp_path / "a.ipynb")[-1][1])
    psutil.Process(pid).kill()
    psutil.Process(pid).wait(timeout=30) if psutil.pid_exists(pid) else None
    kernel.execute(nb, tmp_path / "b.ipynb", {})
    assert int(_outputs(tmp_path / "b.ipynb")[-1][1]) != pid


def test_close_leaves_no_kernel_and_no_folder(tmp_path):
    k = NotebookKernel(tmp_path, warm=())
    nb = _notebook(tmp_path / "pid.ipynb", "import os\nprint(os.getpid())")
    k.execute(nb, tmp_path / "a.ipynb", {})
    pid = int(_outputs(tmp_path / "a.ipynb")[-1][1])
    folder = k.folder
    k.close()
    assert not folder.exists()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_run_kernel_is_the_callers_a_new_one_or_none(monkeypatch):
    """The one kernel-or-none rule of ``run``, ``demo`` and the runner: a caller's kernel is
    used and left open; else a new one, closed when the block ends; none with
    ``CRM_EXP_KERNEL=fresh``."""
    from crm_experiments.pipeline import kernel as kernel_module

    class Fake:
        made: list = []

        def __init__(self, folder):
            self.folder, self.closed = folder, False
            Fake.made.append(self)

        def close(self):
            self.closed = True

    monkeypatch.setattr(kernel_module, "NotebookKernel", Fake)
    monkeypatch.delenv(kernel_module.KERNEL_ENV, raising=False)
    with kernel_module.run_kernel() as k:
        assert isinstance(k, Fake) and not k.closed
    assert k.closed and k.folder == kernel_module.NOTEBOOKS_DIR
    mine = Fake("elsewhere")
    with kernel_module.run_kernel(mine) as k:
        assert k is mine
    assert not mine.closed
    monkeypatch.setenv(kernel_module.KERNEL_ENV, "fresh")
    with kernel_module.run_kernel() as k:
        assert k is None
    assert len(Fake.made) == 2


def test_warm_steps_import_or_import_and_call():
    from crm_experiments.pipeline.kernel import WARM_IMPORTS, _warm_line

    assert _warm_line("json") == "import json"
    assert _warm_line("a.b:f") == "import a.b; a.b.f()"
    assert "crm_experiments.report.env:compile_templates" in WARM_IMPORTS


def test_warm_code_freezes_and_resumes_the_collector_even_when_a_step_fails():
    import subprocess
    import sys

    from crm_experiments.pipeline.kernel import _warm_code

    code = _warm_code(("json", "no_such_module_for_warm_up", "colorsys"))
    check = ("import gc, sys\ntry:\n    exec(sys.argv[1])\nexcept ImportError:\n    pass\n"
             "print(gc.isenabled(), gc.get_freeze_count() > 0, 'colorsys' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", check, code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "True", "False"]
