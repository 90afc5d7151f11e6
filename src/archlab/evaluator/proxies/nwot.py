"""nwot (NASWOT): log|det K_H| with K_H[i, j] = N_A − d_H(c_i, c_j), where c_i ∈ {0, 1}^N_A is the binary
code of which units are active (pre-activation > 0) for sample i over every activation module of the
network (Mellor et al., "Neural Architecture Search without Training", ICML 2021). Networks whose
units separate the samples of a batch get a larger score. ReLU is the paper's activation; GELU, SiLU
and the like are coded the same way (active where their input is positive). Models whose
nonlinearities are not modules give no codes: not applicable.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from archlab.evaluator.proxies.base import ACTIVATIONS, ProxyBatch, ProxyNotApplicable


def nwot(model: nn.Module, batch: ProxyBatch) -> float:
    b = len(batch.x)
    kernel = torch.zeros(b, b, dtype=torch.float64)

    def code(module: nn.Module, args: tuple) -> None:
        nonlocal kernel
        c = (args[0].detach().reshape(b, -1) > 0).double().cpu()
        kernel += c @ c.t() + (1 - c) @ (1 - c).t()

    handles = [m.register_forward_pre_hook(code) for m in model.modules() if isinstance(m, ACTIVATIONS)]
    if not handles:
        raise ProxyNotApplicable("no activation modules to read binary codes from")
    try:
        with torch.no_grad():
            model(batch.x)
    finally:
        for handle in handles:
            handle.remove()
    sign, logdet = np.linalg.slogdet(kernel.numpy())
    return float(logdet) if sign != 0 else float("-inf")
