"""``srcgrad.nn``: modules (layers, containers, losses), ``Parameter``, ``init``, ``utils`` and ``functional``."""

from .. import conv as _conv  # noqa: F401 - registers the convolution primitive (until srcgrad/__init__ does)
from . import functional, init, utils
from .modules import (
    ELU,
    GELU,
    BCELoss,
    BCEWithLogitsLoss,
    Conv1d,
    Conv2d,
    Conv3d,
    CrossEntropyLoss,
    Dropout,
    Embedding,
    Flatten,
    Hardtanh,
    Identity,
    L1Loss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    Module,
    ModuleDict,
    ModuleList,
    MSELoss,
    NLLLoss,
    ParameterDict,
    ParameterList,
    ReLU,
    ReLU6,
    Sequential,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    Unflatten,
)
from .parameter import Parameter

__all__ = ["functional", "init", "utils", "Parameter", "Module", "Sequential", "ModuleList", "ModuleDict",
           "ParameterList", "ParameterDict", "Linear", "Identity", "Flatten", "Unflatten", "ReLU", "ReLU6", "Hardtanh", "Tanh", "Sigmoid",
           "SiLU", "GELU", "LeakyReLU", "ELU", "Softplus", "Softmax", "LogSoftmax", "Dropout", "Embedding",
           "LayerNorm", "Conv1d", "Conv2d", "Conv3d", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss",
           "BCEWithLogitsLoss", "BCELoss"]
