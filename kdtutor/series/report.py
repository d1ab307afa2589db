"""The report of a run: ``report.md`` and ``report.html`` next to its ``results.json``.

:func:`write_report` reads ``<run_dir>/results.json`` (the notebooks' entries and the
runner's ``"_run"`` record) and writes

- ``report.md``: headline numbers, the trade-off table, per-notebook wall times and links
  to the executed notebooks and their readable HTML copies (where the run wrote them),
  with the figures as ``report_*.png`` files next to it;
- ``report.html``: the same, self-contained (figures embedded as base64 PNG), to open in a
  browser or attach to a CI run.

The headline is the distillation result: the teacher's test accuracy, the student trained
on the labels alone and the distilled student (mean ± sample standard deviation over the
seeds, and every seed's value), and the gain. Whatever a run did not produce (``--only``,
a failure) is shown as "not run", never as an error.
"""

from __future__ import annotations

import base64
import datetime
import html
import re
import statistics
from pathlib import Path

from kdtutor.data import FASHION_MNIST_CLASS_NAMES

__all__ = ["write_report", "REPORT_FILES"]

REPORT_FILES = ("report.md", "report.html")
_TEACHER = "01_teacher_training"
_DISTILL = "03_distilling_the_student"
_TRADEOFFS = "04_compression_tradeoffs"
_WHEN = "05_when_distillation_helps"
_NOT_RUN = "not run"


class _Table:
    """Rows of already formatted strings, rendered as Markdown or HTML."""

    def __init__(self, headers, rows):
        self.headers, self.rows = list(headers), [list(row) for row in rows]

    def markdown(self) -> str:
        def line(cells):
            return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

        return "\n".join(
            [line(self.headers), line(["---"] * len(self.headers)), *map(line, self.rows)]
        )

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>"
            for row in self.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Link(str):
    """A table cell that is a link: text, target."""

    def __new__(cls, text, target):
        value = super().__new__(cls, f"[{text}]({target})")
        value.text, value.target = text, target
        return value


def _inline_html(cell) -> str:
    if isinstance(cell, _Link):
        return f'<a href="{html.escape(cell.target)}">{html.escape(cell.text)}</a>'
    return html.escape(str(cell))


# The results were checked on loading (kdtutor.series.results.validate): a value the report
# reads is of the right type, or missing.


def _percent(value) -> str:
    return f"{100 * value:.2f} %" if value is not None else _NOT_RUN


def _seconds(value) -> str:
    return f"{value:.1f} s" if value is not None else "—"


def _spread(values) -> tuple[str, str]:
    """``("93.60 % ± 0.26", "93.5, 93.9, 93.4")`` for a list of per-seed accuracies."""
    if not values:
        return _NOT_RUN, ""
    mean = statistics.fmean(values)
    spread = f" ± {100 * statistics.stdev(values):.2f}" if len(values) > 1 else ""
    return f"{100 * mean:.2f} %{spread}", ", ".join(f"{100 * v:.1f}" for v in values)


def _headline(results: dict, failed: str | None) -> tuple[_Table, list[str], dict]:
    def missing(stem: str) -> str:
        return f"notebook {stem[:2]} {'failed' if stem == failed else _NOT_RUN}"

    distill = results.get(_DISTILL, {})
    teacher_from = next(
        (
            stem
            for stem in (_TEACHER, _DISTILL, "02_soft_targets_and_temperature", _TRADEOFFS)
            if results.get(stem, {}).get("teacher_accuracy") is not None
        ),
        None,
    )
    teacher = results[teacher_from]["teacher_accuracy"] if teacher_from else None
    scratch = distill.get("student_scratch_accuracy") or []
    kd = distill.get("student_kd_accuracy") or []
    seeds = distill.get("seeds") or list(range(len(kd)))
    notes = []
    rows = [
        ["teacher", _percent(teacher), "", teacher_from or missing(_TEACHER)],
        [
            "student from scratch (labels only)",
            *_spread(scratch),
            _DISTILL if scratch else missing(_DISTILL),
        ],
    ]
    settings = ""
    if "temperature" in distill and "alpha" in distill:
        settings = f" (T = {distill['temperature']:g}, alpha = {distill['alpha']:g})"
    rows.append(
        [f"distilled student{settings}", *_spread(kd), _DISTILL if kd else missing(_DISTILL)]
    )
    if scratch and kd and len(scratch) == len(kd):
        gain = 100 * (statistics.fmean(kd) - statistics.fmean(scratch))
        wins = sum(k > s for k, s in zip(kd, scratch, strict=True))
        detail = f"distilled better on {wins} of {len(kd)} seeds"
        shown = f"{gain:+.2f} points"
        if distill.get("kd_verdict") and distill.get("kd_gain_standard_error_points") is not None:
            shown = f"{gain:+.2f} ± {distill['kd_gain_standard_error_points']:.2f} points"
            detail = f"{distill['kd_verdict']} (kdtutor.compare rule); {detail}"
        rows.append(["gain from distillation", shown, detail, _DISTILL])
    if distill.get("student_params") and results.get(_TEACHER, {}).get("teacher_params"):
        ratio = results[_TEACHER]["teacher_params"] / distill["student_params"]
        notes.append(
            f"The student has {distill['student_params']:,} parameters, the teacher "
            f"{results[_TEACHER]['teacher_params']:,} ({ratio:.1f}× more)."
        )
    table = _Table(["model", "test accuracy (mean ± sd)", "per seed (%)", "from"], rows)
    return table, notes, {"seeds": seeds, "scratch": scratch, "kd": kd, "teacher": teacher}


def _omitted_class(entry: dict) -> str:
    """Notebook 05 calls it the omitted digit; on Fashion-MNIST it is a garment, named here."""
    index, dataset = entry.get("omitted_digit"), entry.get("dataset")
    if dataset == "fashion_mnist" and isinstance(index, int) and 0 <= index < 10:
        return f"class {index} ({FASHION_MNIST_CLASS_NAMES[index].lower()})"
    return f"digit {index if index is not None else '?'}"


def _when_it_helps(entry: dict) -> tuple[_Table | None, list[str]]:
    """Notebook 05's headline: the gain per labelled fraction, then one line per other section."""
    table = None
    fractions = entry.get("label_fractions") or []
    scratch, kd = entry.get("fraction_scratch_accuracy"), entry.get("fraction_kd_accuracy")
    gains = entry.get("fraction_gain_points")
    errors = entry.get("fraction_gain_standard_error_points")
    images = entry.get("labelled_images") or [None] * len(fractions)
    if fractions and scratch and kd and gains and errors:
        rows = [
            [f"{100 * fraction:g} %", f"{count:,}" if count else "", _spread(s)[0], _spread(k)[0],
             f"{gain:+.2f} ± {error:.2f}"]
            for fraction, count, s, k, gain, error
            in zip(fractions, images, scratch, kd, gains, errors, strict=True)
        ]  # fmt: skip
        table = _Table(
            ["labelled fraction", "labelled images", "from scratch", "distilled",
             "gain ± SE (points)"],
            rows,
        )  # fmt: skip
    lines = []
    baselines = entry.get("baselines") or {}
    if baselines:
        means = ", ".join(f"{name} {_spread(values)[0]}" for name, values in baselines.items())
        fraction = entry.get("baseline_fraction")
        at = f" at {100 * fraction:g} % of the labels" if fraction else ""
        lines.append(f"Strong baselines{at}: {means}.")
    if entry.get("kd_over_augmentation_points") is not None:
        lines.append(
            "Distilled with augmentation (teacher on the same batch) vs augmentation alone: "
            f"{entry['kd_over_augmentation_points']:+.2f} ± "
            f"{entry.get('kd_over_augmentation_standard_error_points', float('nan')):.2f} points."
        )
    for row in entry.get("omitted_class") or []:
        counted = next((v for k, v in row.items() if str(k).endswith("recognised")), None)
        if counted is not None:
            lines.append(
                f"Omitted {_omitted_class(entry)}: {row['student']} student, "
                f"bias {row['bias']:g}: {counted} of {entry.get('omitted_test_images', '?')} "
                "test images recognised."
            )
    if entry.get("feature_gain_points") is not None:
        lines.append(
            f"Feature distillation over logits only: {entry['feature_gain_points']:+.2f} ± "
            f"{entry.get('feature_gain_standard_error_points', float('nan')):.2f} points."
        )
    for row in entry.get("sklearn") or []:
        described = ", ".join(
            f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
            for key, value in row.items()
        )
        lines.append(f"scikit-learn student: {described}.")
    return table, lines


def _tradeoff_table(rows: list[dict], pareto: list) -> _Table:
    columns = [
        ("model", "model", str),
        ("accuracy", "test accuracy", _percent),
        ("file_bytes", "file (kB)", lambda v: f"{v / 1000:,.1f}"),
        ("gzip_bytes", "gzipped (kB)", lambda v: f"{v / 1000:,.1f}"),
        ("latency_ms", "latency batch 1 (ms)", lambda v: f"{v:.3f}"),
        ("params", "parameters", lambda v: f"{v:,}"),
        ("sparsity", "sparsity", lambda v: f"{100 * v:.0f} %"),
    ]
    present = [c for c in columns if any(c[0] in row for row in rows)]
    body = []
    for row in rows:
        cells = [fmt(row[key]) if row.get(key) is not None else "—" for key, _, fmt in present]
        if pareto:
            cells.append("yes" if row.get("model") in pareto else "")
        body.append(cells)
    headers = [title for _, title, _ in present] + (["best size/accuracy"] if pareto else [])
    return _Table(headers, body)


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


def _notebook_rows(results: dict, run: dict, notebooks, run_dir: Path) -> _Table:
    timings = run.get("notebooks", {})
    titles = {nb.stem: nb.title for nb in notebooks or []}
    stems = list(titles) + sorted(
        stem for stem in {*results, *timings} if stem not in titles and stem[:1].isdigit()
    )
    failed = (run.get("failure") or {}).get("notebook")
    rows = []
    for stem in stems:
        timing = timings.get(stem, {})
        if stem == failed:
            status = "FAILED"
        elif timing.get("status") == "ok" or (not timings and stem in results):
            status = "ok"
        else:
            status = _NOT_RUN
        own = timing.get("notebook_seconds", results.get(stem, {}).get("seconds"))
        rows.append(
            [
                stem,
                titles.get(stem, ""),
                status,
                _seconds(timing.get("wall_seconds")),
                _seconds(own),
                _file_link(run_dir / f"{stem}.ipynb"),
                _file_link(run_dir / f"{stem}.html"),
            ]
        )
    return _Table(
        [
            "notebook",
            "title",
            "status",
            "wall time (runner)",
            "own time (notebook)",
            "executed notebook",
            "to read (HTML)",
        ],
        rows,
    )


def _file_link(path: Path):
    """A relative link to ``path`` (the report sits in the same folder), or "—" if absent."""
    return _Link(path.name, path.name) if path.exists() else "—"


def _run_lines(run: dict) -> list[str]:
    if not run:
        return ["No runner record (`_run`): these results were not written by `kdtutor run`."]
    lines = [
        f"Profile **{run.get('profile')}**, dataset **{run.get('dataset')}** "
        f"({run.get('dataset_source')}), started {run.get('started')}.",
    ]
    if run.get("parameters"):
        lines.append(
            "Parameters: " + ", ".join(f"`{k}={v!r}`" for k, v in run["parameters"].items()) + "."
        )
    wall, own = run.get("wall_seconds"), run.get("notebook_seconds_total")
    if wall is not None and own is not None:
        ratio = run.get("overhead_ratio")
        share = f" ({100 * ratio:.1f} % of the notebooks' time)" if ratio is not None else ""
        lines.append(
            f"Wall time {wall:.1f} s; the notebooks' own time {own:.1f} s; overhead "
            f"{wall - own:.1f} s{share}."
        )
        parts = run.get("overhead_parts") or {}
        names = {
            "kernel_start": "kernel start-ups",
            "command_start": "the command's start-up",
            "papermill_and_other": "papermill and other",
            "html": "the HTML copies",
            "report": "the report",
        }
        if parts:
            lines.append(
                "Overhead: "
                + ", ".join(f"{names.get(k, k)} {v:.1f} s" for k, v in parts.items())
                + "."
            )
    versions, machine = run.get("versions", {}), run.get("machine", {})
    if versions:
        lines.append(", ".join(f"{name} {version}" for name, version in versions.items()) + ".")
    if machine:
        gpus = ", ".join(machine.get("gpus") or []) or "no GPU"
        lines.append(
            f"{machine.get('platform')}, {machine.get('cpus_usable')} usable CPU threads "
            f"({machine.get('cpu_count')} in all), {gpus}."
        )
    return lines


def _note(md: list[str], body: list[str], text: str) -> None:
    """Append an explanatory paragraph to the Markdown and the HTML report alike."""
    md += [text, ""]
    body.append(f"<p class='note'>{html.escape(text)}</p>")


def _heading(md: list[str], body: list[str], text: str) -> None:
    """Append a section heading to the Markdown and the HTML report alike."""
    md += [f"## {text}", ""]
    body.append(f"<h2>{html.escape(text)}</h2>")


def _not_run(md: list[str], body: list[str], why: str) -> None:
    """Say that a section's notebook did not run (``why``: which one, in parentheses)."""
    md += [f"{_NOT_RUN} {why}.", ""]
    body.append(f"<p>{_NOT_RUN} {html.escape(why)}.</p>")


def _table(md: list[str], body: list[str], table: _Table, explain: str) -> None:
    """Append ``table`` and the paragraph that explains its columns."""
    md += [table.markdown(), ""]
    body.append(table.html())
    _note(md, body, explain)


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
    headline, notes, numbers = _headline(results, (failure or {}).get("notebook"))
    trade = results.get(_TRADEOFFS, {})
    tradeoffs = trade.get("tradeoffs") or []
    pareto = trade.get("pareto_gzip") or []
    figures = _figures(numbers, tradeoffs)
    images = {}
    for name, _, figure in figures:
        if not isinstance(figure, str):
            figure.savefig(run_dir / name, dpi=110)
            images[name] = base64.b64encode((run_dir / name).read_bytes()).decode("ascii")
    notebook_table = _notebook_rows(results, run, notebooks, run_dir)
    status = run.get("status", "unknown (not written by kdtutor run)")
    written = datetime.datetime.now().astimezone().isoformat(timespec="seconds")

    # Markdown and HTML are built side by side from the same pieces.
    md = [f"# kdtutor run report — {run_dir.name}", "", f"Status: **{status}**. Written {written}."]
    body = [
        f"<h1>kdtutor run report — {html.escape(run_dir.name)}</h1>",
        f"<p>Status: <b>{html.escape(status)}</b>. Written {html.escape(written)}.</p>",
    ]
    if failure:
        text = describe_failure(failure)
        md += ["", "```text", text, "```"]
        body.append(f'<pre class="failure">{html.escape(text)}</pre>')

    md += ["", "## Distillation: the headline", "", headline.markdown(), ""]
    body += ["<h2>Distillation: the headline</h2>", headline.html()]
    md += [*notes, ""] if notes else []
    body += [f"<p>{html.escape(note)}</p>" for note in notes]
    caption = (
        "Test accuracy on the dataset's test split; mean ± sample standard deviation over "
        "the seeds, which differ in initial weights and shuffling (the scratch and distilled "
        "students of one seed start from the same weights)."
    )
    _note(md, body, caption)

    _heading(md, body, "Compression trade-offs")
    if tradeoffs:
        explain = (
            "Accuracy on the test split; file = the deployable .tflite or .keras file; latency = "
            "median batch-1 time. 'best size/accuracy' marks the Pareto front: no other model "
            "is both smaller (gzipped) and more accurate."
        )
        _table(md, body, _tradeoff_table(tradeoffs, pareto), explain)
    else:
        _not_run(md, body, "(notebook 04)")

    _heading(md, body, "When distillation helps (notebook 05)")
    when_table, when_lines = _when_it_helps(results.get(_WHEN, {}))
    if when_table is None and not when_lines:
        _not_run(md, body, "(notebook 05)")
    if when_table is not None:
        explain = (
            "Test accuracy (mean ± sd over seeds) of the student trained on a fraction of the "
            "labels, from scratch and distilled from the teacher (trained on all labels); "
            "every student trains until its accuracy on a held-out validation part stops "
            "improving. Gain ± SE: kdtutor.compare's rule (seeds and test images)."
        )
        _table(md, body, when_table, explain)
    if when_lines:
        md += [*[f"- {line}" for line in when_lines], ""]
        body += ["<ul>", *[f"<li>{html.escape(line)}</li>" for line in when_lines], "</ul>"]

    _heading(md, body, "Plots")
    if not figures:
        _not_run(md, body, "(they need notebook 03's students or notebook 04's table)")
    for name, caption, figure in figures:
        if isinstance(figure, str):
            md += [f"{caption}: could not be drawn ({figure}).", ""]
            body.append(
                f"<p>{html.escape(caption)}: could not be drawn ({html.escape(figure)}).</p>"
            )
        else:
            md += [f"![{caption}]({name})", ""]
            body.append(
                f'<figure><img alt="{html.escape(caption)}" '
                f'src="data:image/png;base64,{images[name]}"><figcaption>{html.escape(caption)}'
                "</figcaption></figure>"
            )

    _heading(md, body, "Claims of the notebooks' prose")
    _note(md, body, _claims_line(run.get("claims")))

    md += ["## Notebooks", "", notebook_table.markdown(), ""]
    body += ["<h2>Notebooks</h2>", notebook_table.html()]
    md += ["## The run", "", *[f"- {line}" for line in _run_lines(run)], ""]
    body += ["<h2>The run</h2>", "<ul>"]
    body += [f"<li>{_markdown_inline(line)}</li>" for line in _run_lines(run)]
    body.append("</ul>")

    md_path, html_path = (run_dir / name for name in REPORT_FILES)
    md_path.write_text("\n".join(md))
    html_path.write_text(
        _HTML.format(title=html.escape(f"kdtutor report {run_dir.name}"), body="\n".join(body))
    )
    return md_path, html_path


def _claims_line(checked: dict | None) -> str:
    """One paragraph: how many of the prose's claims (notebooks/claims.json) held, and which not."""
    if not checked:
        return "Not checked: kdtutor run checks them after a run (see kdtutor.series.claims)."
    if not checked.get("checked"):
        return f"Not checked: {checked.get('why', 'unknown reason')}."
    failed = checked.get("failed") or []
    total = checked.get("total", 0)
    line = f"{total - len(failed)} of {total} claims hold."
    if failed:
        line += " Failing: " + "; ".join(
            f"{item['notebook']}: {item['claim']} ({item['detail']})" for item in failed
        )
    return line


def _markdown_inline(text: str) -> str:
    """Escape ``text`` for HTML, turning its ``**bold**`` and ```code``` into tags."""
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }}
th {{ background: #f3f3f3; }}
.note {{ color: #555; font-size: 0.9rem; }}
.failure {{ background: #fdecea; border-left: 4px solid #c62828; padding: 0.6rem;
           white-space: pre-wrap; }}
img {{ max-width: 100%; }}
</style></head>
<body>
{body}
</body></html>
"""
