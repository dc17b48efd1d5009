"""The book's toolchain: the claims ledger, chapter execution, staging and rendering, the
reproduction gate, Sphinx site fixes and the browser check.

It never imports torch, scipy or :mod:`resnet_flows`; chapters import :func:`record_claim` and
:func:`check_parameters` from here and the mathematics from :mod:`resnet_flows`.
"""

from .claims import ClaimViolated, record_claim, record_strength_note
from .parameters import check_parameters

__all__ = ["ClaimViolated", "check_parameters", "record_claim", "record_strength_note"]
