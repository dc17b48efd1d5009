"""Exact ReLU ResNet constructions approximating flows of ODEs with L1-in-time, bounded Lipschitz
right-hand sides (Mueller, arXiv 1910.09599). ``__all__`` below is the documented API; the
modules ``bounds``, ``fields``, ``measure`` (and ``baselines``, ``certificate``, ``invertibility``,
``kuhn``, ``plotting``, ``rough``, ``smallest``, imported by name) hold the rest."""

from . import bounds, fields, measure
from .baselines import TrainableResNet, sample_trajectories, train_trajectory_model
from .blocks import (
    AveragedBlock,
    Block,
    FastBlock,
    FieldBlock,
    PerturbedBlock,
    is_relu_network,
    random_unit_field,
)
from .certificate import Certificate, certify_resnet
from .fields import NeuralODEField, SpatialField, VectorField
from .flowmap import FlowMapPlan, certify_flow_map, flow_map_resnet, plan_flow_map_resnet
from .flows import reference_flow, solve_restarted
from .invertibility import fixed_point_inverse, invert, invert_with_bound
from .limits import PlanTooLarge
from .measure import measured_space_time_error
from .mesh import MeshChoice, choose_mesh
from .plan import DEFAULT_SHARES, EpsilonShare, Plan, certify, mesh_times, plan_flow_resnet
from .plan_point import PointPlan, certify_point, plan_point_resnet
from .relu import CPWLNetwork, KuhnGrid, count_parameters, cpwl_network, kuhn_network_size
from .resnet import (
    ReLUResNet,
    StateOutsideBox,
    averaged_euler,
    averaged_kuhn_resnet,
    build_certified_resnet,
    build_point_resnet,
    euler_resnet,
    exact_averaged_euler_resnet,
    interpolate_states,
)
from .smallest import SmallestCertified, smallest_certified_resnet

__all__ = [
    "DEFAULT_SHARES",
    "AveragedBlock",
    "Block",
    "CPWLNetwork",
    "Certificate",
    "EpsilonShare",
    "FastBlock",
    "FieldBlock",
    "FlowMapPlan",
    "KuhnGrid",
    "MeshChoice",
    "NeuralODEField",
    "PerturbedBlock",
    "Plan",
    "PlanTooLarge",
    "PointPlan",
    "ReLUResNet",
    "SmallestCertified",
    "SpatialField",
    "StateOutsideBox",
    "TrainableResNet",
    "VectorField",
    "averaged_euler",
    "averaged_kuhn_resnet",
    "bounds",
    "build_certified_resnet",
    "build_point_resnet",
    "certify",
    "certify_flow_map",
    "certify_point",
    "certify_resnet",
    "choose_mesh",
    "count_parameters",
    "cpwl_network",
    "euler_resnet",
    "exact_averaged_euler_resnet",
    "fields",
    "fixed_point_inverse",
    "flow_map_resnet",
    "interpolate_states",
    "invert",
    "invert_with_bound",
    "is_relu_network",
    "kuhn_network_size",
    "measure",
    "measured_space_time_error",
    "mesh_times",
    "plan_flow_map_resnet",
    "plan_flow_resnet",
    "plan_point_resnet",
    "random_unit_field",
    "reference_flow",
    "sample_trajectories",
    "smallest_certified_resnet",
    "solve_restarted",
    "train_trajectory_model",
]
