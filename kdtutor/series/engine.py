"""The papermill engine of ``kdtutor run``: cells to the progress display, stderr to a log.

Registered under the name ``"kdtutor"`` by :func:`register`; ``papermill.execute_notebook``
then takes two more keyword arguments, ``kdtutor_progress`` (a
:class:`kdtutor.series.progress.Progress`) and ``kdtutor_kernel_log`` (a binary file).
"""

from __future__ import annotations

import time

from kdtutor.series.progress import headings

__all__ = ["ENGINE_NAME", "register"]

ENGINE_NAME = "kdtutor"


def register() -> str:
    """Register a papermill engine that reports each cell to a ``Progress`` and sends the
    kernel process's own stderr (C++ logs, crash messages) to a log file, not the terminal."""
    from jupyter_client import AsyncKernelManager
    from papermill.engines import NBClientEngine, papermill_engines

    class ProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            progress = kwargs.pop("kdtutor_progress")
            kernel_log = kwargs.pop("kdtutor_kernel_log")
            titles = headings(nb_man.nb)
            count = len(nb_man.nb.cells)
            started, completed = nb_man.cell_start, nb_man.cell_complete

            def cell_start(cell, cell_index=None, **more):
                progress.cell_start(cell_index, count, titles[cell_index])
                return started(cell, cell_index, **more)

            def cell_complete(cell, cell_index=None, **more):
                progress.cells_done = time.perf_counter()
                return completed(cell, cell_index, **more)

            class LoggingKernelManager(AsyncKernelManager):
                async def start_kernel(self, **options):
                    options.setdefault("stderr", kernel_log)
                    return await super().start_kernel(**options)

            nb_man.cell_start, nb_man.cell_complete = cell_start, cell_complete
            return super().execute_managed_notebook(
                nb_man, kernel_name, kernel_manager_class=LoggingKernelManager, **kwargs
            )

    papermill_engines.register(ENGINE_NAME, ProgressEngine)
    return ENGINE_NAME
