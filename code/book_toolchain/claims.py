"""The claims ledger: every numerical check of the book, recorded as measured <= bound.

Chapters call only :func:`record_claim`. Where the claim goes is set by the pipeline
(:mod:`book_toolchain.build`) through environment variables of the kernel:

``BOOK_CHAPTER``
    chapter name, e.g. ``04_averaged_euler``; the ledger file is ``<chapter>.json``.
``BOOK_CLAIMS_DIR``
    directory of the ledger files (the pipeline uses ``_build/claims``).
``BOOK_PARAMETERS``
    JSON object of the papermill parameters of this run (``mode``, ``seed``, overrides).
``BOOK_STARTED``
    POSIX time at which the run started (for the elapsed time in the ledger).

Without ``BOOK_CLAIMS_DIR`` (interactive Jupyter, plain Python) claims are kept in
memory only, in :data:`INTERACTIVE_CLAIMS`; they are validated and checked all the same.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import platform
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ENV_CHAPTER = "BOOK_CHAPTER"
ENV_CLAIMS_DIR = "BOOK_CLAIMS_DIR"
ENV_PARAMETERS = "BOOK_PARAMETERS"
ENV_STARTED = "BOOK_STARTED"

INTERACTIVE_CHAPTER = "interactive"
INTERACTIVE_CLAIMS: list[dict[str, Any]] = []


class ClaimViolated(AssertionError):
    """A recorded claim whose measured value exceeds its bound."""


def record_claim(label: str, quantity: str, measured, bound, **context) -> dict[str, Any]:
    """Record the claim ``measured <= bound`` for the theorem ``label``; raise if it fails.

    The claim is written to the ledger first and then, if it does not hold,
    :class:`ClaimViolated` is raised. Returns the recorded claim.
    """
    label = _nonempty_str("label", label)
    quantity = _nonempty_str("quantity", quantity)
    measured = _finite_real("measured", measured)
    bound = _finite_real("bound", bound)
    if bound <= 0:
        raise ValueError(f"bound must be > 0, got {bound!r} (claim {label!r})")
    if measured < 0:
        raise ValueError(f"measured must be >= 0, got {measured!r} (claim {label!r})")

    claim = {
        "label": label,
        "quantity": quantity,
        "measured": measured,
        "bound": bound,
        "ratio": measured / bound,
        "holds": measured <= bound,
        "context": {str(k): json_safe(v) for k, v in context.items()},
    }
    _append(claim)
    if not claim["holds"]:
        raise ClaimViolated(
            f"claim {label!r} violated: {quantity}: measured {measured:.6g} > bound {bound:.6g}"
            f" (ratio {claim['ratio']:.4g})"
        )
    return claim


def read_ledger(path: str | os.PathLike) -> dict[str, Any]:
    """The ledger stored at ``path``; ``{}`` when there is none. Unreadable files raise."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        ledger = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"unreadable claims ledger {path}: {exc}") from None
    if not isinstance(ledger, dict):
        raise ValueError(f"claims ledger {path} is not a JSON object")
    return ledger


def read_ledgers(claims_dir: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """All ledgers in ``claims_dir``, keyed by chapter name (sorted by file name)."""
    ledgers = {}
    for path in sorted(Path(claims_dir).glob("*.json")):
        ledger = read_ledger(path)
        ledgers[ledger.get("chapter", path.stem)] = ledger
    return ledgers


def all_claims(claims_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every claim of every ledger in ``claims_dir``, each with its ``chapter``."""
    return [
        {**claim, "chapter": chapter}
        for chapter, ledger in read_ledgers(claims_dir).items()
        for claim in ledger.get("claims", [])
    ]


def new_ledger(chapter: str, parameters: dict[str, Any], started: float) -> dict[str, Any]:
    """An empty ledger for one run of ``chapter`` with its parameters and versions."""
    return {
        "chapter": chapter,
        "mode": parameters.get("mode"),
        "seed": parameters.get("seed"),
        "parameters": json_safe(parameters),
        "versions": _versions(),
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "elapsed_s": 0.0,
        "claims": [],
    }


def write_ledger(path: str | os.PathLike, ledger: dict[str, Any]) -> None:
    """Write ``ledger`` to ``path`` atomically (write a sibling file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(ledger, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: numbers, strings, lists, dicts; anything else via repr."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return json_safe(value.tolist())
    return repr(value)


def _append(claim: dict[str, Any]) -> None:
    claims_dir = os.environ.get(ENV_CLAIMS_DIR)
    if not claims_dir:
        INTERACTIVE_CLAIMS.append(claim)
        return
    chapter = os.environ.get(ENV_CHAPTER) or INTERACTIVE_CHAPTER
    path = Path(claims_dir) / f"{chapter}.json"
    started = float(os.environ.get(ENV_STARTED) or time.time())
    if path.exists():
        ledger = json.loads(path.read_text(encoding="utf-8"))
    else:
        ledger = new_ledger(chapter, json.loads(os.environ.get(ENV_PARAMETERS) or "{}"), started)
    ledger["claims"].append(claim)
    ledger["elapsed_s"] = round(time.time() - started, 3)
    write_ledger(path, ledger)


def _nonempty_str(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _finite_real(name: str, value: Any) -> float:
    if not isinstance(value, numbers.Real) and hasattr(value, "item"):
        try:
            value = value.item()  # 0-d numpy arrays, one-element torch tensors
        except (ValueError, RuntimeError):
            raise ValueError(f"{name} must be a single real number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return value


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("torch", "numpy", "scipy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions
