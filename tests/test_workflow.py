"""The CI workflows (.github/workflows/*.yml, today notebooks.yml) are valid, audited and
honest about what they run:

- valid: they validate against GitHub's workflow schema (check-jsonschema's vendored copy);
- audited: zizmor finds nothing (offline, no token; with the repository's zizmor.yml if any);
- pinned: every action is pinned to a full commit SHA, with its release tag in a comment,
  unless a committed zizmor.yml allows tag pins, and then only for GitHub's own `actions/*`;
- honest: every command that runs kdtutor or .ci/run is one the README shows, and the
  uploaded artifact holds every folder `kdtutor run --out` writes.

Offline and fast (a few seconds). check-jsonschema and zizmor come from requirements.txt;
without them the tests that need them are skipped, saying which is missing.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# Named, not globbed: without the workflow every test below fails instead of collecting nothing.
WORKFLOWS = [ROOT / ".github" / "workflows" / "notebooks.yml"]
# Where zizmor looks for its configuration in a git repository, in its order.
ZIZMOR_CONFIGS = [ROOT / ".github" / "zizmor.yml", ROOT / ".github" / "zizmor.yaml",
                  ROOT / "zizmor.yml", ROOT / "zizmor.yaml"]  # fmt: skip
SHA = re.compile(r"[0-9a-f]{40}")


def tool(name):
    """The installed command `name` (on PATH, or beside this Python), or skip."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -r requirements.txt)")
    return found


def offline_environment():
    """No token and no remote: zizmor must neither try the network nor see a global config.

    An empty GH_TOKEN is not enough: zizmor refuses it ("GitHub token cannot be empty").
    """
    hidden = {"GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN", "GH_HOST", "ZIZMOR_CONFIG"}
    env = {name: value for name, value in os.environ.items() if name not in hidden}
    env["ZIZMOR_OFFLINE"] = "true"
    return env


def load(workflow):
    return yaml.safe_load(workflow.read_text())


def uses_clauses(document):
    """Every `uses:` of the workflow: reusable-workflow jobs and steps."""
    for job in (document.get("jobs") or {}).values():
        if "uses" in job:
            yield job["uses"]
        for step in job.get("steps") or []:
            if "uses" in step:
                yield step["uses"]


def run_lines(document):
    """Every line of every `run:` script, continuation lines joined, comments dropped."""
    for job in (document.get("jobs") or {}).values():
        for step in job.get("steps") or []:
            script = step.get("run")
            if not isinstance(script, str):
                continue
            for line in script.replace("\\\n", " ").splitlines():
                line = line.strip()
                if line.startswith("#"):
                    continue
                if "'" not in line and '"' not in line:
                    line = re.sub(r"\s+#.*$", "", line)
                if line:
                    yield " ".join(line.split())


def invokes_the_project(line):
    """True for a line that runs kdtutor (also `python -m kdtutor`) or .ci/run."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    return any(
        word == "kdtutor" or word.endswith(".ci/run") or (word == "-m" and rest[:1] == ["kdtutor"])
        for word, rest in ((word, words[i + 1 :]) for i, word in enumerate(words))
    )


def readme_commands(text):
    """What the README shows as code: each line of a fenced block, each inline code span."""
    shown = set()
    fence = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
    for block in fence.findall(text):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line:
                shown.add(" ".join(line.split()))
    for span in re.findall(r"`([^`]+)`", fence.sub("", text)):
        shown.add(" ".join(span.split()))
    return shown


def zizmor_config():
    for path in ZIZMOR_CONFIGS:
        if path.exists():
            return path, yaml.safe_load(path.read_text()) or {}
    return None, {}


@pytest.fixture(params=WORKFLOWS, ids=lambda path: path.name)
def workflow(request):
    return request.param


def test_the_workflow_is_valid_for_github(workflow):
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing(workflow):
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "--color", "never", "--format", "json",
         str(workflow)],
        capture_output=True, text=True, timeout=120, env=offline_environment(), cwd=ROOT,
    )  # fmt: skip
    try:
        findings = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"zizmor did not answer in JSON (exit {result.returncode}):\n"
                    f"{result.stdout}\n{result.stderr}")  # fmt: skip
    summary = [
        f"{finding['ident']} ({finding['determinations']['severity']}): {finding['desc']}"
        f" at line {finding['locations'][0]['concrete']['location']['start_point']['row'] + 1}"
        for finding in findings
    ]
    assert findings == [], "zizmor findings:\n" + "\n".join(summary)
    assert result.returncode == 0, result.stderr


def test_every_action_is_pinned_to_a_commit(workflow):
    config_path, config = zizmor_config()
    policies = ((config.get("rules") or {}).get("unpinned-uses") or {}).get("config") or {}
    relaxed = {pattern for pattern, policy in (policies.get("policies") or {}).items()
               if policy != "hash-pin"}  # fmt: skip
    # A committed config may relax pinning for GitHub's own actions only.
    assert all(pattern.startswith("actions/") for pattern in relaxed), (config_path, relaxed)

    text = workflow.read_text()
    uses = list(uses_clauses(load(workflow)))
    assert uses, "no `uses:` found: is the workflow parsed right?"
    problems = []
    for clause in uses:
        if clause.startswith("./"):
            continue  # an action of this repository: pinned by the checkout itself
        action, _, ref = clause.partition("@")
        repository = "/".join(action.split("/")[:2])
        if SHA.fullmatch(ref):
            # The tag the SHA was taken from, for whoever updates it: `@<sha> # v1.2.3`.
            if not re.search(rf"uses:\s*{re.escape(clause)}\s+#\s*v\d+(\.\d+)*\s*$", text,
                             re.MULTILINE):  # fmt: skip
                problems.append(f"{clause}: no `# vX.Y.Z` comment naming the pinned tag")
        elif not (repository.startswith("actions/") and
                  ("actions/*" in relaxed or repository in relaxed)):  # fmt: skip
            problems.append(f"{clause}: not pinned to a 40-hex commit SHA")
    assert not problems, "\n".join(problems)


def test_the_workflow_runs_only_what_the_readme_shows(workflow):
    commands = [line for line in run_lines(load(workflow)) if invokes_the_project(line)]
    if workflow.name == "notebooks.yml":
        assert any(".ci/run" in command for command in commands), commands
        assert any(command.startswith("kdtutor run") for command in commands), commands
    shown = readme_commands(README.read_text())
    missing = [command for command in commands if command not in shown]
    assert not missing, (
        "the workflow runs commands that README.md does not show (as `code` or in a code "
        "block):\n" + "\n".join(missing)
    )


def test_the_artifact_holds_every_run_folder(workflow):
    document = load(workflow)
    outputs = set()
    for line in run_lines(document):
        words = line.split()
        if words[:2] == ["kdtutor", "run"] and "--out" in words:
            outputs.add(words[words.index("--out") + 1].rstrip("/"))
    uploaded = set()
    for job in (document.get("jobs") or {}).values():
        for step in job.get("steps") or []:
            if str(step.get("uses", "")).startswith("actions/upload-artifact@"):
                paths = str(step["with"]["path"]).splitlines()
                uploaded |= {path.strip().rstrip("/") for path in paths if path.strip()}
    assert outputs <= uploaded, f"run folders not uploaded: {sorted(outputs - uploaded)}"
