"""The gate on kinds and power, from ledgers written directly (no kernel)."""

from book_toolchain import claims
from book_toolchain.build import gate
from book_toolchain.project import Project

CHAPTER = """# Fixture

```{prf:theorem} A bound
:label: thm-weak
```
"""


def book(tmp_path, recorded, notes=()):
    (tmp_path / "chapters").mkdir(parents=True)
    (tmp_path / "chapters" / "01_weak.md").write_text(CHAPTER)
    ledger = claims.new_ledger("01_weak", {"mode": "quick", "seed": 0}, 0.0)
    ledger["claims"] = recorded
    ledger["strength_notes"] = list(notes)
    claims.write_ledger(tmp_path / "_build" / "claims" / "01_weak.json", ledger)
    return Project(tmp_path)


def claim(ratio, kind="bound", **extra):
    return {"label": "thm-weak", "quantity": "q", "measured": ratio, "bound": 1.0,
            "ratio": ratio, "holds": ratio <= 1, "kind": kind, **extra}


def test_a_statement_whose_evidence_cannot_see_a_factor_two_fails_the_gate(tmp_path):
    problems = gate(book(tmp_path, [claim(0.3), claim(0.99, kind="design")]))
    assert len(problems) == 1
    assert "thm-weak" in problems[0] and "not tested at full strength" in problems[0]


def test_full_strength_or_a_note_passes(tmp_path):
    assert gate(book(tmp_path / "a", [claim(0.3), claim(0.6, kind="sharpness")])) == []
    note = {"label": "thm-weak", "status": "not tested at full strength", "why": "loose"}
    assert gate(book(tmp_path / "b", [claim(0.3)], notes=[note])) == []


def test_rate_only_needs_a_note_and_missing_kind_is_flagged(tmp_path):
    problems = gate(book(tmp_path, [claim(0.1, kind="rate"), {**claim(0.9), "kind": None}]))
    assert any("rate only" in p for p in problems)
    assert any("has no kind" in p for p in problems)


def test_violated_lower_bound_is_reported(tmp_path):
    folded = claim(0.0, relation=">=") | {"measured": -0.5, "bound": 0.0, "ratio": None,
                                          "holds": False}
    problems = gate(book(tmp_path, [folded, claim(0.9)]))
    assert any("does not hold" in p and "relation >=" in p for p in problems)


def test_a_strong_sub_claim_standing_in_for_the_headline_fails_the_gate(tmp_path):
    """The defect of issue 20: a part (node errors at 0.65) made a statement whose own
    inequality reached 0.3 look tested at full strength."""
    problems = gate(book(tmp_path, [claim(0.3), claim(0.65, scope="part")]))
    assert len(problems) == 1
    assert "not tested at full strength" in problems[0] and "0.3 <" in problems[0]
    assert "its parts reach 0.65" in problems[0]
    # marked as a check of the statement itself, the same claim would pass: the scope matters
    assert gate(book(tmp_path / "b", [claim(0.3), claim(0.65)])) == []


def test_only_parts_checked_fails_the_gate_and_a_bad_scope_is_flagged(tmp_path):
    problems = gate(book(tmp_path, [claim(1.0, scope="part"), claim(0.2, scope="nonsense")]))
    assert any("headline ratio" in p and "none" in p for p in problems)
    assert any("has scope 'nonsense'" in p for p in problems)
