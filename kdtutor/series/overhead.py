"""The runner's overhead: the wall time the notebooks did not measure, and where it went.

A notebook's own time starts at the top of its Setup cell (:mod:`kdtutor.series.setup`); the
rest of a ``kdtutor run`` is overhead: this process's imports, kernel start-ups, papermill's
saving after each cell, the HTML copies, the report. :func:`finish_record` stores it in
``results.json["_run"]``, where the command's summary and the report read it.
"""

from __future__ import annotations

import time
from pathlib import Path

from kdtutor.series import results

__all__ = ["process_seconds", "overhead", "finish_record"]


def process_seconds() -> float | None:
    """Seconds since this Python process started (imports included), or ``None`` if unknown."""
    try:
        import psutil

        return time.time() - psutil.Process().create_time()
    except Exception:  # psutil missing or no access: the caller measures from its own start
        return None


def overhead(wall: float, notebooks: float) -> dict:
    """``overhead_seconds`` (``wall`` minus the ``notebooks``' own seconds) and
    ``overhead_ratio`` (that over the notebooks' own time; ``None`` if they took none)."""
    spent = wall - notebooks
    return {
        "overhead_seconds": round(spent, 3),
        "overhead_ratio": round(spent / notebooks, 4) if notebooks > 0 else None,
    }


def finish_record(
    out_dir: Path,
    record: dict,
    *,
    started: float,
    report_seconds: float,
    startup_seconds: float | None = None,
) -> dict:
    """Update ``"_run"`` with the final wall time and where the overhead went; return it.

    ``started`` is the ``time.perf_counter()`` value the wall time counts from,
    ``startup_seconds`` how long the command took to start (its imports) before
    it planned the run, ``report_seconds`` how long writing the report took.
    """
    wall = time.perf_counter() - started
    spent = overhead(wall, record["notebook_seconds_total"])
    timings = record["notebooks"].values()
    parts = {
        "kernel_start": sum(t["kernel_start_seconds"] or 0 for t in timings),
        "command_start": startup_seconds or 0.0,
        "html": sum(t.get("html_seconds") or 0 for t in timings),
        "report": report_seconds,
    }
    # The rest: planning, papermill reading, saving after each cell, kernel shutdown.
    parts["papermill_and_other"] = spent["overhead_seconds"] - sum(parts.values())
    record.update(
        wall_seconds=round(wall, 3),
        report_seconds=round(report_seconds, 3),
        overhead_parts={name: round(value, 3) for name, value in parts.items()},
        **spent,
    )
    results.write_run_record(out_dir, record)
    return record
