"""The claims ledger: validation, violation, where claims are written."""

import json
import math

import numpy as np
import pytest

from book_toolchain import claims
from book_toolchain.claims import ClaimViolated, read_ledgers, record_claim


@pytest.fixture
def ledger_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(claims.ENV_CLAIMS_DIR, str(tmp_path))
    monkeypatch.setenv(claims.ENV_CHAPTER, "04_averaged_euler")
    monkeypatch.setenv(claims.ENV_PARAMETERS, json.dumps({"mode": "quick", "seed": 3}))
    return tmp_path


@pytest.mark.parametrize("bound", [math.nan, math.inf, -math.inf, 0.0, -1.0])
def test_rejects_bad_bounds(bound):
    with pytest.raises(ValueError, match="bound"):
        record_claim("thm-x", "error", 0.1, bound)


@pytest.mark.parametrize("measured", [math.nan, math.inf, -1e-12])
def test_rejects_bad_measured_values(measured):
    with pytest.raises(ValueError, match="measured"):
        record_claim("thm-x", "error", measured, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"label": ""}, "label"),
        ({"quantity": "  "}, "quantity"),
        ({"measured": "0.1"}, "measured"),
        ({"bound": True}, "bound"),
        ({"bound": np.ones(2)}, "bound"),
    ],
)
def test_rejects_bad_arguments_naming_them(kwargs, name):
    arguments = {"label": "thm-x", "quantity": "error", "measured": 0.1, "bound": 1.0, **kwargs}
    with pytest.raises(ValueError, match=name):
        record_claim(**arguments)


def test_holding_claim_is_returned_and_written(ledger_dir):
    claim = record_claim("thm-x", "sup error", np.float32(0.25), np.array(1.0), n=np.int64(4))
    assert claim["ratio"] == 0.25 and claim["holds"] is True
    ledger = read_ledgers(ledger_dir)["04_averaged_euler"]
    assert ledger["mode"] == "quick" and ledger["seed"] == 3
    assert set(ledger["versions"]) >= {"python", "torch", "numpy"}
    assert ledger["claims"] == [claim]
    assert ledger["claims"][0]["context"] == {"n": 4}


def test_violated_claim_raises_naming_label_and_is_still_recorded(ledger_dir):
    record_claim("thm-x", "first", 1.0, 1.0)  # equality holds
    with pytest.raises(ClaimViolated, match="thm-averaged-euler") as raised:
        record_claim("thm-averaged-euler", "node error", 2.0, 1.0, N=8)
    assert isinstance(raised.value, AssertionError)
    assert "node error" in str(raised.value) and "2" in str(raised.value)
    recorded = read_ledgers(ledger_dir)["04_averaged_euler"]["claims"]
    assert [c["label"] for c in recorded] == ["thm-x", "thm-averaged-euler"]
    assert recorded[1]["holds"] is False and recorded[1]["ratio"] == 2.0


def test_outside_the_pipeline_claims_stay_in_memory(monkeypatch, tmp_path):
    monkeypatch.delenv(claims.ENV_CLAIMS_DIR, raising=False)
    monkeypatch.chdir(tmp_path)
    before = len(claims.INTERACTIVE_CLAIMS)
    record_claim("thm-x", "error", 0.5, 1.0)
    assert len(claims.INTERACTIVE_CLAIMS) == before + 1
    assert list(tmp_path.iterdir()) == []


def test_context_is_made_json_safe(ledger_dir):
    record_claim("thm-x", "e", 0.0, 1.0, grid=np.linspace(0, 1, 3), bad=math.nan, shape=(2, 3))
    context = read_ledgers(ledger_dir)["04_averaged_euler"]["claims"][0]["context"]
    assert context == {"grid": [0.0, 0.5, 1.0], "bad": "nan", "shape": [2, 3]}
