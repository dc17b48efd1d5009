"""The book's toolchain: the claims ledger, chapter execution, staging and rendering, the
reproduction gate, Sphinx site fixes and the browser check.

It never imports torch, scipy or :mod:`resnet_flows`; chapters import :func:`record_claim`,
:func:`check_parameters` and the presentation helpers :func:`fmt` (numbers),
:func:`glue_numbers` (numbers for the prose) and :func:`table` (captioned tables) from here,
and the mathematics from :mod:`resnet_flows`.
"""

from .claims import ClaimViolated, record_claim, record_strength_note
from .numbers import fmt, glue_numbers
from .parameters import check_parameters
from .tables import table

__all__ = [
    "ClaimViolated",
    "check_parameters",
    "fmt",
    "glue_numbers",
    "record_claim",
    "record_strength_note",
    "table",
]
