"""book_toolchain.numbers.fmt: one way to print a number in prose, tables and captions."""

import math

import numpy as np
import pytest

from book_toolchain.numbers import MINUS, TIMES, fmt

N = "\u202f"  # narrow no-break space around the ×


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (59312.4, 3, f"5.93{N}×{N}10⁴"),  # issue 22: "5.93e+04" in prose
        (0.0008472930216089937, 3, f"8.47{N}×{N}10⁻⁴"),  # issue 22: a raw float in ch 1
        (1.0, 3, "1"),  # never "1.000000000000"
        (0.5, 3, "0.5"),
        (1 / 3, 3, "0.333"),
        (1 / 3, 2, "0.33"),
        (0.0012345, 3, "0.00123"),
        (1024.0, 3, "1024"),  # integer digits kept below 10⁴
        (9999.7, 3, "9999.7"),  # not rounded up to 10⁴: it is not 10⁴
        (99999.7, 3, "10⁵"),
        (9.996, 3, "9.996"),
        (9.9999999, 3, "10"),
        (1e-6, 3, "10⁻⁶"),  # a mantissa of 1 is not printed
        (9.9996e-4, 3, "10⁻³"),  # the mantissa rounds to 10
        (0.99998, 3, "0.99998"),  # never an attained-looking "1" for a ratio that is not 1
        (0.9999999999, 3, "1"),  # beyond three more digits: 1
        (2.9996, 3, "2.9996"),
        (-2.5e-7, 3, f"{MINUS}2.5{N}×{N}10⁻⁷"),
        (-0.25, 3, f"{MINUS}0.25"),
        (0.0, 3, "0"),
        (-0.0, 3, "0"),
        (1024, 3, "1024"),  # ints exactly
        (123456789, 3, "123,456,789"),
        (np.int64(-20000), 3, f"{MINUS}20,000"),
        (np.float64(0.25), 3, "0.25"),
        (np.float32(2.0), 3, "2"),
        (math.inf, 3, "∞"),
        (-math.inf, 3, f"{MINUS}∞"),
        (math.nan, 3, "NaN"),
        (None, 3, "—"),
    ],
)
def test_fmt(value, digits, text):
    assert fmt(value, digits) == text


def test_a_number_has_no_place_to_break_and_no_e_notation():
    for value in np.geomspace(1e-14, 1e14, 157):
        for sign in (1, -1):
            text = fmt(sign * float(value))
            assert " " not in text and "-" not in text and "e" not in text, text
            assert "\n" not in text


def parse(text: str) -> float:
    """The number ``fmt`` printed, read back."""
    mantissa, _, power = text.rpartition("10") if text[-1] in "⁰¹²³⁴⁵⁶⁷⁸⁹" else ("", "", "")
    if not power:
        return float(text.replace(",", "").replace(MINUS, "-"))
    exponent = int(power.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")))
    mantissa = mantissa.replace(TIMES, "").replace(MINUS, "-")
    return float(mantissa + "1" if mantissa in ("", "-") else mantissa) * 10.0**exponent


def test_fmt_agrees_with_the_value_to_its_digits():
    rng = np.random.default_rng(0)
    for value in rng.lognormal(0, 8, size=400):
        for digits in (1, 2, 3, 6):
            printed = parse(fmt(float(value), digits))
            assert abs(printed - value) <= 0.5 * 10 ** (1 - digits) * value, (value, digits)
            # the relative precision never gets worse than digits allow, only better


@pytest.mark.parametrize("bad", [True, "3", 1.5 + 0j, [1.0]])
def test_bad_values_are_refused(bad):
    with pytest.raises(ValueError, match="value"):
        fmt(bad)


@pytest.mark.parametrize("digits", [0, 16, 2.0, True, "3"])
def test_bad_digits_are_refused(digits):
    with pytest.raises(ValueError, match="digits"):
        fmt(1.0, digits)


def test_glue_numbers_glues_the_printed_text(monkeypatch):
    import myst_nb

    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value}))
    from book_toolchain import glue_numbers

    assert glue_numbers(slope=-1.00312, rho0=(59312.4, 2), n=1024) is None  # no cell output
    assert glued == {"slope": f"{MINUS}1.003", "rho0": f"5.9{N}×{N}10⁴", "n": "1024"}
    with pytest.raises(ValueError, match="x must be a value or a"):
        glue_numbers(x=(1.0, 2, 3))
