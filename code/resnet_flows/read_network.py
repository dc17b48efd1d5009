"""Reading a ReLU ResNet for the certificate (thm-certificate): only what can be read exactly.

The certificate bounds the function the weights define. It accepts a module only when its
``forward`` is known to compute that function: exact types (``type(m) is nn.Linear``, not a
subclass with its own ``forward``), ``nn.ReLU``, ``nn.Identity``, ``nn.Sequential`` of those,
the package's :class:`~resnet_flows.relu.CPWLNetwork` (whose hidden layers are compared with a
freshly built grid's), :class:`~resnet_flows.resnet.ReLUResNet` and
:class:`~resnet_flows.baselines.TrainableResNet`; no forward or forward-pre hooks (on the
module or global), no ``forward`` replaced on an instance, float64 and finite weights.
Everything else is a ``ValueError`` naming the block and the module type. The weights are
copied when the certificate runs; :func:`relu_blocks` also returns the states computed through
the modules' own ``forward``, which the certificate compares with its own at every centre.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.modules import module as torch_module

from ._validate import as_times
from .lipschitz import KuhnBlock, MLPBlock
from .relu import CPWLNetwork, KuhnGrid

__all__ = ["check_plain", "relu_blocks"]
__bounds__ = ()  # reads networks; returns no bound


def _global_hooks() -> list[str]:
    names = ("_global_forward_hooks", "_global_forward_pre_hooks")
    return [n for n in names if getattr(torch_module, n, None)]


def check_plain(module: nn.Module, where: str) -> None:
    """Refuse hooks and an instance-level ``forward`` on ``module`` (``where`` names it)."""
    kind = type(module).__name__
    if module._forward_hooks or module._forward_pre_hooks:
        raise ValueError(f"net: {where} ({kind}) has a forward hook; the certificate reads the "
                         "weights and cannot know what a hook changes")
    if "forward" in vars(module):
        raise ValueError(f"net: {where} ({kind}) has its forward replaced on the instance")


def _float64(tensor: torch.Tensor, where: str, what: str, finite: bool = True) -> np.ndarray:
    if tensor.dtype != torch.float64:
        raise ValueError(f"net: {where} has {what} of dtype {tensor.dtype}; the certificate "
                         "reads float64 networks")
    out = tensor.detach().cpu().numpy().astype(np.float64, copy=True)
    if finite and not np.all(np.isfinite(out)):
        raise ValueError(f"net: {where} has non-finite {what} (NaN or inf)")
    return out


def _flatten(module: nn.Module, where: str) -> list[nn.Module]:
    if type(module) is nn.Sequential:
        check_plain(module, where)
        out = []
        for i, child in enumerate(module):
            out += _flatten(child, f"{where}, layer {i}")
        return out
    return [(module, where)]


def _sequential_layers(block: nn.Module, k: int):
    layers, expect_linear = [], True
    for module, where in _flatten(block, f"block {k}"):
        kind = type(module)
        if kind not in (nn.Linear, nn.ReLU, nn.Identity):
            raise ValueError(f"net: block {k} contains {kind.__name__} ({where}); only exact "
                             "nn.Linear, nn.ReLU, nn.Identity layers in an nn.Sequential, or "
                             "Kuhn networks (CPWLNetwork), can be certified")
        check_plain(module, where)
        if kind is nn.Identity:
            continue
        if kind is nn.Linear:
            if not expect_linear:
                raise ValueError(f"net: block {k} has two Linear layers without a ReLU between")
            weight = _float64(module.weight, where, "weights")
            bias = (_float64(module.bias, where, "biases") if module.bias is not None
                    else np.zeros(module.out_features))
            layers.append((weight, bias))
            expect_linear = False
        else:
            if expect_linear:
                raise ValueError(f"net: block {k} has a ReLU not preceded by a Linear layer")
            expect_linear = True
    if not layers or expect_linear:
        raise ValueError(f"net: block {k} must start and end with a Linear layer")
    return layers


def _check_grid(grid, k: int, checked: dict) -> None:
    """The hidden layers of a Kuhn network are the grid's; they must be those of the grid its
    box and cells describe (a changed layer or box would make forward another function)."""
    if type(grid) is not KuhnGrid:
        raise ValueError(f"net: block {k} has a grid of type {type(grid).__name__}, not KuhnGrid")
    if id(grid) in checked:
        return
    fresh = KuhnGrid((grid.lower.copy(), grid.upper.copy()), grid.cells)
    same = (np.array_equal(fresh.widths, grid.widths) and np.array_equal(fresh.strides,
                                                                          grid.strides)
            and fresh.num_nodes == grid.num_nodes and fresh.dim == grid.dim)
    layers = grid.hidden_layers
    same = same and len(layers) == len(fresh.hidden_layers) and all(
        a.inputs == b.inputs and torch.equal(a.index, b.index) and torch.equal(a.weight, b.weight)
        and torch.equal(a.bias, b.bias) for a, b in zip(layers, fresh.hidden_layers))
    if not same:
        raise ValueError(f"net: block {k} (CPWLNetwork) has hidden layers or grid data that "
                         "differ from those of its grid's box and cells")
    checked[id(grid)] = True


def _block(b, k: int, checked: dict):
    where = f"block {k}"
    if type(b) is CPWLNetwork:
        check_plain(b, where)
        _check_grid(b.grid, k, checked)
        _float64(b.output_weight, where, "output_weight")
        _float64(b.output_bias, where, "output_bias")
        return KuhnBlock(b, where)
    if type(b) in (nn.Sequential, nn.Linear):
        return MLPBlock(_sequential_layers(b, k), where)
    raise ValueError(f"net: block {k} is a {type(b).__name__}; only nn.Sequential of exact "
                     "nn.Linear/nn.ReLU/nn.Identity layers or CPWLNetwork can be certified")


def _module_states(modules):
    def states(x: np.ndarray) -> np.ndarray:
        out = [torch.as_tensor(x, dtype=torch.float64)]
        with torch.no_grad():
            for block in modules:
                out.append(out[-1] + block(out[-1]))
        return torch.stack(out).numpy()
    return states


def relu_blocks(net, times=None):
    """``(blocks, times, forward_states)`` for a ReLU ResNet: a ``ReLUResNet`` (Kuhn or
    ``nn.Sequential`` blocks), a ``TrainableResNet`` (chapter 9), or a sequence of ``nn.Module``
    blocks with ``times``. ``forward_states(x)`` gives ``(x_0, ..., x_N)`` computed by the
    modules' own ``forward`` (numpy, ``(N + 1, n, d)``)."""
    from .baselines import TrainableResNet
    from .resnet import ReLUResNet

    hooks = _global_hooks()
    if hooks:
        raise ValueError(f"net: global forward hooks are registered ({', '.join(hooks)}); the "
                         "certificate cannot know what they change")
    checked: dict = {}
    if isinstance(net, TrainableResNet):
        if type(net) is not TrainableResNet:
            raise ValueError(f"net: {type(net).__name__} subclasses TrainableResNet; only the "
                             "class itself can be read")
        check_plain(net, "the network")
        for name in ("block", "trajectory"):
            if name in vars(net):
                raise ValueError(f"net: the network has its {name} replaced on the instance")
        # finiteness is checked per block and layer by MLPBlock, which names them
        w_in, b_in, w_out, b_out = (_float64(getattr(net, n), "the network", n, finite=False)
                                    for n in ("w_in", "b_in", "w_out", "b_out"))
        blocks = [MLPBlock([(w_in[k], b_in[k, 0]), (w_out[k], b_out[k, 0])], f"block {k}")
                  for k in range(net.num_blocks)]
        own_times = net.times

        def forward_states(x):
            with torch.no_grad():
                return net.trajectory(torch.as_tensor(x, dtype=torch.float64)).numpy()
    elif isinstance(net, ReLUResNet):
        if type(net) is not ReLUResNet:
            raise ValueError(f"net: {type(net).__name__} subclasses ReLUResNet; only the class "
                             "itself can be read")
        check_plain(net, "the network")
        blocks = [_block(b, k, checked) for k, b in enumerate(net.blocks)]
        if net.box is not None:  # its forward refuses states outside the box
            for block in blocks:
                block.box = net.box if block.box is None else block.box
        own_times = net.times
        forward_states = _module_states(list(net.blocks))
    elif (isinstance(net, Sequence) and len(net) and all(isinstance(b, nn.Module) for b in net)):
        if times is None:
            raise ValueError("times must be given for a list of blocks")
        blocks = [_block(b, k, checked) for k, b in enumerate(net)]
        own_times = None
        forward_states = _module_states(list(net))
    else:
        raise ValueError(f"net must be a ReLUResNet, a TrainableResNet or a non-empty list of "
                         f"nn.Module blocks, got {type(net).__name__}")
    if times is None:
        times = own_times
    times = as_times(times, "times")
    if own_times is not None and not np.array_equal(times, own_times):
        raise ValueError("times differ from the network's own times")
    if times.size != len(blocks) + 1:
        raise ValueError(f"times must have len(blocks) + 1 = {len(blocks) + 1} entries, "
                         f"got {times.size}")
    dims = {b.dim for b in blocks}
    if len(dims) != 1:
        raise ValueError(f"net: blocks act on different dimensions {sorted(dims)}")
    return blocks, times, forward_states
