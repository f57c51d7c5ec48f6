"""PyTorch's ``torch.utils.data._utils`` path, which ported code imports collate helpers from."""

from . import collate  # noqa: F401
