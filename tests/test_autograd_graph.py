"""grad_fn objects as PyTorch shows them: hooks on graph nodes, next_functions, saved values,
calling a grad_fn, torch.autograd.graph utilities and the in-place version error."""

import pytest

import srcgrad as torch


def _leaf(*v):
    return torch.tensor(list(v), requires_grad=True)


# -- hooks on graph nodes ---------------------------------------------------------------


def test_node_hook_order_matches_pytorch():
    # PyTorch's order: the consumer's prehook, then the tensor hooks of y (retain_grad last),
    # y.grad_fn's prehooks, its backward, its post hooks; the leaf's tensor hooks, then its
    # AccumulateGrad prehook, and the AccumulateGrad post hook once .grad is updated.
    log = []
    x = _leaf(1.0, 2.0)
    y = x * 3
    z = y.exp()
    y.register_hook(lambda g: log.append("y tensor"))
    y.grad_fn.register_prehook(lambda go: log.append(("y pre", len(go))))
    y.grad_fn.register_hook(lambda gi, go: log.append(("y post", len(gi), gi[1], len(go))))
    acc = y.grad_fn.next_functions[0][0]
    x.register_hook(lambda g: log.append("x tensor"))
    acc.register_prehook(lambda go: log.append(("acc pre", len(go))))
    acc.register_hook(lambda gi, go: log.append(("acc post", gi, len(go), x.grad is not None)))
    z.grad_fn.register_prehook(lambda go: log.append("z pre"))
    z.sum().backward()
    assert log == ["z pre", "y tensor", ("y pre", 1), ("y post", 2, None, 1), "x tensor", ("acc pre", 1),
                   ("acc post", (), 1, True)]


def test_node_hooks_replace_gradients():
    x = _leaf(1.0, 2.0)
    y = x * 3
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 100, None))
    y.sum().backward()
    assert x.grad.tolist() == [300.0, 300.0]
    x.grad = None
    y = x * 3
    y.grad_fn.register_prehook(lambda go: (go[0] * 0 + 2,))
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_accumulate_grad_prehook_and_handle():
    x = _leaf(1.0, 2.0)
    acc = (x * 3).grad_fn.next_functions[0][0]
    with acc.register_prehook(lambda go: (go[0] * 10,)):
        (x * 3).sum().backward()
    assert x.grad.tolist() == [30.0, 30.0]
    x.grad = None
    (x * 3).sum().backward()  # the hook was removed on leaving the with block
    assert x.grad.tolist() == [3.0, 3.0]


def test_accumulate_grad_hooks_survive_an_optimizer_step():
    # hooks on a leaf's AccumulateGrad stay with the tensor when it is updated in place
    w = _leaf(1.0, 2.0)
    acc = (w * 1).grad_fn.next_functions[0][0]
    seen = []
    acc.register_hook(lambda gi, go: seen.append(go[0].tolist()))
    for _ in range(3):
        (w * 2).sum().backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    assert seen == [[2.0, 2.0]] * 3
    assert (w * 1).grad_fn.next_functions[0][0] is acc


def test_node_hooks_and_autograd_grad():
    # autograd.grad runs the graph's hooks but not the AccumulateGrad of the inputs
    log = []
    x = _leaf(1.0, 2.0)
    y = x * 3
    acc = y.grad_fn.next_functions[0][0]
    acc.register_prehook(lambda go: log.append("acc pre"))
    y.grad_fn.register_prehook(lambda go: log.append("y pre"))
    torch.autograd.grad(y.sum(), x)
    assert log == ["y pre"]


def test_node_hooks_leave_the_replay_path_fast_and_correct():
    x = _leaf(1.0, 2.0)
    for k in range(3):  # the same graph each step; the hook is added on the third
        y = x * 3
        if k == 2:
            y.grad_fn.register_hook(lambda gi, go: (gi[0] * 0, None))
        y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_custom_function_node_hooks():
    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, k, b):
            return a * k, 5, b * 2

        @staticmethod
        def backward(ctx, g1, g2, g3):
            return g1 * 7, None, g3 * 2

    log = []
    x, b = _leaf(1.0, 2.0), _leaf(1.0, 1.0)
    p, _, q = F.apply(x, 2.0, b)
    p.grad_fn.register_prehook(lambda go: log.append(("pre", [g is None for g in go])))
    p.grad_fn.register_hook(lambda gi, go: log.append(("post", len(gi))))
    p.sum().backward()
    assert log == [("pre", [False, True, True]), ("post", 2)]
    assert x.grad.tolist() == [7.0, 7.0]


# -- the grad_fn class, next_functions ---------------------------------------------------


def test_graph_node_is_the_grad_fn_base():
    x = _leaf(1.0, 2.0)
    y = x * 2
    assert isinstance(y.grad_fn, torch.autograd.graph.Node)
    assert isinstance(y.grad_fn.next_functions[0][0], torch.autograd.graph.Node)


def test_next_functions_skip_numbers_and_conditions():
    x = _leaf(1.0, 2.0)
    assert [type(f).__name__ for f, _ in (2 - x).grad_fn.next_functions] == ["AccumulateGrad"]
    assert len(torch.where(x > 1, x, x * 2).grad_fn.next_functions) == 2
    assert [f is None for f, _ in (2 * x).grad_fn.next_functions] == [False, True]
    assert len((x ** 2).grad_fn.next_functions) == 1


def test_next_functions_output_nr_and_one_accumulate_grad():
    x = _leaf(1.0, 2.0, 3.0)
    q, r, s = (x * 1).split(1)
    assert [k for _, k in (q + r + s).grad_fn.next_functions][1] == 2
    assert [k for _, k in (q + r).grad_fn.next_functions] == [0, 1]
    a, b, _ = (x * 1).unbind()
    assert [k for _, k in (b + a).grad_fn.next_functions] == [1, 0]
    y = x * 2
    assert y.grad_fn.next_functions[0][0] is y.grad_fn.next_functions[0][0]
    assert y.grad_fn.next_functions[0][0].variable is x


# -- custom Function grad_fn is the ctx ---------------------------------------------------


def test_custom_function_grad_fn_shows_ctx():
    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, k, b):
            ctx.foo = 7
            ctx.save_for_backward(a)
            return a * k, 5, b * 2

        @staticmethod
        def backward(ctx, g1, g2, g3):
            return g1 * ctx.foo, None, g3 * 2

    x, b = _leaf(1.0, 2.0), _leaf(1.0, 1.0)
    p, _, q = F.apply(x, 2.0, b)
    gf = p.grad_fn
    assert gf is q.grad_fn and gf.name() == "FBackward"
    assert isinstance(gf, torch.autograd.function.BackwardCFunction)
    assert gf.foo == 7 and gf.needs_input_grad == (True, False, True)
    assert gf.saved_tensors[0] is x
    assert [k for _, k in (p + q).grad_fn.next_functions] == [0, 2]
    p.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        _ = gf.saved_tensors


# -- saved values -------------------------------------------------------------------------


def test_saved_attributes():
    x, w = _leaf(1.0, 2.0), torch.tensor([3.0, 4.0])
    gf = (x * w).grad_fn
    assert gf._saved_self is None and gf._saved_other.tolist() == [3.0, 4.0]
    assert (x * 2.0).grad_fn._saved_other.dtype == torch.float64
    assert x.pow(2).grad_fn._saved_exponent == 2
    assert x.pow(2).grad_fn._saved_self is x
    assert x.sum().grad_fn._saved_self_sym_sizes == (2,)
    e = x.exp()
    assert e.grad_fn._saved_result is not e and e.grad_fn._saved_result.equal(e)  # (as PyTorch 2)
    assert e.grad_fn._saved_result.grad_fn.name() == "ExpBackward0"
    assert [d for d in dir(e.grad_fn) if "saved" in d] == ["_raw_saved_result", "_saved_result"]
    m = torch.ones(2, 3, requires_grad=True)
    mm = m.mm(torch.ones(3, 4)).grad_fn
    assert mm._saved_self is None and tuple(mm._saved_mat2.shape) == (3, 4)
    assert m.sum(1).grad_fn._saved_dim == (1,)
    y = x * w
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        _ = y.grad_fn._saved_other
    with pytest.raises(AttributeError):
        _ = y.grad_fn._saved_nothing


# -- calling a grad_fn ----------------------------------------------------------------------


def test_calling_a_grad_fn():
    x = _leaf(1.0, 2.0)
    gx, gw = (x * torch.tensor([1.0, 2.0])).grad_fn(torch.ones(2))
    assert gx.tolist() == [1.0, 2.0] and gw is None
    assert (x.exp()).grad_fn(torch.ones(2)).tolist() == pytest.approx([2.7182817, 7.389056])
    m = torch.ones(2, 2, requires_grad=True)
    gm, gb = (m + torch.ones(2, requires_grad=True)).grad_fn(torch.ones(2, 2))
    assert tuple(gm.shape) == (2, 2) and gb.tolist() == [2.0, 2.0]  # reduced to the input's shape


# -- torch.autograd.graph utilities -----------------------------------------------------------


def test_register_multi_grad_hook():
    a, b, c = _leaf(1.0, 2.0), _leaf(3.0, 4.0), _leaf(5.0, 6.0)
    got = []
    h = torch.autograd.graph.register_multi_grad_hook(
        (a, b, c), lambda gs: got.append([None if g is None else g.tolist() for g in gs]))
    (a * 2 + b * 3).sum().backward()
    assert got == [[[2.0, 2.0], [3.0, 3.0], None]]
    h.remove()
    (a * 2).sum().backward()
    assert len(got) == 1
    anys = []
    torch.autograd.graph.register_multi_grad_hook((a, b), lambda g: anys.append(g), mode="any")
    (a * 2 + b * 3).sum().backward()
    assert len(anys) == 1


def test_increment_version_and_gradient_edge():
    v = _leaf(1.0, 2.0)
    o = v * v
    torch.autograd.graph.increment_version(v)
    with pytest.raises(RuntimeError, match=r"\[torch.FloatTensor \[2\]\] is at version 1; expected version 0 "
                                           r"instead\."):
        o.sum().backward()
    x = _leaf(1.0, 2.0)
    y = x * 2
    edge = torch.autograd.graph.get_gradient_edge(y)
    assert edge.node is y.grad_fn and edge.output_nr == 0
    (g,) = torch.autograd.grad((y * y).sum(), edge)
    assert g.tolist() == [4.0, 8.0]


# -- the version-counter error -----------------------------------------------------------------


@pytest.mark.parametrize("code, prefix", [
    ("y = x * 1; z = y.sigmoid(); z.mul_(2); z.sum().backward()",
     "[torch.FloatTensor [2]], which is output 0 of Sigmoid, is at version 1; expected version 0 instead."),
    ("b = x * 1; c = b * b; b.mul_(2); b.add_(1); c.sum().backward()",
     "[torch.FloatTensor [2]], which is output 0 of Add, is at version 2; expected version 0 instead."),
    ("b = x.exp(); b.add_(1); b.add_(1); b.sum().backward()",
     "[torch.FloatTensor [2]], which is output 0 of Exp, is at version 2; expected version 0 instead."),
    ("y = x * x\nwith torch.no_grad(): x.add_(1)\ny.sum().backward()",
     "[torch.FloatTensor [2]] is at version 1; expected version 0 instead."),
])
def test_inplace_error_prefix_matches_pytorch(code, prefix):
    x = _leaf(1.0, 2.0)
    with pytest.raises(RuntimeError) as e:
        exec(code, {"torch": torch, "x": x})
    assert str(e.value).startswith("one of the variables needed for gradient computation has been modified by "
                                   "an inplace operation: " + prefix)


def test_inplace_error_prefix_against_pytorch():
    pt = pytest.importorskip("torch")
    code = "b = x * 1; c = b * b; b.add_(1); c.sum().backward()"
    msgs = []
    for lib in (pt, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError) as e:
            exec(code, {"torch": lib, "x": x})
        msgs.append(str(e.value).split(" instead.")[0])
    assert msgs[0] == msgs[1]


def test_output_nr_of_multi_output_ops_and_leaves():
    x = torch.randn(6, requires_grad=True)
    assert [t.output_nr for t in x.split(2)] == [0, 1, 2]
    assert [t.output_nr for t in torch.randn(3, 2, requires_grad=True).unbind(1)] == [0, 1]
    assert x.output_nr == 0 and (x * 2).output_nr == 0


def test_saved_result_shares_the_outputs_storage_and_version():
    a = _leaf(1.0, 2.0)
    y = a.exp()
    s = y.grad_fn._saved_result
    with torch.no_grad():
        y.mul_(0)
    assert s.tolist() == [0.0, 0.0] and s._version == 1
    with pytest.raises(RuntimeError, match="output 0 of Exp, is at version 1; expected version 0"):
        y.sum().backward()


def _names(edges):
    return [None if f is None else type(f).__name__ for f, _ in edges]


def test_the_blitz_loss_graph_walks_through_pytorchs_nodes():
    # the "Neural Networks" tutorial: loss.grad_fn (MSELoss) -> Addmm (Linear) -> AccumulateGrad
    x = torch.ones(1, 3, requires_grad=True)
    lin = torch.nn.Linear(3, 2)
    out = lin(torch.relu(x * 2))
    loss = torch.nn.MSELoss()(out, torch.zeros(1, 2))
    assert _names(loss.grad_fn.next_functions) == ["AddmmBackward0", None]
    addmm = loss.grad_fn.next_functions[0][0]
    assert _names(addmm.next_functions) == ["AccumulateGrad", "ReluBackward0", "TBackward0"]
    t = addmm.next_functions[2][0]
    assert t.name() == "TBackward0" and isinstance(t, torch.autograd.graph.Node)
    assert _names(t.next_functions) == ["AccumulateGrad"] and t.next_functions[0][0].variable is lin.weight
    assert addmm.next_functions[0][0].variable is lin.bias
    assert _names(torch.nn.Linear(3, 2, bias=False)(x).grad_fn.next_functions) == ["AccumulateGrad", "TBackward0"]
    for reduction in ("none", "sum"):
        loss = torch.nn.MSELoss(reduction=reduction)(out, torch.zeros(1, 2))
        assert _names(loss.grad_fn.next_functions) == ["AddmmBackward0", None]


def test_post_hooks_see_none_for_inputs_this_backward_does_not_lead_to():
    seen = []
    a, b = _leaf(1.0), _leaf(2.0)
    c = a * b
    c.grad_fn.register_hook(lambda gi, go: seen.append([None if g is None else g.tolist() for g in gi]))
    torch.autograd.grad(c, (a,), retain_graph=True)
    c.sum().backward()
    assert seen == [[[2.0], None], [[2.0], [1.0]]]


def test_node_hook_results_are_checked_as_pytorch_checks_them():
    def mul_by_three():
        a = torch.ones(2, requires_grad=True)
        return a, a * 3

    a, c = mul_by_three()
    c.grad_fn.register_hook(lambda gi, go: gi[0] * 2)  # a bare tensor, not a tuple
    with pytest.raises(TypeError, match="expected tuple, but hook returned 'Tensor'"):
        c.sum().backward()
    a, c = mul_by_three()
    c.grad_fn.register_prehook(lambda go: [go[0] * 2])
    with pytest.raises(TypeError, match="expected tuple, but hook returned 'list'"):
        c.sum().backward()
    a, c = mul_by_three()
    c.grad_fn.register_hook(lambda gi, go: (gi[0] * 2, None))
    c.sum().backward()
    assert a.grad.tolist() == [6.0, 6.0]
    # a gradient where autograd has none (the factor that does not require grad)
    a, b = torch.ones(2, requires_grad=True), torch.ones(2)
    c = a * b
    c.grad_fn.register_hook(lambda gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="can't replace a None gradient with a non-None value"):
        c.sum().backward()


def test_raw_saved_tensor_of_a_freed_graph_refuses_hooks_with_pytorchs_message():
    x = torch.ones(3, requires_grad=True)
    y = x.pow(2)
    y.sum().backward()
    saved = y.grad_fn._raw_saved_self  # (reading it is fine; registering hooks is not)
    with pytest.raises(RuntimeError, match="Calling register_hooks on a saved tensor after it has been freed"):
        saved.register_hooks(lambda t: t, lambda t: t)


def test_convolution_without_bias_shows_pytorchs_three_edges():
    y = torch.nn.Conv2d(3, 4, 3, bias=False)(torch.ones(1, 3, 8, 8))
    edges = y.grad_fn.next_functions
    assert [type(f).__name__ if f is not None else None for f, _ in edges] == [None, "AccumulateGrad", None]


def test_allow_mutation_on_saved_tensors():
    allow = torch.autograd.graph.allow_mutation_on_saved_tensors
    with allow() as ctx:
        a = torch.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
        b = a.clone()
        out = (b ** 2).sum()
        b.sin_()  # b was saved by the power: its value before the change is what backward uses
        out.backward()
        assert a.grad.tolist() == [[1.0, -2.0, 4.0]]
        assert type(ctx).__name__ == "_AllowMutationOnSavedContext"
    with pytest.raises(RuntimeError, match="allow_mutation_on_saved_tensors contexts cannot be nested"):
        with allow(), allow():
            pass
    with allow():
        a = torch.tensor([1.0, 2.0], requires_grad=True)
        out = (a.clone() ** 2).sum()
    with pytest.raises(AssertionError, match="Trying to backward outside of the 'allow_mutation_on_saved_tensors'"):
        out.backward()
    # outside any context, the usual in-place error
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a.clone()
    out = (b ** 2).sum()
    b.sin_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def _shown(t):
    g = t.grad_fn
    return g.name(), [None if f is None else type(f).__name__ for f, _ in g.next_functions]


def test_composites_show_pytorchs_grad_fn_and_edges():
    # (each an identity over srcgrad's composite, named as PyTorch's kernel, whose edges are the
    # op's arguments; checked against PyTorch 2.13)
    F = torch.nn.functional
    torch.manual_seed(0)
    x = torch.randn(1, 2, 4, 4, requires_grad=True)
    acc = "AccumulateGrad"
    assert _shown(F.interpolate(x, scale_factor=2)) == ("UpsampleNearest2DBackward0", [acc])
    assert _shown(F.interpolate(x, size=(4, 4), mode="bilinear")) == ("UpsampleBilinear2DBackward0", [acc])
    assert _shown(F.interpolate(x, scale_factor=2, mode="nearest-exact"))[0] == "UpsampleNearestExact2DBackward0"
    assert _shown(F.interpolate(x, scale_factor=2, mode="bicubic"))[0] == "UpsampleBicubic2DBackward0"
    assert _shown(F.interpolate(x, size=(2, 2), mode="bilinear", antialias=True))[0] == "UpsampleBilinear2DAaBackward0"
    assert _shown(F.interpolate(x[:, :, 0], scale_factor=2, mode="linear")) == ("UpsampleLinear1DBackward0",
                                                                               ["SelectBackward0"])
    assert _shown(F.unfold(x, 2)) == ("Im2ColBackward0", [acc])
    assert _shown(F.fold(F.unfold(x, 2), 4, 2)) == ("Col2ImBackward0", ["Im2ColBackward0"])
    assert _shown(torch.nn.GroupNorm(2, 2)(x)) == ("NativeGroupNormBackward0", [acc, acc, acc])
    assert _shown(F.group_norm(x, 1)) == ("NativeGroupNormBackward0", [acc, None, None])
    assert _shown(torch.nn.PReLU()(x)) == ("PreluKernelBackward0", [acc, "ViewBackward0"])
    a, b = torch.randn(2, 3, 4, requires_grad=True), torch.randn(2, 4, 5)
    assert _shown(torch.baddbmm(torch.randn(2, 3, 5, requires_grad=True), a, b)) == ("BaddbmmBackward0",
                                                                                    [acc, acc, None])
    assert _shown(torch.addbmm(torch.randn(3, 5), a, b)) == ("AddbmmBackward0", [None, acc, None])
    assert _shown(torch.addmv(torch.randn(3), a[0], torch.randn(4))) == ("AddmvBackward0", [None, "SelectBackward0",
                                                                                           None])
    assert _shown(torch.addr(torch.randn(4, 4), a[0, 0], torch.randn(4)))[0] == "AddrBackward0"
    assert _shown(torch.bmm(a, b))[0] == "BmmBackward0" and _shown(a @ b)[0] == "UnsafeViewBackward0"
    assert _shown(F.glu(a)) == ("GluBackward0", [acc])
    assert type(torch.nn.Linear(2, 2).register_forward_hook(lambda *_: None)).__name__ == "RemovableHandle"
    # a new tensor even where nothing is resized (an in-place change of it leaves the input)
    y = F.interpolate(x.detach(), scale_factor=1.0)
    y.add_(1)
    assert not bool((y == x.detach()).any())
