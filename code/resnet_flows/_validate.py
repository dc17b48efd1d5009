"""Input checks shared by the package: every public function validates at the door."""

from __future__ import annotations

import numbers

import numpy as np


def positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _real(value, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None


def positive_float(value, name: str) -> float:
    out = _real(value, name)
    if not np.isfinite(out) or out <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return out


def nonnegative_float(value, name: str) -> float:
    out = _real(value, name)
    if not np.isfinite(out) or out < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return out


def nonnegative_array(values, name: str) -> np.ndarray:
    """``values`` as a float64 array whose entries are all finite and ``>= 0``."""
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0")
    return arr


def as_box(box, name: str = "box", dim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(lower, upper)`` as float64 arrays of one length with ``lower < upper``."""
    try:
        lower, upper = box
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (lower, upper), got {box!r}") from None
    lower = np.atleast_1d(np.asarray(lower, dtype=np.float64))
    upper = np.atleast_1d(np.asarray(upper, dtype=np.float64))
    if lower.ndim != 1 or lower.shape != upper.shape or lower.size == 0:
        raise ValueError(
            f"{name}: lower and upper must be 1-D of equal nonzero length, "
            f"got shapes {lower.shape} and {upper.shape}"
        )
    if dim is not None and lower.size != dim:
        raise ValueError(f"{name} must have dimension {dim}, got {lower.size}")
    if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
        raise ValueError(f"{name} must have finite corners, got {lower} and {upper}")
    if not np.all(lower < upper):
        raise ValueError(f"{name} must satisfy lower < upper in every axis, got {lower} and {upper}")
    return lower, upper


def as_points(x, dim: int, name: str = "x") -> np.ndarray:
    """Return points as a float64 array of shape ``(n, dim)``; a single point becomes ``(1, dim)``."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1 and arr.size == dim:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}), got {np.shape(x)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    return arr


def as_times(times, name: str = "times", strict: bool = True) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {np.shape(times)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    steps = np.diff(arr)
    if np.any(steps <= 0 if strict else steps < 0):
        order = "strictly increasing" if strict else "non-decreasing"
        raise ValueError(f"{name} must be {order}")
    return arr


def inside_box(points: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Mask of rows inside the box up to a relative round-off tolerance."""
    slack = 1e-12 * np.maximum(1.0, np.abs(upper - lower))
    return np.all((points >= lower - slack) & (points <= upper + slack), axis=1)
