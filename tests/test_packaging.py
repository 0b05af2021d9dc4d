"""A wheel installed in a fresh virtualenv runs ``crm-exp run`` from outside the checkout.

Installing every dependency from the registry would take minutes and need the network, so the
fresh venv gets the wheel alone (``--no-deps``) and sees the dependencies of the test's own
environment through a ``.pth`` line. That line only extends ``sys.path``: the ``.pth`` files in
the dependencies' folder, among them the editable install of this checkout, are not run, and
the test proves that ``crm_experiments`` is imported from the fresh venv, in the command and in
the kernel Papermill starts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "crm_experiments"


def _package_files(root: Path) -> set[str]:
    """Every file of the package under ``root`` (through the notebooks symlink), as wheel
    names: code, templates, notebooks, any other data."""
    files = set()
    for path in (root / "crm_experiments").rglob("*"):
        rel = path.relative_to(root)
        if path.is_file() and not any(p == "__pycache__" or p.startswith(".")
                                      for p in rel.parts) and path.suffix != ".pyc":
            files.add(rel.as_posix())
    return files


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    """A copy of the sources: an in-tree build would reuse ``build/lib``, where a module
    deleted from the checkout lives on."""
    src = tmp_path_factory.mktemp("src")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    shutil.copytree(PACKAGE, src / "crm_experiments", symlinks=True, ignore=skip)
    shutil.copytree(REPO / "notebooks", src / "notebooks", ignore=skip)
    (src / "params").mkdir()
    shutil.copy2(REPO / "params" / "demo.yaml", src / "params" / "demo.yaml")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    return src


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, sources) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "-w", str(out), str(sources)],
                   check=True, env=_env())
    (whl,) = out.glob("crm_experiments-*.whl")
    return whl


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory, wheel) -> Path:
    """A new venv holding the wheel, seeing the dependencies of this environment."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)],
                   check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], check=True, capture_output=True,
                          text=True).stdout.strip()
    deps = dict.fromkeys(sysconfig.get_path(k) for k in ("purelib", "platlib"))
    (Path(site) / "crm_test_dependencies.pth").write_text(
        "".join(f"{d}\n" for d in deps), encoding="utf-8")
    # --ignore-installed: pip sees this checkout's editable install through the .pth line and
    # must neither skip the wheel as "already satisfied" nor touch that install
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--ignore-installed", str(wheel)], check=True, env=_env())
    return venv


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MLFLOW_TRACKING_URI",
                        "JUPYTER_PATH", "CRM_EXPERIMENTS_SHOP_CACHE"}}
    env.update(extra)
    return env


def test_wheel_holds_the_whole_package_with_notebooks_and_templates(sources, wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    notebooks = {f"crm_experiments/notebooks/{p.name}"
                 for p in (sources / "notebooks").glob("*.ipynb")}
    assert len(notebooks) == 4 and notebooks <= names
    assert "crm_experiments/report/templates/base.html.j2" in names
    missing = _package_files(sources) - names
    assert not missing, f"package files left out of the wheel (add them to package-data): {missing}"


def test_fresh_venv_runs_the_demo_from_outside_the_checkout(fresh_venv, tmp_path):
    python, crm_exp = fresh_venv / "bin" / "python", fresh_venv / "bin" / "crm-exp"
    # A decoy "python3" kernelspec ahead of every other (as `ipykernel install --user` leaves
    # one): it runs this checkout's environment, whose crm_experiments is the editable install.
    # The runner must ignore it and start the kernel with the fresh venv's own python.
    decoy = tmp_path / "jupyter"
    (decoy / "kernels" / "python3").mkdir(parents=True)
    (decoy / "kernels" / "python3" / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "decoy", "language": "python"}), encoding="utf-8")
    env = _env(PATH=f"{fresh_venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               JUPYTER_PATH=str(decoy))
    work = tmp_path / "elsewhere"
    (work / "params").mkdir(parents=True)
    shutil.copy2(REPO / "params" / "demo.yaml", work / "params" / "demo.yaml")

    def run(*cmd, **kw) -> subprocess.CompletedProcess:
        done = subprocess.run([str(c) for c in cmd], cwd=work, env=env, capture_output=True,
                              text=True, timeout=600, **kw)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    where = run(python, "-c", "import crm_experiments, sys; from crm_experiments.params import "
                "NOTEBOOKS_DIR; print(crm_experiments.__file__); print(NOTEBOOKS_DIR)")
    module, notebooks = (Path(line) for line in where.stdout.split())
    assert module.is_relative_to(fresh_venv) and notebooks.is_relative_to(fresh_venv)
    assert len(list(notebooks.glob("*.ipynb"))) == 4

    # the kernel the runner starts imports the wheel's package
    probe = ("import nbformat, nbclient\n"
             "from crm_experiments.pipeline.runner import _kernel_manager_class\n"
             "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(\n"
             "    'import sys, crm_experiments; print(sys.executable); "
             "print(crm_experiments.__file__)')])\n"
             "nbclient.NotebookClient(nb, kernel_name='python3',\n"
             "    kernel_manager_class=_kernel_manager_class()).execute()\n"
             "print(nb.cells[0].outputs[0]['text'])\n")
    kernel_python, kernel_module = (Path(line) for line in run(python, "-c", probe).stdout.split())
    assert kernel_python == python and kernel_module.is_relative_to(fresh_venv)

    run(crm_exp, "generate", "params/demo.yaml", "data/demo", "--customers", "2000")
    done = run(crm_exp, "run", "params/demo.yaml", "--horizon", "7")
    assert "demo_d11 7d:" in done.stdout
    assert (work / "reports" / "demo_d11" / "7d" / "report.html").stat().st_size > 0
    assert (work / "mlflow.db").exists()

    # `crm-exp demo` of an installed package: the demo params are copied into the working
    # directory and the data generated there, not into the installation
    demo_dir = tmp_path / "demo_here"
    demo_dir.mkdir()
    done = subprocess.run([str(crm_exp), "demo", "--customers", "2000"], cwd=demo_dir, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (demo_dir / "params" / "demo.yaml").is_file()
    assert (demo_dir / "data" / "demo" / "orders.parquet").is_file()
    for page in ("7d/report.html", "30d/report.html", "30d/clv_churn.html",
                 "30d/coupon_uplift.html"):
        assert (demo_dir / "reports" / "demo_d11" / page).stat().st_size > 0
    assert not list(fresh_venv.rglob("data/demo"))
