"""The learner's path: ``jupyter lab``, notebook 02 opened in a real browser, its first cells
run through the menus, their outputs on the page and the kernel healthy.

JupyterLab runs from this environment on a free localhost port with a random token, in a
temporary copy of ``notebooks/`` (lab autosaves: the repository's notebooks are never
opened) and with its own config, data and runtime folders, so a user's settings, kernels
and workspaces neither help nor hurt. Skips without Playwright or a Chromium (conftest.py).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
STEM = "02_soft_targets_and_temperature"
SETUP_LINE = "quick profile, mnist-5k, seed 0"  # what setup.start prints first
STARTUP_SECONDS = 90  # JupyterLab and its server extensions on a busy 2-core machine
RUN_SECONDS = 120  # the Setup cell's first TensorFlow import in a fresh kernel


def free_port() -> int:
    """A localhost port nobody listens on right now (the server refuses to pick another)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call_server(url: str, token: str, *, method: str = "GET") -> int:
    """The HTTP status of ``url`` on the Jupyter server, authenticated with ``token``."""
    request = urllib.request.Request(
        url, method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def copy_of_the_notebooks(root: Path) -> Path:
    """A copy of ``notebooks/`` under ``root`` with notebook 02's outputs cleared, so that
    what the page shows after the run is what this kernel printed, not the saved outputs."""
    copy = shutil.copytree(NOTEBOOKS, root / "notebooks", ignore=shutil.ignore_patterns(".*"))
    path = copy / f"{STEM}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, path)
    return copy


def wait_until_up(process: subprocess.Popen, url: str, token: str, log: Path) -> None:
    """Return once the server answers ``url``; fail with its log if it exits or never does."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if call_server(url, token) == 200:
                return
        except (urllib.error.URLError, OSError):  # not listening yet
            pass
        time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer in {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen, base: str, token: str) -> None:
    """Shut the server down the way its own Shut Down menu does (kernels stopped first),
    then make sure the process is gone."""
    try:
        call_server(f"{base}/api/shutdown", token, method="POST")
        process.wait(timeout=30)
    except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def lab(tmp_path):
    """A running ``jupyter lab`` serving a copy of the notebooks: ``{"base", "token", "root"}``."""
    root = copy_of_the_notebooks(tmp_path)
    token, port = secrets.token_hex(16), free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        # Isolated settings, workspaces and runtime files; the kernel is still this
        # environment's python3 (found under sys.prefix, not in these folders).
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter_config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter_data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter_runtime"),
    }
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",  # CI runs as root
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        # Nothing from the internet: no news feed, no update check, no extension index.
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]  # fmt: skip
    log = tmp_path / "jupyter_lab.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until_up(process, f"{base}/api/status", token, log)
        yield {"base": base, "token": token, "root": root, "log": log}
    finally:
        stop(process, base, token)


def cell_positions(path: Path) -> tuple[int, int, int]:
    """Positions in the notebook at ``path`` of its ``parameters`` cell, its Setup cell (the
    one calling ``setup.start``) and the first code cell after Setup."""
    cells = nbformat.read(path, as_version=4).cells
    parameters = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    setup = next(i for i, c in enumerate(cells) if "setup.start(" in c.source)
    after = next(i for i, c in enumerate(cells) if i > setup and c.cell_type == "code")
    return parameters, setup, after


def run_all_above(page, cell) -> None:
    """Select ``cell`` and run every cell above it from the menu bar, as a learner would."""
    cell.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Above Selected Cell").click()


# `browser` first: without one the test skips before it starts JupyterLab.
def test_a_learner_runs_the_first_cells_of_notebook_02(browser, lab, visit):
    parameters, setup, after = cell_positions(lab["root"] / f"{STEM}.ipynb")
    seen = visit(f"{lab['base']}/lab/tree/{STEM}.ipynb?token={lab['token']}", offline=False)
    page, server_errors = seen.page, []
    page.on("response", lambda r: r.status >= 500 and server_errors.append(f"{r.status} {r.url}"))
    cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    kernel = page.locator(".jp-StatusBar-TextItem").filter(has_text="Python 3 (ipykernel) |")
    kernel.filter(has_text="| Idle").first.wait_for(timeout=STARTUP_SECONDS * 1000)

    run_all_above(page, cells.nth(setup + 1))  # parameters and Setup; not the teacher
    output = cells.nth(setup).locator(".jp-OutputArea-output").filter(has_text=SETUP_LINE)
    output.first.wait_for(timeout=RUN_SECONDS * 1000)
    idle = page.locator('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]')
    idle.wait_for(timeout=RUN_SECONDS * 1000)

    def prompt(position):
        return cells.nth(position).locator(".jp-InputPrompt").inner_text()

    assert [prompt(parameters), prompt(setup), prompt(after)] == ["[1]:", "[2]:", "[ ]:"]
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    assert [text for text in stderr.all_inner_texts() if "Traceback" in text] == []
    assert kernel.first.inner_text() == "Python 3 (ipykernel) | Idle"  # not Dead, not Busy
    assert server_errors == [], lab["log"].read_text()[-3000:]
