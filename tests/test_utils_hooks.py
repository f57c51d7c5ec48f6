"""srcgrad.utils.hooks.RemovableHandle: the type of every hook handle, as torch.utils.hooks's."""

from __future__ import annotations

import srcgrad as sg
from srcgrad.utils.hooks import RemovableHandle


def test_every_hook_handle_is_a_removable_handle():
    x = sg.ones(2, requires_grad=True)
    m = sg.nn.Linear(2, 2)
    opt = sg.optim.SGD(m.parameters(), lr=0.1)
    y = (x * 2).sum()
    handles = [x.register_hook(lambda g: g), y.grad_fn.register_hook(lambda gi, go: None),
               m.register_forward_hook(lambda mod, a, out: None), m.register_full_backward_hook(lambda *a: None),
               m.register_state_dict_pre_hook(lambda *a: None), opt.register_step_post_hook(lambda *a: None)]
    assert all(isinstance(h, RemovableHandle) for h in handles)
    assert not isinstance(object(), RemovableHandle)
    for h in handles:
        h.remove()
