"""Exact ReLU ResNet constructions approximating flows of ODEs with L1-in-time, bounded Lipschitz
right-hand sides (Mueller, arXiv 1910.09599). The public API, re-exported."""

from . import bounds, fields
from .fields import NeuralODEField, SpatialField, VectorField
from .flows import reference_flow
from .plan import Plan, certify, mesh_times, plan_flow_resnet
from .relu import CPWLNetwork, KuhnGrid, count_parameters, cpwl_network, kuhn_network_size
from .resnet import (
    AveragedBlock,
    FieldBlock,
    PerturbedBlock,
    ReLUResNet,
    StateOutsideBox,
    averaged_euler,
    averaged_kuhn_resnet,
    build_certified_resnet,
    build_point_resnet,
    euler_resnet,
    exact_averaged_euler_resnet,
    fixed_point_inverse,
    invert,
    random_unit_field,
)

__all__ = [
    "AveragedBlock",
    "CPWLNetwork",
    "FieldBlock",
    "KuhnGrid",
    "NeuralODEField",
    "PerturbedBlock",
    "Plan",
    "ReLUResNet",
    "SpatialField",
    "StateOutsideBox",
    "VectorField",
    "averaged_euler",
    "averaged_kuhn_resnet",
    "bounds",
    "build_certified_resnet",
    "build_point_resnet",
    "certify",
    "count_parameters",
    "cpwl_network",
    "euler_resnet",
    "exact_averaged_euler_resnet",
    "fields",
    "fixed_point_inverse",
    "invert",
    "kuhn_network_size",
    "mesh_times",
    "plan_flow_resnet",
    "random_unit_field",
    "reference_flow",
]
