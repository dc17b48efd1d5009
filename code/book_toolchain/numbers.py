"""Numbers as the book prints them, in prose, tables, captions and figure labels alike.

``fmt(59312.4)`` is ``"5.93 × 10⁴"``, ``fmt(0.000847)`` is ``"8.47 × 10⁻⁴"``, ``fmt(0.25)`` is
``"0.25"``, ``fmt(1.0)`` is ``"1"``, ``fmt(59312)`` (an int) is ``"59,312"``: floats to at
most ``digits`` significant digits, trailing zeros dropped, never e-notation, a true minus
sign, and no place where a line may break (narrow no-break spaces around the ×), so a number
never wraps. Plain Unicode: it reads the same on the website, in the PDF and in a matplotlib
label, and needs no MathJax.

In a chapter, ``glue_numbers(slope=slope, rho0=(rho0, 2))`` glues each value as printed by
``fmt`` (a pair gives its digits), and the prose says ``{glue:text}`slope```.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["MINUS", "TIMES", "fmt", "glue_numbers"]

MINUS = "\u2212"
NNBSP = "\u202f"  # narrow no-break space
TIMES = f"{NNBSP}×{NNBSP}"
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
# Fixed notation from 10⁻³ up to (not including) 10⁴; scientific outside.
SMALLEST_FIXED = 1e-3
LARGEST_FIXED = 1e4
GROUP_FROM = 1e4  # thousands separators from 10,000 on (1024 stays 1024)


def fmt(value, digits: int = 3) -> str:
    """``value`` to at most ``digits`` significant digits, as the book prints numbers.

    Integers (Python or NumPy) are printed exactly, with thousands separators from 10,000 on.
    A float from 10⁻³ up to 10⁴ is printed in fixed notation (its integer digits all kept:
    ``fmt(1024.0)`` is ``"1024"``; one that would round to a whole number it is not gets up to
    three more digits: ``fmt(0.99998)`` is ``"0.99998"``), outside that range as ``m × 10ᵉ`` (``"10⁻⁶"`` when ``m``
    is 1). ``None`` prints as "—", infinities as "∞". ``digits`` must be 1 to 15.
    """
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 15:
        raise ValueError(f"digits must be an int from 1 to 15, got {digits!r}")
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"value must be a real number, got {value!r}")
    if isinstance(value, numbers.Integral):
        return _signed(int(value) < 0, _grouped(str(abs(int(value)))))
    x = float(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return _signed(x < 0, "∞")
    if x == 0:
        return "0"
    magnitude = abs(x)
    if SMALLEST_FIXED <= magnitude < LARGEST_FIXED:
        return _signed(x < 0, _fixed(magnitude, digits))
    mantissa, exponent = f"{magnitude:.{digits - 1}e}".split("e")
    mantissa = _trim(mantissa)
    if float(mantissa) >= 10:  # 9.995e-4 at 3 digits: the mantissa rounded up to 10
        mantissa, exponent = "1", str(int(exponent) + 1)
    power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
    return _signed(x < 0, power if mantissa == "1" else f"{mantissa}{TIMES}{power}")


def _fixed(magnitude: float, digits: int) -> str:
    # A value that rounds to a whole number it is not (0.99998 to "1") gets up to three more
    # digits, so a table never shows an attained bound that was not attained.
    for extra in range(4):
        decimals = max(0, digits + extra - 1 - math.floor(math.log10(magnitude)))
        text = f"{magnitude:.{decimals}f}"
        if float(text) != round(float(text)) or float(text) == magnitude:
            break
    if float(text) >= LARGEST_FIXED:  # 9999.7 rounds to 10000: scientific after all
        return "10" + "4".translate(_SUPERSCRIPT)
    head, _, tail = _trim(text).partition(".")
    return _grouped(head) + (f".{tail}" if tail else "")


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def _grouped(integer: str) -> str:
    if int(integer) < GROUP_FROM:
        return integer
    return f"{int(integer):,}"


def _signed(negative: bool, text: str) -> str:
    return MINUS + text if negative and text != "0" else text


def glue_numbers(digits: int = 3, **values) -> None:
    """Glue each ``name=value`` for the prose (``{glue:text}`name```) as :func:`fmt` prints it;
    ``name=(value, d)`` gives that value ``d`` digits. Returns nothing, so a cell that ends
    with it prints nothing."""
    printed = {}
    for name, value in values.items():
        if isinstance(value, tuple):
            if len(value) != 2:
                raise ValueError(f"{name} must be a value or a (value, digits) pair")
            printed[name] = fmt(value[0], value[1])
        else:
            printed[name] = fmt(value, digits)
    from myst_nb import glue  # the notebook side only: the toolchain itself never needs it

    for name, text in printed.items():
        glue(name, text, display=False)
