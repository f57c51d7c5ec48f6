"""``nn.utils``: gradient clipping, parameter/vector conversion, ``nn.utils.rnn``, parametrizations
(``nn.utils.parametrize``, ``nn.utils.parametrizations``) and the legacy hook-based ``weight_norm`` and
``spectral_norm``, ``nn.utils.stateless.functional_call`` (deprecated: ``srcgrad.func.functional_call``),
``skip_init`` and the conv/linear + BatchNorm fusion of ``nn.utils.fusion``."""

from __future__ import annotations

from . import fusion, parametrizations, parametrize, prune, rnn, stateless
from .clip_grad import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights
from .init import skip_init
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "vector_to_parameters", "rnn", "parametrize", "parametrizations", "prune",
           "weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm", "stateless", "skip_init", "fusion", "fuse_conv_bn_eval",
           "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]
