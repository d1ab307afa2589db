"""The progress display of ``kdtutor run``: which notebook, which cell, for how long.

On a terminal one status line is redrawn every second by a thread; on a log (CI, a pipe)
there is a line per notebook and a heartbeat at most every 15 seconds.
"""

from __future__ import annotations

import shutil
import threading
import time

from kdtutor.series.notebooks import Notebook

__all__ = ["Progress", "headings", "format_seconds"]


def format_seconds(seconds) -> str:
    """``75.3`` -> ``"1:15"``; ``None`` -> ``"?"``. For estimates and elapsed times."""
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Which notebook, which cell, how long: one live line on a terminal; on a log (CI, a
    pipe) a line per notebook plus a heartbeat at most every ``heartbeat`` seconds."""

    def __init__(self, stream, total: int, *, live: bool, heartbeat: float = 15.0):
        self.stream, self.total, self.live, self.heartbeat = stream, total, live, heartbeat
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.current = None  # (position, stem)
        self.cell = (0, 0, "")
        self.started = self.last_line = 0.0
        self.kernel_ready = self.cells_done = None
        self.thread = None
        self.drawn = False

    def notebook_start(self, position: int, notebook: Notebook, estimate) -> None:
        self.current = (position, notebook.stem)
        self.cell = (0, 0, "")
        self.started = self.last_line = time.perf_counter()
        self.kernel_ready = self.cells_done = None
        self._print(
            f"[{position}/{self.total}] {notebook.stem}: {notebook.title} "
            f"(estimated {format_seconds(estimate)})"
        )
        if self.live:
            self.stop.clear()
            self.thread = threading.Thread(target=self._tick, daemon=True)
            self.thread.start()

    def cell_start(self, index: int, count: int, heading: str) -> None:
        now = time.perf_counter()
        if self.kernel_ready is None:
            self.kernel_ready = now
        self.cell = (index + 1, count, heading)
        if not self.live and now - self.last_line >= self.heartbeat:
            self._print(f"    {self._status(now)}")

    def notebook_end(self, ok: bool, detail: str) -> None:
        if self.thread is not None:
            self.stop.set()
            self.thread.join()
            self.thread = None
        elapsed = time.perf_counter() - self.started
        mark = "ok" if ok else "FAILED"
        self._print(f"    {mark} in {format_seconds(elapsed)} ({elapsed:.1f} s){detail}")

    def warn(self, text: str) -> None:
        self._print(f"    WARNING: {text}")

    def _status(self, now) -> str:
        index, count, heading = self.cell
        where = f"cell {index}/{count}" if count else "kernel starting"
        heading = f"  {heading}" if heading else ""
        return f"{where}  {format_seconds(now - self.started)}{heading}"

    def _tick(self) -> None:
        while not self.stop.wait(1.0):
            with self.lock:
                width = shutil.get_terminal_size().columns - 1  # one line, or \r cannot redraw it
                line = f"    {self._status(time.perf_counter())}"
                self.stream.write("\r" + line[:width].ljust(width))
                self.stream.flush()
                self.drawn = True

    def _print(self, line: str) -> None:
        with self.lock:
            if self.drawn:  # wipe the live status line first
                self.stream.write("\r" + " " * (shutil.get_terminal_size().columns - 1) + "\r")
                self.drawn = False
            self.stream.write(line + "\n")
            self.stream.flush()
            self.last_line = time.perf_counter()


def headings(nb) -> list[str]:
    """For every cell, the last markdown heading at or before it (what section is running)."""
    headings, current = [], ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    current = line.lstrip("#").strip()
                    break
        headings.append(current)
    return headings
