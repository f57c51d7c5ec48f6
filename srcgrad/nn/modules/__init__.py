"""The layers of ``srcgrad.nn``."""

from .activation import ELU, GELU, Hardtanh, LeakyReLU, LogSoftmax, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv1d, Conv2d, Conv3d
from .dropout import Dropout
from .flatten import Flatten, Unflatten
from .linear import Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .normalization import LayerNorm
from .sparse import Embedding

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Linear",
           "Identity", "Flatten", "Unflatten", "ReLU", "ReLU6", "Hardtanh", "Tanh", "Sigmoid", "SiLU", "GELU", "LeakyReLU", "ELU",
           "Softplus", "Softmax", "LogSoftmax", "Dropout", "Embedding", "LayerNorm", "Conv1d", "Conv2d", "Conv3d",
           "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss"]
