"""The claims ledger: every numerical check of the book, recorded as measured <= bound (or >=),
with its kind (bound, sharpness, rate, consistency, design, example).

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
INTERACTIVE_NOTES: list[dict[str, Any]] = []


# What a claim is evidence of. Only the first three count as evidence for a statement: a
# consistency check compares two implementations, a design check holds by construction and an
# example illustrates; each still fails the build when violated.
KINDS = ("bound", "sharpness", "rate", "consistency", "design", "example")
EVIDENCE_KINDS = ("bound", "sharpness", "rate")
# A statement is tested at full strength when its strongest bound or sharpness claim *of its own
# inequality* (scope "statement") uses at least this fraction of its bound: then the statement
# with a constant 2x too small fails.
FULL_STRENGTH_RATIO = 0.5
RELATIONS = ("<=", ">=")
# What a claim checks: the statement's own inequality ("statement", its headline), or one part
# of it ("part": a step of its proof, one term of a sum of bounds, an ingredient). A part's
# ratio is listed beside the statement's strength, never in its place.
SCOPES = ("statement", "part")
STRENGTH_STATUSES = ("rate only", "not tested at full strength")


class ClaimViolated(AssertionError):
    """A recorded claim whose measured value lies on the wrong side of its bound."""


def record_claim(label: str, quantity: str, measured, bound, *, kind: str, relation: str = "<=",
                 scope: str = "statement", **context) -> dict[str, Any]:
    """Record the claim ``measured <= bound`` (or ``measured >= bound``) for the statement
    ``label``; raise :class:`ClaimViolated` if it fails.

    ``kind`` is one of :data:`KINDS`. ``scope`` (one of :data:`SCOPES`) says whether the claim
    checks the statement's own inequality (``"statement"``, the default) or only a part of it
    (``"part"``: a node bound inside the proof, one term of a sum, a step). Only claims of the
    statement's own inequality decide its strength (:func:`strength_by_label`).
    ``relation="<="`` (an upper bound: ``measured >= 0``,
    ``bound > 0``, ratio ``measured / bound``) or ``">="`` (a lower bound such as
    ``0 <= min det``: ``bound >= 0``, any ``measured``, ratio ``bound / measured``, ``None``
    when ``measured <= 0`` unless ``measured = bound = 0``). In both cases a ratio ``<= 1``
    means the claim holds and a ratio near 1 that it is nearly attained. The claim is written
    to the ledger first and then, if it does not hold, the error is raised. Returns the claim.
    """
    label = _nonempty_str("label", label)
    quantity = _nonempty_str("quantity", quantity)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r} (claim {label!r})")
    if relation not in RELATIONS:
        raise ValueError(f"relation must be '<=' or '>=', got {relation!r} (claim {label!r})")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r} "
                         f"(claim {label!r})")
    measured = _finite_real("measured", measured)
    bound = _finite_real("bound", bound)
    if relation == "<=":
        if bound <= 0:
            raise ValueError(f"bound must be > 0, got {bound!r} (claim {label!r})")
        if measured < 0:
            raise ValueError(f"measured must be >= 0, got {measured!r} (claim {label!r})")
        holds, ratio = measured <= bound, measured / bound
    else:
        if bound < 0:
            raise ValueError(f"bound must be >= 0 for a lower bound, got {bound!r} (claim {label!r})")
        holds = measured >= bound
        ratio = bound / measured if measured > 0 else (1.0 if holds else None)

    claim = {
        "label": label,
        "quantity": quantity,
        "kind": kind,
        "relation": relation,
        "scope": scope,
        "measured": measured,
        "bound": bound,
        "ratio": ratio,
        "holds": holds,
        "context": {str(k): json_safe(v) for k, v in context.items()},
    }
    _append(claim, "claims")
    if not holds:
        shown = "n/a" if ratio is None else f"{ratio:.4g}"
        wrong = ">" if relation == "<=" else "<"
        raise ClaimViolated(
            f"{kind} claim {label!r} violated: {quantity}: measured {measured:.6g} {wrong} "
            f"bound {bound:.6g} (ratio {shown})"
        )
    return claim


def record_strength_note(label: str, status: str, why: str) -> dict[str, Any]:
    """Record that ``label`` is checked only by a rate, or not at full strength, and why.

    ``status`` is one of :data:`STRENGTH_STATUSES`. The Theorem index shows the status; the
    gate accepts a statement whose headline ratio (the strongest bound or sharpness claim of
    its own inequality) is below :data:`FULL_STRENGTH_RATIO` only with such a note.
    """
    note = {
        "label": _nonempty_str("label", label),
        "status": status,
        "why": _nonempty_str("why", why),
    }
    if status not in STRENGTH_STATUSES:
        raise ValueError(f"status must be one of {STRENGTH_STATUSES}, got {status!r}")
    _append(note, "strength_notes")
    return note


def claim_scope(claim: dict[str, Any]) -> str:
    """The claim's scope; ledgers written before ``scope`` existed check the statement."""
    return claim.get("scope") or "statement"


def strength_by_label(claims: list[dict[str, Any]],
                      notes: list[dict[str, Any]] = ()) -> dict[str, dict[str, Any]]:
    """Per label: its *headline*, the strongest bound/sharpness claim of the statement's own
    inequality (scope ``"statement"``), which alone decides the status; beside it ``parts``,
    the strongest bound/sharpness claim of a part (scope ``"part"``, never used for the status),
    the number of claims by kind and by scope, the note and the status:

    ``full strength``
        the headline ratio is at least :data:`FULL_STRENGTH_RATIO`;
    a noted status
        otherwise, when the chapter recorded a note (:func:`record_strength_note`);
    ``no evidence``
        no claim of an evidence kind (bound, sharpness, rate) at all;
    ``rate only``
        the statement's own evidence is rate claims only;
    ``not tested at full strength``
        a headline below the threshold, or evidence of its parts only.
    """
    out: dict[str, dict[str, Any]] = {}

    def entry_for(label):
        return out.setdefault(label, {"headline": None, "parts": None, "kinds": {},
                                      "scopes": {}, "own_rate": False, "note": None})

    for claim in claims:
        entry = entry_for(claim["label"])
        kind, scope = claim.get("kind", "unknown"), claim_scope(claim)
        entry["kinds"][kind] = entry["kinds"].get(kind, 0) + 1
        if kind in EVIDENCE_KINDS:
            entry["scopes"][scope] = entry["scopes"].get(scope, 0) + 1
        if kind == "rate" and scope == "statement":
            entry["own_rate"] = True
        key = "headline" if scope == "statement" else "parts"
        best = entry[key]
        if (kind in ("bound", "sharpness") and claim.get("ratio") is not None
                and (best is None or claim["ratio"] > best["ratio"])):
            entry[key] = claim
    for note in notes:
        entry_for(note["label"])["note"] = note
    for entry in out.values():
        headline = entry["headline"]
        if headline is not None and headline["ratio"] >= FULL_STRENGTH_RATIO:
            entry["status"] = "full strength"
        elif entry["note"] is not None:
            entry["status"] = entry["note"]["status"]
        elif not any(entry["kinds"].get(k) for k in EVIDENCE_KINDS):
            entry["status"] = "no evidence"
        elif headline is None and entry["own_rate"]:
            entry["status"] = "rate only"
        else:
            entry["status"] = "not tested at full strength"
    return out


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
        "strength_notes": [],
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


def _append(entry: dict[str, Any], key: str) -> None:
    claims_dir = os.environ.get(ENV_CLAIMS_DIR)
    if not claims_dir:
        (INTERACTIVE_CLAIMS if key == "claims" else INTERACTIVE_NOTES).append(entry)
        return
    chapter = os.environ.get(ENV_CHAPTER) or INTERACTIVE_CHAPTER
    path = Path(claims_dir) / f"{chapter}.json"
    started = float(os.environ.get(ENV_STARTED) or time.time())
    if path.exists():
        ledger = json.loads(path.read_text(encoding="utf-8"))
    else:
        ledger = new_ledger(chapter, json.loads(os.environ.get(ENV_PARAMETERS) or "{}"), started)
    ledger.setdefault(key, []).append(entry)
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
