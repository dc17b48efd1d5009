"""The papermill child of one chapter run: ``python -m book_toolchain.run_notebook job.json``.

It executes the notebook once, then writes ``result.json``: the run time, the peak memory of
its kernel (its only child), and the error, crash or interruption if any. It is quiet: the
kernel talks to it over IPC sockets (no "TCP without encryption" warning), and papermill's
parser of the parameters cell does not log (the pipeline reads that cell itself). SIGTERM,
sent by the pipeline on Ctrl-C, shuts the kernel down and ends the child without a traceback.
In a terminal it shows papermill's cell progress bar on stderr, never in the notebook.

A child whose parent dies (``kill -9`` of the pipeline) stops its run within a second: the
chapter's lock, inherited from the parent, is held until then.
"""

from __future__ import annotations

import _thread
import json
import logging
import os
import re
import resource
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .project import KERNEL, write_json

# Loggers of libraries whose warnings are about their own internals, not about the chapter.
QUIET_LOGGERS = ("papermill.translators",)
# Loggers that report the kernel's death while a stopped run shuts it down.
NOISY_WHEN_STOPPED = ("asyncio", "papermill", "traitlets")


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def ipc_kernel_manager(directory: str):
    """An asynchronous kernel manager whose kernel listens on IPC sockets in ``directory`` and
    is not interrupted on its way to shutdown (jupyter_client interrupts it first, and a kernel
    caught between two messages then logs "KeyboardInterrupt caught in kernel")."""
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.ip = os.path.join(directory, "kernel")

        async def _async_interrupt_kernel(self) -> None:
            if not self.shutting_down:  # the shutdown request stops even a busy kernel
                await super()._async_interrupt_kernel()

    return IpcKernelManager


def stop(quietly: bool = True) -> None:
    """Stop the run as Ctrl-C does (papermill shuts the kernel down). The run's tasks that
    then find their kernel gone would log it; nobody needs to read that."""
    if quietly:
        for name in NOISY_WHEN_STOPPED:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    _thread.interrupt_main()


def watch_parent(parent: int) -> None:
    """Stop the run when the parent has gone (its lock would otherwise be held by an orphan
    for the rest of the chapter); exit hard if the kernel does not stop in time."""
    while os.getppid() == parent:
        time.sleep(0.5)
    stop()
    time.sleep(30)
    os._exit(1)


def terminate(signum, frame):  # SIGTERM, sent by the pipeline on Ctrl-C
    stop()


def run_job(job_path: str) -> int:
    """Run papermill on one job file; write seconds, peak kernel memory or the error."""
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    result: dict[str, Any] = {}
    started = time.time()
    signal.signal(signal.SIGTERM, terminate)
    threading.Thread(target=watch_parent, args=(job["parent"],), daemon=True).start()
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import papermill
        from papermill.exceptions import PapermillExecutionError

        with tempfile.TemporaryDirectory(prefix="book-kernel-") as sockets:
            try:
                papermill.execute_notebook(
                    job["input"],
                    job["output"],
                    parameters=job["parameters"],
                    kernel_name=KERNEL,
                    cwd=job["cwd"],
                    progress_bar={**job["progress"], "leave": False} if job["progress"] else False,
                    log_output=False,
                    kernel_manager_class=ipc_kernel_manager(sockets),
                    # every output and claim is in by then: nothing for the kernel to finish
                    shutdown_kernel="immediate",
                )
            except PapermillExecutionError as error:
                result["error"] = {
                    "cell": error.exec_count,
                    "ename": error.ename,
                    "evalue": strip_ansi(error.evalue),
                    "traceback": strip_ansi("\n".join(error.traceback)),
                }
            except KeyboardInterrupt:
                raise
            except Exception as error:  # noqa: BLE001 (kernel death, missing kernel: told to the parent)
                result["crash"] = repr(error)
    except KeyboardInterrupt:
        result["interrupted"] = True
    result["seconds"] = time.time() - started
    # ru_maxrss is in KiB on Linux; the kernel was this process's only child.
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    write_json(Path(job["result"]), result)
    if result.get("interrupted"):
        return 130
    return 0 if "error" not in result and "crash" not in result else 1


if __name__ == "__main__":
    sys.exit(run_job(sys.argv[1]))
