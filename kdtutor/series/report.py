"""The report of a run: ``report.md`` and ``report.html`` next to its ``results.json``.

:func:`write_report` reads ``<run_dir>/results.json`` (the notebooks' entries and the
runner's ``"_run"`` record) and writes

- ``report.md``: headline numbers, the trade-off table, per-notebook wall times and links
  to the executed notebooks and their readable HTML copies (where the run wrote them),
  with the figures as ``report_*.png`` files next to it;
- ``report.html``: the same Markdown rendered by ``mistune`` (nbconvert's Markdown library),
  self-contained (figures embedded as base64 PNG), to open in a browser or attach to a CI run.

The headline is the distillation result: the teacher's test accuracy, the student trained
on the labels alone and the distilled student (mean ± sample standard deviation over the
seeds, and every seed's value), and the gain. Whatever a run did not produce (``--only``,
a failure) is shown as "not run", never as an error.
"""

from __future__ import annotations

import base64
import datetime
import html
from pathlib import Path

from kdtutor.series import report_tables as tables

__all__ = ["write_report", "REPORT_FILES"]

REPORT_FILES = ("report.md", "report.html")


def _figures(headline: dict, tradeoffs: list[dict]) -> list[tuple[str, str, object]]:
    """(file name, caption, matplotlib Figure or an error string) for each key plot."""
    from kdtutor import plots

    figures = []
    if headline["scratch"] and headline["kd"] and len(headline["scratch"]) == len(headline["kd"]):
        try:
            figure = plots.accuracy_per_seed(
                headline["seeds"],
                {"from scratch": headline["scratch"], "distilled": headline["kd"]},
                reference=headline["teacher"],
            )
        except Exception as error:  # a figure must never cost the report
            figure = f"{type(error).__name__}: {error}"
        figures.append(
            ("report_accuracy_per_seed.png", "Test accuracy of the student per seed", figure)
        )
    if tradeoffs and all("gzip_bytes" in row and "accuracy" in row for row in tradeoffs):
        try:
            import pandas as pd

            figure = plots.tradeoff(
                pd.DataFrame(tradeoffs),
                "gzip_bytes",
                log_x=True,
                xlabel="gzipped size (bytes)",
                title="Accuracy vs. size",
            )
        except Exception as error:
            figure = f"{type(error).__name__}: {error}"
        figures.append(("report_tradeoff_gzip.png", "Accuracy vs. gzipped model size", figure))
    return figures


def write_report(run_dir, notebooks=None) -> tuple[Path, Path]:
    """Write ``report.md``, ``report.html`` and the ``report_*.png`` figures into ``run_dir``.

    ``run_dir`` holds the ``results.json`` of a run (``kdtutor run``'s ``--out``,
    or a notebook's ``RESULTS_DIR``). ``notebooks`` is the series as
    :func:`kdtutor.series.notebooks.discover` returns it (for titles and the "not run"
    rows); ``None`` discovers it. Returns the paths of the two reports.
    Raises ``FileNotFoundError`` when ``run_dir`` has no ``results.json``, and
    :class:`kdtutor.series.results.ResultsFileError` when it cannot be read or has
    the wrong shape.
    """
    from kdtutor.series import results as results_file
    from kdtutor.series.failures import describe_failure
    from kdtutor.series.notebooks import UsageError, discover

    run_dir = Path(run_dir)
    if not (run_dir / results_file.RESULTS_FILE).is_file():
        raise FileNotFoundError(
            f"No {results_file.RESULTS_FILE} in {run_dir}; run `kdtutor run --out {run_dir}` "
            "first, or give the folder a notebook wrote its results to."
        )
    results = results_file.load(run_dir)
    run = results.get(results_file.RUN_KEY, {})
    if notebooks is None:
        try:
            notebooks = discover()
        except UsageError:
            notebooks = []
    failure = run.get("failure")
    headline, notes, numbers = tables.headline(results, (failure or {}).get("notebook"))
    trade = results.get(tables.TRADEOFFS, {})
    tradeoffs = trade.get("tradeoffs") or []
    pareto = trade.get("pareto_gzip") or []
    figures = _figures(numbers, tradeoffs)
    images = {}
    for name, _, figure in figures:
        if not isinstance(figure, str):
            figure.savefig(run_dir / name, dpi=110)
            images[name] = base64.b64encode((run_dir / name).read_bytes()).decode("ascii")
    notebook_table = tables.notebook_table(results, run, notebooks, run_dir)
    status = run.get("status", "unknown (not written by kdtutor run)")
    written = datetime.datetime.now().astimezone().isoformat(timespec="seconds")

    md = [f"# kdtutor run report — {run_dir.name}", "", f"Status: **{status}**. Written {written}."]
    if failure:
        md += ["", "```text", describe_failure(failure), "```"]
    md += ["", "## Distillation: the headline", "", headline, "", *notes, ""]
    md += [
        "Test accuracy on the dataset's test split; mean ± sample standard deviation over the "
        "seeds, which differ in initial weights and shuffling (the scratch and distilled "
        "students of one seed start from the same weights).",
        "",
        "## Compression trade-offs",
        "",
    ]
    if tradeoffs:
        md += [
            tables.tradeoff_table(tradeoffs, pareto),
            "",
            "Accuracy on the test split; file = the deployable .tflite or .keras file; latency = "
            "median batch-1 time. 'best size/accuracy' marks the Pareto front: no other model "
            "is both smaller (gzipped) and more accurate.",
        ]
    else:
        md.append(f"{tables.NOT_RUN} (notebook 04).")
    md += ["", "## When distillation helps (notebook 05)", ""]
    when_table, when_lines = tables.when_it_helps(results.get(tables.WHEN, {}))
    if when_table is None and not when_lines:
        md += [f"{tables.NOT_RUN} (notebook 05).", ""]
    if when_table is not None:
        md += [
            when_table,
            "",
            "Test accuracy (mean ± sd over seeds) of the student trained on a fraction of the "
            "labels, from scratch and distilled from the teacher (trained on all labels); "
            "every student trains until its accuracy on a held-out validation part stops "
            "improving. Gain ± SE: kdtutor.compare's rule (seeds and test images).",
            "",
        ]
    md += [*[f"- {line}" for line in when_lines], "", "## Plots", ""]
    if not figures:
        md += [f"{tables.NOT_RUN} (they need notebook 03's students or notebook 04's table).", ""]
    for name, caption, figure in figures:
        if isinstance(figure, str):
            md += [f"{caption}: could not be drawn ({figure}).", ""]
        else:
            md += [f"![{caption}]({name})", "", f"*{caption}*", ""]
    md += ["## Claims of the notebooks' prose", "", tables.claims_line(run.get("claims")), ""]
    md += ["## Notebooks", "", notebook_table, ""]
    md += ["## The run", "", *[f"- {line}" for line in tables.run_lines(run)], ""]

    md_path, html_path = (run_dir / name for name in REPORT_FILES)
    md_path.write_text("\n".join(md))
    html_path.write_text(_html("\n".join(md), f"kdtutor report {run_dir.name}", images))
    return md_path, html_path


def _html(markdown: str, title: str, images: dict) -> str:
    """``markdown`` as one self-contained page: mistune's HTML, figures as data: URIs."""
    import mistune

    body = mistune.create_markdown(escape=True, plugins=["table"])(markdown)
    for name, data in images.items():
        body = body.replace(f'src="{name}"', f'src="data:image/png;base64,{data}"')
    return _PAGE.format(title=html.escape(title), body=body)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }}
th {{ background: #f3f3f3; }}
pre {{ background: #fdecea; border-left: 4px solid #c62828; padding: 0.6rem;
       white-space: pre-wrap; }}
img {{ max-width: 100%; }}
</style></head>
<body>
{body}
</body></html>
"""
