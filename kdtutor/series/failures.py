"""A failed notebook, described: which cell, which error, the partial notebook, the kernel's log.

:func:`failure` makes the dict ``kdtutor run`` stores under ``results.json["_run"]["failure"]``;
:func:`describe_failure` turns it into the lines the command and the report show.
"""

from __future__ import annotations

from pathlib import Path

from kdtutor.series.notebooks import Notebook

__all__ = ["failure", "describe_failure"]


def failure(notebook: Notebook, output: Path, error, cell: tuple, kernel_log: Path) -> dict:
    """Describe a failed notebook: which cell, which error, where the partial notebook is.

    ``error`` is what ``papermill.execute_notebook`` raised (or ``KeyboardInterrupt``),
    ``cell`` the cell running then as ``(1-based index, count, section heading)``
    (:attr:`kdtutor.series.progress.Progress.cell`; zeros before the first cell),
    ``kernel_log`` the file the kernel's stderr went to.
    """
    from papermill.exceptions import PapermillExecutionError

    index, count, heading = cell
    failure = {
        "notebook": notebook.stem,
        "cell": index or None,  # 1-based position in the executed notebook
        "cells": count or None,
        "section": heading or None,
        "execution_count": None,
        "error": type(error).__name__,
        "message": str(error).strip().splitlines()[-1] if str(error).strip() else "",
        "source": None,
        "executed_notebook": str(output),
    }
    if isinstance(error, PapermillExecutionError):
        failure.update(
            cell=error.cell_index + 1,
            execution_count=error.exec_count,
            error=error.ename,
            message=str(error.evalue),
            source=error.source,
        )
    if isinstance(error, KeyboardInterrupt):
        failure.update(error="KeyboardInterrupt", message="interrupted (Ctrl-C)")
    failure["kernel_log"] = str(kernel_log)
    failure["kernel_log_tail"] = _tail(kernel_log)
    return failure


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def describe_failure(failure: dict) -> str:
    """A few lines naming the notebook, the cell, the error and the partial notebook's path."""
    where = f"cell {failure['cell']}" if failure.get("cell") else "before its first cell"
    if failure.get("cells"):
        where += f" of {failure['cells']}"
    if failure.get("execution_count") is not None:
        where += f" (In [{failure['execution_count']}])"
    if failure.get("section"):
        where += f", section '{failure['section']}'"
    lines = [
        f"FAILED: notebook {failure['notebook']}, {where}:",
        f"  {failure['error']}: {failure['message']}",
    ]
    if failure.get("source"):
        first = next((ln for ln in failure["source"].splitlines() if ln.strip()), "")
        lines.append(f"  the cell starts with: {first.strip()[:90]}")
    lines.append(
        f"  partly executed notebook (the error and its traceback are in it): "
        f"{failure['executed_notebook']}"
    )
    if failure.get("execution_count") is None and failure.get("kernel_log_tail"):
        # No Python traceback (the kernel died, a timeout): the kernel's own stderr may say why.
        lines.append(f"  the kernel's stderr ({failure['kernel_log']}) ends with:")
        lines += [f"    {line}" for line in failure["kernel_log_tail"].splitlines()]
    return "\n".join(lines)
