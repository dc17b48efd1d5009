"""resnet_flows._validate: numbers are numbers (no bools, no strings), arrays of them, and every
refusal names the parameter and what it accepts."""

import numpy as np
import pytest

import resnet_flows as rf
from resnet_flows import fields
from resnet_flows._validate import (
    as_box,
    as_points,
    as_times,
    nonnegative_array,
    nonnegative_float,
    positive_float,
    real_number,
)

K2 = (-np.ones(2), np.ones(2))


@pytest.mark.parametrize("value", [True, False, np.bool_(True), "0.1", b"1"])
def test_bools_and_strings_are_not_numbers(value):
    for check in (real_number, positive_float, nonnegative_float):
        with pytest.raises(ValueError, match=r"eps must be a real number, got .*\((bool|str|bytes)"):
            check(value, "eps")


def test_eps_true_is_refused_by_the_planner():
    with pytest.raises(ValueError, match="eps must be a real number, got True"):
        rf.plan_flow_resnet(fields.periodic_drift_rotation(), K2, True)


def test_numbers_still_accepted():
    assert positive_float(np.float32(0.5), "eps") == 0.5
    assert positive_float(3, "eps") == 3.0
    assert nonnegative_float(np.int64(0), "margin") == 0.0


@pytest.mark.parametrize("box", [(["a", "b"], ["c", "d"]), ("ab", "cd"), ([True, False], [1, 1]),
                                 ([0, 0], [1, 1j]), ([[0, 0], [1]], [1, 1]), ([None, 0], [1, 1])])
def test_box_of_non_numbers_names_box_and_what_it_accepts(box):
    with pytest.raises(ValueError, match=r"box must be a pair \(lower, upper\) of real numbers"):
        as_box(box)


def test_box_of_strings_refused_by_the_planner():
    with pytest.raises(ValueError, match="box must be a pair"):
        rf.plan_flow_resnet(fields.periodic_drift_rotation(), (["a", "b"], ["c", "d"]), 0.1)


def test_points_and_times_of_non_numbers():
    with pytest.raises(ValueError, match=r"x must be an array of real numbers of shape \(n, 2\)"):
        as_points([["a", "b"]], 2)
    with pytest.raises(ValueError, match=r"x must be an array of real numbers"):
        as_points(np.array([[True, False]]), 2)
    with pytest.raises(ValueError, match="times must be a non-empty 1-D array of real numbers"):
        as_times(["0", "1"])
    with pytest.raises(ValueError, match="local_errors must be finite numbers >= 0"):
        nonnegative_array(["x"], "local_errors")


def test_valid_arrays_pass_unchanged():
    lower, upper = as_box(([0, 0], [1, 2]))
    assert lower.dtype == np.float64 and upper.tolist() == [1.0, 2.0]
    assert as_points([0.5, 0.5], 2).shape == (1, 2)
    assert as_times([0, 0.5, 1]).tolist() == [0.0, 0.5, 1.0]
