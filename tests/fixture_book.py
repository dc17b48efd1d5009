"""The tiny fixture book of the toolchain tests (tests/fixtures/book), copied to a temp dir."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def make_book(root: Path, **extra_chapters: str) -> Path:
    """The fixture book with the repository's config, bibliography and references page;
    ``extra_chapters`` maps chapter names to fixture files copied in as chapters."""
    shutil.copytree(FIXTURES / "book", root)
    for name in ("_config.yml", "references.bib"):
        shutil.copyfile(REPO / name, root / name)
    shutil.copyfile(REPO / "chapters" / "references.md", root / "chapters" / "references.md")
    for name, fixture in extra_chapters.items():
        shutil.copyfile(FIXTURES / fixture, root / "chapters" / f"{name}.md")
    return root


def run(root: Path, *argv: str) -> int:
    """``python -m book_toolchain.build --root root argv``, in this process."""
    from book_toolchain import build

    return build.main(["--root", str(root), *argv])


def hold_lock_elsewhere(root: Path, call: str) -> subprocess.Popen:
    """Another process that enters ``locks.<call>`` on the project at ``root`` and holds it
    (for a minute) once it has printed ``held``."""
    script = ("import time; from pathlib import Path; from book_toolchain import locks;"
              "from book_toolchain.project import Project;"
              f"project = Project(Path({str(root)!r}));"
              f"hold = locks.{call}; hold.__enter__(); print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def ledger(root: Path, chapter: str) -> dict:
    return json.loads((root / "_build" / "claims" / f"{chapter}.json").read_text())


# ------------------------------------------------------------- runs in a process of their own

def start_build(root: Path, *argv: str, marker: str) -> subprocess.Popen:
    """``python -m book_toolchain.build --root root argv`` in its own session (as a terminal
    starts it: Ctrl-C is SIGINT to its process group), every process of it tagged with
    ``marker`` in its environment."""
    # Ctrl-C raises KeyboardInterrupt even when these tests run where SIGINT is ignored
    script = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
              "from book_toolchain import build; sys.exit(build.main(sys.argv[1:]))")
    return subprocess.Popen(
        [sys.executable, "-c", script, "--root", str(root), *argv],
        env={**os.environ, "BOOK_TEST_MARKER": marker}, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for_kernel(root: Path, chapter: str, process: subprocess.Popen, marker: str,
                    timeout: float = 60.0) -> None:
    """Until the run of ``chapter`` by ``process`` has its kernel running."""
    job = root / "_build" / "running" / chapter / "job.json"
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert process.poll() is None, process.communicate()
        if job.exists() and any("ipykernel_launcher" in cmd for cmd in marked(marker)):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{chapter} did not start within {timeout} s")


def marked(marker: str) -> list[str]:
    """Command lines of the live processes whose environment carries ``marker``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            if f"BOOK_TEST_MARKER={marker}".encode() in environ:
                found.append((proc / "cmdline").read_bytes().decode().replace("\0", " "))
        except OSError:
            continue
    return found
