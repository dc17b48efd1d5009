"""The generated Reproduction report and Theorem index (MyST sources), and the rerun box."""

import csv
import io
import json

from book_toolchain import pages, stage
from book_toolchain.project import Statement


def claim(label, ratio, kind=None, holds=True, quantity="max_k |x_k - Phi(t_k)|", bound=2.0,
          scope=None):
    c = {"label": label, "quantity": quantity, "measured": ratio * bound, "bound": bound,
         "ratio": ratio, "holds": holds, "context": {}}
    if scope:
        c["scope"] = scope
    if kind:
        c["kind"] = kind
    return c


STATEMENTS = [Statement("01_a", "theorem", "A", "thm-a"), Statement("02_b", "lemma", "B", "lem-b")]
LEDGERS = {
    "01_a": {"mode": "quick", "seed": 0, "elapsed_s": 3.0, "claims": [
        claim("thm-a", 0.25, "bound"),
        claim("thm-a", 1.0, "sharpness"),
        claim("thm-a", 0.9, "consistency"),  # not evidence: never the strongest ratio
    ]},
    "02_b": {"mode": "quick", "seed": 0, "elapsed_s": 1.0, "claims": [
        claim("lem-b", 0.123456),  # no kind: an old ledger
        claim("lem-b", 0.99996, kind="rate"),
    ]},
}


def tables(source):
    """Each Markdown table of ``source`` as (header cells, rows of cells)."""
    found, current = [], None
    for line in source.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            if current is None:
                current = (cells, [])
                found.append(current)
            elif not set(line) <= set("|-: "):
                current[1].append(cells)
        else:
            current = None
    return found


def test_summary_comes_first_without_measured_and_bound_headers():
    page = pages.report_page(LEDGERS, STATEMENTS)
    head, rows = tables(page)[0]
    assert head == [
        "Statement", "Kinds of evidence", "Headline ratio", "Strength", "Parts", "Claims",
        "All hold",
    ]
    assert not ("Measured" in head and "Bound" in head)
    by_label = {r[0]: r for r in rows}
    # thm-a: the consistency claim (0.9) does not count; the attained sharpness claim does.
    assert by_label["{prf:ref}`thm-a`"][2] == "1"
    assert by_label["{prf:ref}`thm-a`"][1] == "bound ×1, sharpness ×1 · consistency ×1"
    assert by_label["{prf:ref}`lem-b`"][1] == "rate ×1 · kind not recorded ×1"
    # a rate claim's ratio is a slope deviation over its tolerance, not a bound's ratio
    assert by_label["{prf:ref}`lem-b`"][2] == "—"
    assert by_label["{prf:ref}`thm-a`"][3] == "full strength"
    assert by_label["{prf:ref}`lem-b`"][3] == "rate only"
    assert "{doc}`theorem_index`" in page
    assert "</downloads/claims.csv>" in page and "</downloads/claims.json>" in page


def test_one_row_per_claim_sorted_by_ratio_as_the_book_prints_numbers_attained_marked():
    page = pages.report_page(LEDGERS, STATEMENTS)
    claim_tables = [t for t in tables(page) if "Measured" in t[0] and "Bound" in t[0]]
    assert len(claim_tables) == 2 and all(t[0][-1] == "Holds" for t in claim_tables)
    rows = [r for _, t in claim_tables for r in t]
    assert len(rows) == sum(len(led["claims"]) for led in LEDGERS.values())
    ratios = [r[5] for r in claim_tables[0][1]]
    assert ratios == ["**1** (attained)", "0.9", "0.25"]
    ratios = [r[5] for r in claim_tables[1][1]]
    assert ratios == ["0.99996", "0.123"]  # not "1": more digits
    near = pages.format_ratio({"ratio": 1 - 3e-9})
    assert near == "1\u202f−\u202f3\u202f×\u202f10⁻⁹"  # beyond those digits: its distance
    assert [r[1] for r in claim_tables[1][1]] == ["rate", "—"]
    assert all(r[-1] == "yes" and r[0].startswith("{prf:ref}`") for r in rows)
    # The chapter's strongest ratio counts bound and sharpness claims only (issue 22: design
    # claims were counted), and the report says which build it is.
    assert ":::{dropdown} Chapter 1: 3 claims, strongest ratio 1, all hold" in page
    assert ":::{dropdown} Chapter 2: 2 claims, strongest ratio —, all hold" in page
    assert "e+" not in page and "e-0" not in page


def test_quantities_become_math_and_tex_is_kept():
    assert pages.pretty_quantity("max_k |x_k - Phi(t_k)| vs rho0") == (
        "maxₖ \\|xₖ − Φ(tₖ)\\| vs ρ₀"
    )
    assert pages.pretty_quantity("sqrt(d) Lambda_k <= 1") == "√(d) Λₖ ≤ 1"
    assert pages.pretty_quantity("quad_tol") == "quad\\_tol"
    # numbers as the book prints them; a decimal exponent stays TeX (no Unicode for "t¹.0")
    assert pages.pretty_quantity("e_1 >= E_1 (1 - 1e-12)") == "e₁ ≥ E₁ (1 − 10⁻¹²)"
    assert pages.pretty_quantity("f = t^0.5") == "f = t$^{0.5}$"
    assert pages.pretty_quantity("error $\\abs{x_k}$ of eps") == "error $\\abs{x_k}$ of ε"


def test_claims_download_as_csv_and_json():
    rows = list(csv.DictReader(io.StringIO(pages.claims_csv(LEDGERS))))
    assert len(rows) == 5 and rows[0]["chapter"] == "01_a" and rows[0]["kind"] == "bound"
    assert float(rows[1]["ratio"]) == 1.0 and rows[3]["kind"] == ""
    data = json.loads(pages.claims_json(LEDGERS))
    assert [d["label"] for d in data] == ["thm-a"] * 3 + ["lem-b"] * 2
    assert data[3]["kind"] is None and data[4]["kind"] == "rate"


def test_theorem_index_counts_only_evidence_for_the_headline_ratio():
    page = pages.theorem_index_page(LEDGERS, STATEMENTS)
    head, rows = tables(page)[0]
    # the statement's number says its chapter: no chapter column
    # seven columns (the count leads the kinds): every column in view at 1440 px
    assert head == ["Statement", "Title", "Claims", "Headline ratio", "Strength", "Parts",
                    "Holds"]
    assert rows[0][2] == "3: bound ×1, sharpness ×1 · consistency ×1"
    assert rows[0][3:7] == ["1", "full strength", "—", "all hold"]
    assert rows[1][3] == "—" and rows[1][4] == "rate only"  # only a rate claim


def test_theorem_index_says_none_for_a_statement_without_claims():
    page = pages.theorem_index_page(LEDGERS, [*STATEMENTS, Statement("02_b", "definition", "D",
                                                                     "def-d")])
    _, rows = tables(page)[0]
    assert rows[2][2:] == ["none", "—", "—", "—", "—"]
    failing = {"01_a": {**LEDGERS["01_a"], "claims": [claim("thm-a", 1.5, "bound", holds=False)]}}
    _, rows = tables(pages.theorem_index_page(failing, STATEMENTS[:1]))[0]
    assert rows[0][2] == "1: bound ×1" and rows[0][6] == "**fails**"


# thm-main as the review found it: node-error sub-claims (0.648) above its own inequality (0.31)
MAIN = [Statement("06_main", "theorem", "Main", "thm-main")]
MAIN_LEDGERS = {"06_main": {"mode": "quick", "seed": 0, "elapsed_s": 1.0, "claims": [
    claim("thm-main", 0.31, "bound", quantity="sampled max |X - Phi| <= certified bound"),
    claim("thm-main", 0.648, "bound", quantity="node errors / E_k + P_k", scope="part"),
    claim("thm-main", 0.2, "bound", quantity="node errors, another field", scope="part"),
], "strength_notes": [{"label": "thm-main", "status": "not tested at full strength",
                       "why": "the three-part bound adds worst cases"}]}}


def test_report_and_index_show_one_strength_with_the_parts_beside_it():
    report = pages.report_page(MAIN_LEDGERS, MAIN)
    _, rows = tables(report)[0]
    assert rows[0][2:5] == ["0.31", "not tested at full strength", "0.648 (of 2)"]
    index = pages.theorem_index_page(MAIN_LEDGERS, MAIN)
    _, rows = tables(index)[0]
    assert rows[0][3:6] == ["0.31", "not tested at full strength", "0.648 (of 2)"]
    # each part is marked as such in the per-chapter table
    claim_rows = [r for head, t in tables(report) if "Measured" in head for r in t]
    assert sorted(r[1] for r in claim_rows) == ["bound", "bound (part)", "bound (part)"]


def test_rerun_box_is_compact_and_names_the_missing_mode():
    ledger = {"mode": "quick", "seed": 3, "parameters": {"mode": "quick", "seed": 3},
              "elapsed_s": 4.2, "claims": [claim("thm-a", 0.5)]}
    box = stage.rerun_box("01_a", ledger, {"quick": 4.0})
    assert 'make chapter NAME=01_a PARAMS="-p mode quick -p seed 3"' in box
    assert "quick mode 4 s (this page)" in box
    assert "full mode: run `make book MODE=full`" in box
    assert "not measured" not in box
    box = stage.rerun_box("01_a", ledger, {"quick": 4.0, "full": 75.0})
    assert "full mode 1 min 15 s" in box
    assert stage.wants_rerun_box(ledger) and not stage.wants_rerun_box({"claims": []})


def test_report_says_which_build_it_is():
    run = {"mode": "quick", "claims": [], "elapsed_s": 3.0}
    quick = {"01_a": run, "02_b": run}
    assert pages.build_mode(quick) == "quick" and pages.build_mode({}) == ""
    assert pages.build_mode({**quick, "03_c": {"mode": "full"}}) == "mixed"
    assert "**quick build**" in pages.report_page(quick, [])


def test_stage_build_mode_writes_the_sphinx_config(tmp_path):
    import yaml

    config = tmp_path / "_config.yml"
    config.write_text("title: t\nsphinx:\n  config:\n    numfig: true\n")
    assert pages.stage_build_mode(config, {"01_a": {"mode": "full"}}) == "full"
    data = yaml.safe_load(config.read_text())
    assert data["sphinx"]["config"] == {"numfig": True, "book_build_mode": "full"}
