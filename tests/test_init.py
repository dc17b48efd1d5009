"""resnet_flows/__init__: ``rf.__all__`` is the documented API, and everything the README and
the chapters use from the package is in it."""

import importlib.util
import pathlib
import re

import resnet_flows as rf

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "README.md", *sorted((ROOT / "chapters").glob("*.md"))]


def _texts():
    return {path.name: path.read_text(encoding="utf-8") for path in SOURCES}


def test_every_exported_name_exists():
    missing = [name for name in rf.__all__ if not hasattr(rf, name)]
    assert not missing


def test_names_used_as_rf_attributes_are_exported():
    used = {(name, m) for name, text in _texts().items()
            for m in re.findall(r"\brf\.([A-Za-z_]\w*)", text)}
    assert used, "the README and chapters use rf.<name>"
    missing = sorted((m, name) for name, m in used if m != "__all__" and m not in rf.__all__)
    assert not missing, f"used but not in rf.__all__: {missing}"


def test_names_imported_from_the_package_are_exported_or_modules():
    missing = []
    for name, text in _texts().items():
        for group in re.findall(r"from resnet_flows import ([\w, ]+)", text):
            for member in (m.split(" as ")[0].strip() for m in group.split(",")):
                module = importlib.util.find_spec(f"resnet_flows.{member}") is not None
                if member not in rf.__all__ and not module:
                    missing.append((member, name))
    assert not missing


def test_search_and_training_are_exported():
    for name in ("TrainableResNet", "sample_trajectories", "train_trajectory_model",
                 "smallest_certified_resnet", "SmallestCertified"):
        assert name in rf.__all__
