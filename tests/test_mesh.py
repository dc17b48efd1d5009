"""resnet_flows.mesh: uniform and graded meshes from cumulative integrals, the refusal of huge
meshes, and mesh="auto" (choose_mesh) with the reason it records."""

import math

import numpy as np
import pytest

import resnet_flows as rf
from resnet_flows import fields, mesh
from resnet_flows.mesh import averaged_partition_bound, choose_mesh, interval_integrals
from user_fields import user_field_2d, user_singular_field


def test_a_mesh_of_a_billion_blocks_is_refused_before_allocating():
    """Defect: mesh_times(field, 10**9) allocated 7.45 GiB before anything else happened."""
    field = fields.switching_rotations()
    for kind in ("uniform", "graded"):
        with pytest.raises(rf.PlanTooLarge, match=r"blocks=1,000,000,000.*GiB.*max_memory"):
            rf.mesh_times(field, 10**9, kind)
    assert rf.mesh_times(field, 10**4, "uniform", max_memory=math.inf).size == 10**4 + 1


@pytest.mark.parametrize("bad", ["auto", "cubic", None])
def test_mesh_times_names_its_meshes(bad):
    with pytest.raises(ValueError, match="mesh"):
        rf.mesh_times(fields.switching_rotations(), 8, bad)


@pytest.mark.parametrize("make", [fields.switching_rotations, fields.periodic_drift_rotation])
def test_graded_meshes_of_closed_form_primitives_equidistribute_int_m(make):
    """Safeguarded Newton on the primitive, also across the jumps of m (switching fields)."""
    field = make()
    times = rf.mesh_times(field, 1000, "graded")
    masses = field.sup_integral(times[:-1], times[1:])
    assert np.all(np.diff(times) > 0) and times[0] == 0 and times[-1] == field.horizon
    assert np.ptp(masses) <= 1e-11 * masses.mean()


def test_interval_integrals_are_the_fields_integrals():
    field = user_field_2d()
    times = rf.mesh_times(field, 300, "graded")
    m_int, lam = interval_integrals(field, times)
    assert np.array_equal(m_int, field.sup_integral(times[:-1], times[1:]))
    assert np.array_equal(lam, field.lip_integral(times[:-1], times[1:]))


def test_auto_is_graded_for_declared_singular_times_and_says_so():
    choice = choose_mesh(user_field_2d(), 0.25)
    assert choice.mesh == "graded" and "t*=0.61" in choice.reason and "beta=0.8" in choice.reason


def test_auto_is_uniform_when_graded_is_no_smaller():
    """A constant rate: the graded mesh is the uniform one, so uniform is kept."""
    field = fields.checks.autonomous(fields.cutoff_rotation(1.0, 1.0))
    choice = choose_mesh(field, 0.1)
    assert choice.mesh == "uniform" and choice.reason.startswith("estimate")


def test_auto_picks_graded_only_when_the_estimate_says_so():
    """The reason's claim is checked: graded passes with GRADED_GAIN of the uniform blocks,
    uniform does not (switching rotations: m jumps between 0.5 and 1.5)."""
    field = fields.switching_rotations()
    eps = 0.3
    choice = choose_mesh(field, eps)
    bound = averaged_partition_bound(field)
    least = min(n for n in range(1, 200) if bound(rf.mesh_times(field, n)) <= eps / 2)
    fewer = int(mesh.GRADED_GAIN * least)
    assert choice.mesh == "graded" and f"uniform {least}" in choice.reason
    assert bound(rf.mesh_times(field, fewer, "graded")) <= eps / 2


def test_requested_and_given_meshes_are_kept():
    field = fields.switching_rotations()
    assert choose_mesh(field, 0.1, "uniform").reason == "mesh='uniform' requested"
    given = choose_mesh(field, 0.1, [0.0, 0.5, 1.0])
    assert given.mesh == "given" and np.array_equal(given.times, [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="mesh"):
        choose_mesh(field, 0.1, "cubic")


@pytest.mark.parametrize("tstar", [0.0, 1.0, 0.37])
def test_graded_meshes_at_the_ends_and_inside(tstar):
    field = user_singular_field(2, tstar, 0.6)
    times = rf.mesh_times(field, 64, "graded")
    masses = field.sup_integral(times[:-1], times[1:])
    assert np.ptp(masses) <= 1e-9 * masses.mean()
    near = np.argmin(np.abs(times[:-1] - tstar))
    assert np.diff(times)[min(near, 63)] < 0.2 * np.diff(times).max()
