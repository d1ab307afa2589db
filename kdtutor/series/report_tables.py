"""The report's tables and lines, written as Markdown from a run's results.

:mod:`kdtutor.series.report` puts them together into ``report.md`` and renders it to HTML.
The results were checked on loading (:func:`kdtutor.series.results.load`): a value read here
is of the right type, or missing; whatever a run did not produce is shown as "not run".
"""

from __future__ import annotations

import statistics
from pathlib import Path

from kdtutor.data import FASHION_MNIST_CLASS_NAMES

TEACHER = "01_teacher_training"
DISTILL = "03_distilling_the_student"
TRADEOFFS = "04_compression_tradeoffs"
WHEN = "05_when_distillation_helps"
NOT_RUN = "not run"


def markdown_table(headers, rows) -> str:
    """A Markdown table of already formatted cells."""

    def line(cells):
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *map(line, rows)])


# The results were checked on loading (kdtutor.series.results.validate): a value the report
# reads is of the right type, or missing.


def percent(value) -> str:
    return f"{100 * value:.2f} %" if value is not None else NOT_RUN


def seconds(value) -> str:
    return f"{value:.1f} s" if value is not None else "—"


def spread(values) -> tuple[str, str]:
    """``("93.60 % ± 0.26", "93.5, 93.9, 93.4")`` for a list of per-seed accuracies."""
    if not values:
        return NOT_RUN, ""
    mean = statistics.fmean(values)
    spread = f" ± {100 * statistics.stdev(values):.2f}" if len(values) > 1 else ""
    return f"{100 * mean:.2f} %{spread}", ", ".join(f"{100 * v:.1f}" for v in values)


def headline(results: dict, failed: str | None) -> tuple[str, list[str], dict]:
    def missing(stem: str) -> str:
        return f"notebook {stem[:2]} {'failed' if stem == failed else NOT_RUN}"

    distill = results.get(DISTILL, {})
    teacher_from = next(
        (
            stem
            for stem in (TEACHER, DISTILL, "02_soft_targets_and_temperature", TRADEOFFS)
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
        ["teacher", percent(teacher), "", teacher_from or missing(TEACHER)],
        [
            "student from scratch (labels only)",
            *spread(scratch),
            DISTILL if scratch else missing(DISTILL),
        ],
    ]
    settings = ""
    if "temperature" in distill and "alpha" in distill:
        settings = f" (T = {distill['temperature']:g}, alpha = {distill['alpha']:g})"
    rows.append([f"distilled student{settings}", *spread(kd), DISTILL if kd else missing(DISTILL)])
    if scratch and kd and len(scratch) == len(kd):
        gain = 100 * (statistics.fmean(kd) - statistics.fmean(scratch))
        wins = sum(k > s for k, s in zip(kd, scratch, strict=True))
        detail = f"distilled better on {wins} of {len(kd)} seeds"
        shown = f"{gain:+.2f} points"
        if distill.get("kd_verdict") and distill.get("kd_gain_standard_error_points") is not None:
            shown = f"{gain:+.2f} ± {distill['kd_gain_standard_error_points']:.2f} points"
            detail = f"{distill['kd_verdict']} (kdtutor.compare rule); {detail}"
        rows.append(["gain from distillation", shown, detail, DISTILL])
    if distill.get("student_params") and results.get(TEACHER, {}).get("teacher_params"):
        ratio = results[TEACHER]["teacher_params"] / distill["student_params"]
        notes.append(
            f"The student has {distill['student_params']:,} parameters, the teacher "
            f"{results[TEACHER]['teacher_params']:,} ({ratio:.1f}× more)."
        )
    table = markdown_table(["model", "test accuracy (mean ± sd)", "per seed (%)", "from"], rows)
    return table, notes, {"seeds": seeds, "scratch": scratch, "kd": kd, "teacher": teacher}


def omitted_class(entry: dict) -> str:
    """Notebook 05 calls it the omitted digit; on Fashion-MNIST it is a garment, named here."""
    index, dataset = entry.get("omitted_digit"), entry.get("dataset")
    if dataset == "fashion_mnist" and isinstance(index, int) and 0 <= index < 10:
        return f"class {index} ({FASHION_MNIST_CLASS_NAMES[index].lower()})"
    return f"digit {index if index is not None else '?'}"


def when_it_helps(entry: dict) -> tuple[str | None, list[str]]:
    """Notebook 05's headline: the gain per labelled fraction, then one line per other section."""
    table = None
    fractions = entry.get("label_fractions") or []
    scratch, kd = entry.get("fraction_scratch_accuracy"), entry.get("fraction_kd_accuracy")
    gains = entry.get("fraction_gain_points")
    errors = entry.get("fraction_gain_standard_error_points")
    images = entry.get("labelled_images") or [None] * len(fractions)
    if fractions and scratch and kd and gains and errors:
        rows = [
            [f"{100 * fraction:g} %", f"{count:,}" if count else "", spread(s)[0], spread(k)[0],
             f"{gain:+.2f} ± {error:.2f}"]
            for fraction, count, s, k, gain, error
            in zip(fractions, images, scratch, kd, gains, errors, strict=True)
        ]  # fmt: skip
        table = markdown_table(
            ["labelled fraction", "labelled images", "from scratch", "distilled",
             "gain ± SE (points)"],
            rows,
        )  # fmt: skip
    lines = []
    baselines = entry.get("baselines") or {}
    if baselines:
        means = ", ".join(f"{name} {spread(values)[0]}" for name, values in baselines.items())
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
                f"Omitted {omitted_class(entry)}: {row['student']} student, "
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


def tradeoff_table(rows: list[dict], pareto: list) -> str:
    columns = [
        ("model", "model", str),
        ("accuracy", "test accuracy", percent),
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
    return markdown_table(headers, body)


def notebook_table(results: dict, run: dict, notebooks, run_dir: Path) -> str:
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
            status = NOT_RUN
        own = timing.get("notebook_seconds", results.get(stem, {}).get("seconds"))
        rows.append(
            [
                stem,
                titles.get(stem, ""),
                status,
                seconds(timing.get("wall_seconds")),
                seconds(own),
                file_link(run_dir / f"{stem}.ipynb"),
                file_link(run_dir / f"{stem}.html"),
            ]
        )
    return markdown_table(
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


def file_link(path: Path):
    """A relative link to ``path`` (the report sits in the same folder), or "—" if absent."""
    return f"[{path.name}]({path.name})" if path.exists() else "—"


def run_lines(run: dict) -> list[str]:
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


def claims_line(checked: dict | None) -> str:
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
