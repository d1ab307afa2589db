"""What ``kdtutor run`` prints once the notebooks ran: the prose's claims checked, and a summary.

- :func:`check_claims`: the claims of ``notebooks/claims.json`` for the notebooks that ran
  (:mod:`kdtutor.series.claims`), stored in ``results.json["_run"]["claims"]``.
- :func:`print_summary`: each notebook's status and times, the run's overhead and where its
  results and report are.
"""

from __future__ import annotations

from kdtutor.series import claims, progress, results
from kdtutor.series.profiles import PROFILES


def check_claims(plan, outcome) -> list:
    """Check the prose's claims (notebooks/claims.json) for the notebooks that ran; print them.

    Claims are made for a profile as it stands: a run with ``-p`` overrides or another
    dataset is not what the prose describes, so its claims are listed as not checked.
    The outcome is stored in ``results.json["_run"]["claims"]`` for the report.
    """
    ran = [stem for stem, timing in outcome.run["notebooks"].items() if timing["status"] == "ok"]
    if plan.parameters or plan.dataset != PROFILES[plan.profile]["dataset"]:
        why = "-p overrides" if plan.parameters else f"dataset {plan.dataset}"
        print(f"Claims:   not checked (the run has {why}; the prose describes the profile)")
        _store_claims(plan, outcome, {"checked": False, "why": why})
        return []
    try:
        outcomes = claims.check(results.load(plan.out_dir), plan.profile, notebooks=ran)
    except (claims.ClaimsFileError, results.ResultsFileError) as error:
        print(f"Claims:   could not be checked: {error}")
        _store_claims(plan, outcome, {"checked": False, "why": str(error)})
        return []
    failed = [item for item in outcomes if not item.holds]
    if not outcomes:
        why = "no notebook completed" if not ran else "the notebooks that ran make none"
        print(f"Claims:   none checked ({why})")
    else:
        print(f"Claims:   {len(outcomes) - len(failed)} of {len(outcomes)} hold")
    for item in failed:
        print(f"  FAILS   {item.claim.notebook}: {item.claim.text} ({item.detail})")
    _store_claims(plan, outcome, {
        "checked": True,
        "total": len(outcomes),
        "failed": [{"notebook": item.claim.notebook, "claim": item.claim.text,
                    "detail": item.detail} for item in failed],
    })  # fmt: skip
    return outcomes


def _store_claims(plan, outcome, value: dict) -> None:
    outcome.run["claims"] = value
    results.write_run_record(plan.out_dir, outcome.run)


def print_summary(plan, record: dict, reports) -> None:
    """Print each notebook's status and times, the run's overhead, its results and report."""
    timings = record["notebooks"]
    done = sum(t["status"] == "ok" for t in timings.values())
    wall, own_total = record["wall_seconds"], record["notebook_seconds_total"]
    print()
    print(
        f"{'Finished' if record['status'] == 'ok' else 'Stopped'}: {done} of "
        f"{len(plan.notebooks)} notebook(s) completed, wall time {progress.format_seconds(wall)} "
        f"({wall:.1f} s)."
    )
    width = max(len(stem) for stem in [*timings, *record.get("not_run", []), "notebook"])

    def seconds(value):
        return f"{value:.1f} s" if value is not None else "—"

    print(f"  {'notebook':<{width}}  {'status':<6}  {'runner':>8}  {'kernel':>7}  {'own':>8}")
    for stem, timing in timings.items():
        print(
            f"  {stem:<{width}}  {timing['status']:<6}  {seconds(timing['wall_seconds']):>8}  "
            f"{seconds(timing.get('kernel_start_seconds')):>7}  "
            f"{seconds(timing.get('notebook_seconds')):>8}"
        )
    for stem in record.get("not_run", []):
        print(f"  {stem:<{width}}  not run")
    print(
        "  runner = wall time of the notebook in papermill; kernel = kernel start-up; "
        "own = the notebook's recorded `seconds` (imports included)"
    )
    if record["status"] == "ok":
        ratio = record.get("overhead_ratio")
        share = f" = {100 * ratio:.1f} % of the notebooks' own time" if ratio is not None else ""
        parts = record["overhead_parts"]
        print(
            f"  overhead: {record['overhead_seconds']:.1f} s (wall {wall:.1f} s - notebooks' own "
            f"{own_total:.1f} s){share}:\n"
            f"    kernel start-ups {parts['kernel_start']:.1f} s, this command's "
            f"start-up {parts['command_start']:.1f} s, papermill and other "
            f"{parts['papermill_and_other']:.1f} s, the HTML copies {parts['html']:.1f} s, "
            f"the report {parts['report']:.1f} s"
        )
    print(f"Results:  {plan.out_dir / 'results.json'}")
    if reports:
        print(f"Report:   {reports[1]}  (and {reports[0].name})")
