"""srcgrad.func: vmap, grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd, hessian,
functional_call, stack_module_state, replace_all_batch_norm_modules_, functionalize and
debug_unwrap.

Values are checked against Python loops over the examples and against JAX (jax.vmap,
jax.jacrev, jax.hessian, jax.jvp as oracles); gradients through vmap with float64
finite differences (gradcheck, gradgradcheck); the PyTorch tutorials' per-sample
gradients and model ensembling, errors, integer outputs, out_dims, randomness, BatchNorm,
in-place write-back and functional_call's write-back against PyTorch when it is installed.
"""

from __future__ import annotations

import copy
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srcgrad
from srcgrad import func, nn
from srcgrad.autograd import gradcheck, gradgradcheck
from srcgrad.func import VmapValueError

rs = np.random.RandomState(0)


def t(a, requires_grad=False, dtype=np.float32):
    return srcgrad.tensor(np.asarray(a, dtype=dtype), requires_grad=requires_grad)


def close(a, b, tol=1e-5):
    a = a.detach().numpy() if isinstance(a, srcgrad.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, srcgrad.Tensor) else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# -- vmap: values ------------------------------------------------------------------


def test_vmap_matches_a_loop_over_examples():
    x, w = rs.randn(5, 4), rs.randn(4, 3)
    out = func.vmap(lambda r, m: (r @ m).tanh().sum(), in_dims=(0, None))(t(x), t(w))
    close(out, [np.tanh(r @ w).sum() for r in x])


@pytest.mark.parametrize("in_dims,out_dims", [(0, 0), (1, 0), (-1, 1), (0, -1), (1, 1)])
def test_vmap_in_and_out_dims(in_dims, out_dims):
    x = rs.randn(3, 4, 2)
    f = func.vmap(lambda a: a.softmax(-1) * 2, in_dims=in_dims, out_dims=out_dims)
    expect = jax.vmap(lambda a: jax.nn.softmax(a, -1) * 2, in_axes=in_dims, out_axes=out_dims)(x.astype(np.float32))
    close(f(t(x)), expect)


def test_vmap_nested_arguments_and_outputs():
    params = {"w": t(rs.randn(3, 2)), "b": t(rs.randn(2))}
    xs = rs.randn(6, 3)

    def f(p, x, scale=1.0):
        y = x @ p["w"] + p["b"]
        return {"y": y * scale, "norm": y.norm()}

    out = func.vmap(f, in_dims=({"w": None, "b": None}, 0))(params, t(xs), scale=2.0)
    w, b = params["w"].numpy(), params["b"].numpy()
    close(out["y"], (xs @ w + b) * 2)
    close(out["norm"], np.linalg.norm(xs @ w + b, axis=1))
    out2 = func.vmap(f, in_dims=(None, 0))(params, t(xs))
    close(out2["y"], xs @ w + b)


def test_vmap_of_vmap_and_several_batched_arguments():
    a, b = rs.randn(2, 3, 4), rs.randn(2, 3, 4)
    out = func.vmap(func.vmap(srcgrad.dot))(t(a), t(b))
    close(out, (a * b).sum(-1))
    outer = func.vmap(func.vmap(lambda u, v: u * v, in_dims=(None, 0)), in_dims=(0, None))(t(a[0, 0]), t(b[0, 0]))
    close(outer, np.multiply.outer(a[0, 0], b[0, 0]))


def test_vmap_modules_indexing_and_integer_outputs():
    conv = nn.Conv2d(2, 3, 3)
    x = t(rs.randn(4, 2, 6, 6))
    close(func.vmap(conv)(x), conv(x))
    emb = t(rs.randn(5, 3), True)
    idx = srcgrad.tensor([0, 4, 2, 4])
    rows = func.vmap(lambda i: emb[i])(idx)  # a batched index: per example, one row
    close(rows, emb.detach().numpy()[[0, 4, 2, 4]])
    rows.sum().backward()
    close(emb.grad, np.array([1, 0, 1, 0, 2])[:, None] * np.ones((5, 3)))
    a = rs.randn(4, 3)
    am = func.vmap(lambda r: r.argmax())(t(a))
    assert am.dtype == srcgrad.int64
    np.testing.assert_array_equal(am.numpy(), a.argmax(1))
    close(func.vmap(lambda r: r)(t(a)), a)  # the identity


def test_vmap_output_that_ignores_the_batch_is_broadcast():
    out = func.vmap(lambda x: srcgrad.ones(2))(t(rs.randn(4, 3)))
    close(out, np.ones((4, 2)))


def test_vmap_generated_source_shows_the_per_example_function():
    x = srcgrad.tensor(rs.randn(4, 3).astype(np.float32), requires_grad=True)
    w = srcgrad.tensor(rs.randn(3).astype(np.float32), requires_grad=True)

    def per_row(r):
        h = (r * w).tanh()
        return h.sum()

    y = func.vmap(per_row)(x)
    y.sum().backward()
    progs = [p for p in srcgrad.compiler.CACHE.programs.values() if "jax.vmap(per_example_per_row" in p.source]
    src = progs[-1].source
    assert "def per_example_per_row(r, w):" in src
    assert "def per_example_per_row_vjp(r, w, g_out):" in src
    assert "in_axes=(0, None), out_axes=(0,)" in src
    assert "g_w = jnp.sum(" in src  # the captured parameter's gradient: summed over the batch
    close(x.grad, (1 - np.tanh(x.detach().numpy() * w.detach().numpy()) ** 2) * w.detach().numpy())


def test_vmap_loop_compiles_once():
    w = t(rs.randn(3, 3))
    f = func.vmap(lambda r: (w @ r).relu())
    f(t(rs.randn(5, 3))).sum().item()
    misses = srcgrad.compiler.CACHE.misses
    for _ in range(5):
        f(t(rs.randn(5, 3))).sum().item()
    assert srcgrad.compiler.CACHE.misses == misses


# -- vmap: gradients ---------------------------------------------------------------


def test_vmap_gradients_match_the_loop():
    x = rs.randn(4, 3)
    w = rs.randn(3, 2)
    xa, wa = t(x, True), t(w, True)
    func.vmap(lambda r: (r @ wa).sin().sum())(xa).pow(2).sum().backward()
    xb, wb = t(x, True), t(w, True)
    srcgrad.stack([(r @ wb).sin().sum() for r in xb]).pow(2).sum().backward()
    close(xa.grad, xb.grad)
    close(wa.grad, wb.grad)


def test_vmap_gradcheck_and_gradgradcheck_float64():
    w = srcgrad.tensor(rs.randn(3, 3), dtype=srcgrad.float64, requires_grad=True)

    def f(x, w):
        return func.vmap(lambda r: (w @ r).tanh() * r, in_dims=0, out_dims=1)(x)

    x = srcgrad.tensor(rs.randn(4, 3), dtype=srcgrad.float64, requires_grad=True)
    assert gradcheck(f, (x, w))
    assert gradgradcheck(f, (x, w))


def test_vmap_double_backward_matches_the_loop():
    x = rs.randn(3, 4)
    xa = t(x, True)
    (g,) = srcgrad.autograd.grad(func.vmap(lambda r: (r ** 3).sum())(xa).sum(), xa, create_graph=True)
    g.sum().backward()
    close(g, 3 * x ** 2)
    close(xa.grad, 6 * x)


def test_vmap_output_requires_grad_only_through_outside_tensors():
    x = t(rs.randn(3, 2))
    assert not func.vmap(lambda r: r * 2)(x).requires_grad
    w = t(rs.randn(2), True)
    y = func.vmap(lambda r: r * w)(x)
    assert y.requires_grad and y.grad_fn.name() == "VmapBackward"
    with srcgrad.no_grad():
        assert not func.vmap(lambda r: r * w)(x).requires_grad


# -- vmap: what it refuses ------------------------------------------------------------


def test_vmap_errors():
    x = t(rs.randn(3, 2))
    with pytest.raises(ValueError, match="in_dims is not compatible"):
        func.vmap(lambda a, b: a + b, in_dims=(0,))(x, x)
    with pytest.raises(ValueError, match="We cannot vmap over non-Tensor arguments"):
        func.vmap(lambda a, b: a * b, in_dims=(0, 0))(x, 2.0)
    with pytest.raises(ValueError, match="same size in the mapped dimension, got sizes \\[3, 4\\]"):
        func.vmap(lambda a, b: a + b)(x, t(rs.randn(4, 2)))
    with pytest.raises(ValueError, match="expected in_dim to satisfy -2 <= in_dim < 2"):
        func.vmap(lambda a: a, in_dims=2)(x)
    with pytest.raises(ValueError, match="must only return Tensors"):
        func.vmap(lambda a: 3)(x)
    with pytest.raises(ValueError, match="at least one input must be batched"):
        func.vmap(lambda a: a, in_dims=None)(x)
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        func.vmap(lambda a: a, randomness="other")


def test_vmap_out_dims_none_dicts_and_structure_as_pytorch():
    torch = pytest.importorskip("torch")
    xs, v = rs.randn(4, 3).astype(np.float32), rs.randn(3).astype(np.float32)
    for lib in (srcgrad, torch):
        vmap, a, b = lib.func.vmap, lib.from_numpy(xs.copy()), lib.from_numpy(v.copy())
        # out_dim None: an output that does not depend on the batch comes back as it is
        p, q = vmap(lambda p, q: (p * 2, q), in_dims=(0, None), out_dims=(0, None))(a, b)
        assert tuple(p.shape) == (4, 3) and q is b
        q2 = vmap(lambda p, q: (p, q * 2 + 1), in_dims=(0, None), out_dims=(0, None))(a, b)[1]
        close(q2, v * 2 + 1)
        close(vmap(lambda p, q: q * 2, in_dims=(0, None), out_dims=None)(a, b), v * 2)
        assert vmap(lambda r: (r, 3), out_dims=(0, None))(a)[1] == 3  # (a non-tensor output, with None)
        with pytest.raises(ValueError, match="can not return a BatchedTensor when out_dim is None"):
            vmap(lambda p, q: (p, p + q), in_dims=(0, None), out_dims=(0, None))(a, b)
        # dict out_dims for dict outputs, (d,) for a single output, lists for lists
        out = vmap(lambda r: {"s": r, "t": r.sum()}, out_dims={"s": 1, "t": 0})(a)
        assert tuple(out["s"].shape) == (3, 4) and tuple(out["t"].shape) == (4,)
        assert tuple(vmap(lambda r: r, out_dims=(1,))(a).shape) == (3, 4)
        assert [tuple(o.shape) for o in vmap(lambda r: [r, r], out_dims=[1, 0])(a)] == [(3, 4), (4, 3)]
        for bad, f in (([1, 0], lambda r: (r, r)), ((1, 0), lambda r: [r, r]), ((1, 0, 0), lambda r: (r, r)),
                       ({"u": 1}, lambda r: {"s": r})):
            with pytest.raises(ValueError, match="out_dims is not compatible with the structure of `outputs`"):
                vmap(f, out_dims=bad)(a)
        with pytest.raises(ValueError, match="`out_dims` must be an int, None or a python collection of ints"):
            vmap(lambda r: r, out_dims=1.0)(a)


def test_vmap_batch_norm_with_running_stats_gives_pytorchs_message():
    torch = pytest.importorskip("torch")
    x = rs.randn(2, 4, 3).astype(np.float32)
    outs = []
    for lib in (srcgrad, torch):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.BatchNorm1d(3),
                                  lib.nn.Sequential(lib.nn.BatchNorm1d(3, track_running_stats=False)))
        with lib.no_grad():
            model[0].weight.copy_(lib.eye(3))
            model[0].bias.zero_()
        with pytest.raises(RuntimeError, match="Batch norm got a batched tensor as input while the running_mean or "
                                               "running_var, which will be updated in place, were not batched"):
            lib.func.vmap(model)(lib.from_numpy(x.copy()))
        stats = lib.zeros(3), lib.ones(3)
        with pytest.raises(RuntimeError, match="Batch norm got a batched tensor"):
            lib.func.vmap(lambda r: lib.nn.functional.batch_norm(r, *stats, training=True))(lib.from_numpy(x.copy()))
        model.eval()  # (eval mode only reads the statistics)
        close(lib.func.vmap(model)(lib.from_numpy(x.copy())).detach().numpy(),
              np.stack([model(lib.from_numpy(e.copy())).detach().numpy() for e in x]))
        model.train()
        assert lib.func.replace_all_batch_norm_modules_(model) is model
        bns = [m for m in model.modules() if isinstance(m, lib.nn.BatchNorm1d)]
        assert all(m.running_mean is None and m.running_var is None and m.num_batches_tracked is None
                   and not m.track_running_stats for m in bns)
        assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias", "2.0.weight", "2.0.bias"]
        outs.append(lib.func.vmap(model)(lib.from_numpy(x.copy())).detach().numpy())
    close(outs[0], outs[1])


def test_vmap_reading_a_per_example_value_raises_at_the_users_line():
    x = t(rs.randn(3, 2))

    def branchy(r):
        if r.sum() > 0:  # the line the message names
            return r
        return -r

    with pytest.raises(VmapValueError, match="test_func.py"):
        func.vmap(branchy)(x)
    with pytest.raises(VmapValueError):
        func.vmap(lambda r: r * r.max().item())(x)
    with pytest.raises(VmapValueError):
        func.vmap(lambda r: r.nonzero())(x)
    # values from outside the batch may be read
    w = t([2.0])
    close(func.vmap(lambda r: r * w.item())(x), x.numpy() * 2)


def test_vmap_randomness():
    x = t(rs.randn(3, 2))
    with pytest.raises(RuntimeError, match="randomness error mode"):
        func.vmap(lambda r: r + srcgrad.randn(2))(x)
    out = func.vmap(lambda r: r * 0 + srcgrad.randn(2), randomness="same")(x)
    close(out[0], out[1])


def _dropout_masks(lib, randomness, batch=6, width=64):
    drop = lambda r: lib.nn.functional.dropout(r, 0.5)  # noqa: E731
    return lib.func.vmap(drop, randomness=randomness)(lib.ones(batch, width)).numpy()


def test_vmap_randomness_different_draws_per_example_as_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (srcgrad, torch):
        different, same = _dropout_masks(lib, "different"), _dropout_masks(lib, "same")
        assert len({r.tobytes() for r in different}) == len(different)  # every example its own mask
        assert len({r.tobytes() for r in same}) == 1  # one mask for the whole batch
        assert set(np.unique(different)) == {0.0, 2.0} and 0.3 < (different == 0).mean() < 0.7
    # the same seed, the same draws; two random ops in one example draw apart
    srcgrad.manual_seed(3)
    a = func.vmap(lambda r: r * srcgrad.randn(50), randomness="different")(srcgrad.ones(4, 50)).numpy()
    srcgrad.manual_seed(3)
    b = func.vmap(lambda r: r * srcgrad.randn(50), randomness="different")(srcgrad.ones(4, 50)).numpy()
    np.testing.assert_array_equal(a, b)
    assert abs(np.corrcoef(a)[0, 1]) < 0.5 and 0.7 < a.std() < 1.3
    two = func.vmap(lambda r: srcgrad.stack([srcgrad.rand(3), srcgrad.rand(3)]) + r,
                    randomness="different")(srcgrad.zeros(4, 3)).numpy()
    assert (two[:, 0] != two[:, 1]).all()
    # nested: "different" inside "different" differs everywhere, inside "same" only along the inner batch
    inner = func.vmap(lambda r: r * srcgrad.rand(()), randomness="different")
    both = func.vmap(inner, randomness="different")(srcgrad.ones(4, 5)).numpy()
    assert len(set(both.ravel().tolist())) == 20
    outer_same = func.vmap(inner, randomness="same")(srcgrad.ones(4, 5)).numpy()
    assert (outer_same == outer_same[0]).all() and len(set(outer_same[0].tolist())) == 5
    # gradients go through each example's own mask
    w = t(np.ones(64), True)
    y = func.vmap(lambda r: srcgrad.nn.functional.dropout(r * w, 0.5), randomness="different")(srcgrad.ones(6, 64))
    y.sum().backward()
    close(w.grad, (y.detach().numpy() != 0).sum(0) * 2.0)


def test_vmap_in_place_changes_of_outside_tensors_and_backward_are_refused():
    x = t(rs.randn(3, 2))
    w = t(rs.randn(2))
    before = w.numpy().copy()
    with pytest.raises(RuntimeError, match="in-place change of a tensor that the function did not create"):
        func.vmap(lambda r: w.add_(r))(x)
    # through a view or an alias of an outside tensor: refused before anything changes
    for change in (lambda r: w[0].add_(r[0]), lambda r: w.detach().add_(r), lambda r: w.data.mul_(2) + r,
                   lambda r: w.view(1, 2).add_(r)):
        with pytest.raises(RuntimeError, match="in-place change of a tensor that the function did not create"):
            func.vmap(change)(x)
        assert w._version == 0
    np.testing.assert_array_equal(w.numpy(), before)
    p = t(rs.randn(2), True)
    with pytest.raises(RuntimeError, match="backward\\(\\) or a .grad assignment inside a vmapped function"):
        func.vmap(lambda r: (r * p).sum().backward())(x)
    assert p.grad is None
    # in-place ops on the function's own temporaries are fine
    close(func.vmap(lambda r: (r * 1).mul_(3))(x), x.numpy() * 3)


def test_vmap_writes_in_place_changes_of_batched_inputs_back_as_pytorch():
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (srcgrad, torch):
        vmap = lib.func.vmap
        xi = lib.arange(6.0).reshape(2, 3)
        out = vmap(lambda r: r.mul_(2))(xi)
        row = [out is xi, xi.tolist()]
        xi = lib.arange(6.0).reshape(2, 3)
        out = vmap(lambda r: r.mul_(2), in_dims=1)(xi)
        row += [tuple(out.shape), xi.tolist()]
        xi = lib.arange(6.0).reshape(2, 3)
        out = vmap(lambda r: (r[0].add_(10), r * 1)[1])(xi)  # through a view
        row += [out.tolist(), xi.tolist()]
        xi = lib.arange(6.0).reshape(2, 3)
        vmap(lambda r, s: r.add_(s), in_dims=(0, None))(xi, lib.ones(3))
        xs = lib.zeros(2, 2, 3)
        vmap(vmap(lambda r: r.add_(1)))(xs)
        row += [xi.tolist(), xs.sum().item()]
        a = lib.ones(2, 3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            vmap(lambda r: r.mul_(2))(a)
        b = a * 1  # (not a leaf: it may change, and gradients see the change)
        out = vmap(lambda r: r.mul_(3).sin())(b)
        out.sum().backward()
        row += [b.tolist(), a.grad.tolist()]
        seen.append(row)
    assert seen[0] == seen[1]


# -- grad, grad_and_value, vjp, jvp ------------------------------------------------------


def _jf(x, w):
    return jnp.sum(jnp.tanh(w @ x) * jnp.sin(x))


def _sf(x, w):
    return ((w @ x).tanh() * x.sin()).sum()


def test_grad_and_value_against_jax():
    x, w = rs.randn(3).astype(np.float32), rs.randn(3, 3).astype(np.float32)
    g = func.grad(_sf, argnums=(0, 1))(t(x), t(w))
    jg = jax.grad(_jf, argnums=(0, 1))(x, w)
    close(g[0], jg[0])
    close(g[1], jg[1])
    gv, v = func.grad_and_value(_sf)(t(x), t(w))
    close(gv, jg[0])
    close(v, _jf(x, w))
    assert not gv.requires_grad and not v.requires_grad


def test_grad_of_pytrees_and_has_aux():
    params = {"w": t(rs.randn(3, 2)), "b": t(rs.randn(2))}
    x = t(rs.randn(4, 3))

    def loss(p, x):
        y = x @ p["w"] + p["b"]
        return (y ** 2).mean(), y

    g, aux = func.grad(loss, has_aux=True)(params, x)
    assert set(g) == {"w", "b"}
    jg = jax.grad(lambda p, x: jnp.mean((x @ p["w"] + p["b"]) ** 2))(
        {k: v.numpy() for k, v in params.items()}, x.numpy())
    close(g["w"], jg["w"])
    close(g["b"], jg["b"])
    close(aux, x.numpy() @ params["w"].numpy() + params["b"].numpy())


def test_grad_of_grad_and_errors():
    x = t([0.5, -1.0, 2.0])
    d2 = func.grad(lambda x: func.grad(lambda y: (y ** 3).sum())(x).sum())(x)
    close(d2, 6 * x.numpy())
    with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor, got tensor with 1 "):
        func.grad(lambda x: x * 2)(x)
    with pytest.raises(RuntimeError, match="Got argnum=2, but only 1 positional inputs"):
        func.grad(lambda x: x.sum(), argnums=2)(x)
    with pytest.raises(RuntimeError, match="floating point"):
        func.grad(lambda x: x.sum())(srcgrad.tensor([1, 2]))


def test_grad_of_a_tensor_that_requires_grad_stays_differentiable():
    x = t([1.0, 2.0], True)
    g = func.grad(lambda y: (y ** 3).sum())(x)
    assert g.requires_grad
    g.sum().backward()
    close(x.grad, 6 * x.detach().numpy())


def test_vjp_and_jvp_against_jax():
    x, w = rs.randn(3).astype(np.float32), rs.randn(3, 3).astype(np.float32)
    v = rs.randn(3).astype(np.float32)

    def f(x):
        return (t(w) @ x).tanh() * x

    def jf(x):
        return jnp.tanh(w @ x) * x

    out, vjp_fn = func.vjp(f, t(x))
    jout, jvjp = jax.vjp(jf, x)
    close(out, jout)
    close(vjp_fn(t(v))[0], jvjp(v)[0])
    out, tangent = func.jvp(f, (t(x),), (t(v),))
    jout, jtangent = jax.jvp(jf, (x,), (v,))
    close(out, jout)
    close(tangent, jtangent)
    with pytest.raises(RuntimeError, match="Expected primals to be a tuple"):
        func.jvp(f, t(x), (t(v),))
    with pytest.raises(RuntimeError, match="same shapes"):
        func.jvp(f, (t(x),), (t(v[:2]),))


def _no_grad_square(x, lib=srcgrad):
    with lib.no_grad():
        c = x ** 2  # the line the message names
    return x - c


_NO_GRAD_LINE = _no_grad_square.__code__.co_firstlineno + 2


def _forward_transforms(lib):
    ones = lib.ones(3)
    return {
        "jvp": lambda f, x: lib.func.jvp(f, (x,), (ones,))[1],
        "jacfwd": lambda f, x: lib.func.jacfwd(f)(x),
        "hessian": lambda f, x: lib.func.hessian(lambda y: f(y).pow(2).sum())(x),
        "linearize": lambda f, x: lib.func.linearize(f, x)[1](ones),
    }


@pytest.mark.filterwarnings("ignore:Attempted to insert a get_attr Node")  # (PyTorch's linearize)
@pytest.mark.parametrize("api", ["jvp", "jacfwd", "hessian", "linearize"])
def test_forward_mode_refuses_a_no_grad_value_of_the_inputs(api):
    # PyTorch's forward-mode AD ignores no_grad; srcgrad's forward mode is two reverse passes,
    # which stop there, so it raises rather than return another number
    torch = pytest.importorskip("torch")
    x = [1.0, 2.0, 3.0]
    expected = _forward_transforms(torch)[api](lambda y: _no_grad_square(y, torch), torch.tensor(x))
    reverse = func.jacrev(_no_grad_square)(t(x)).numpy()  # (reverse mode respects no_grad: 1, 1, 1)
    assert not np.allclose(np.diagonal(expected.numpy()) if expected.dim() == 2 else expected.numpy(),
                           np.diagonal(reverse) if api != "hessian" else 2 * np.diagonal(reverse))
    with pytest.raises(RuntimeError, match=f"{api}: the value computed at .*test_func.py:{_NO_GRAD_LINE} depends "
                                           "on the inputs being differentiated"):
        _forward_transforms(srcgrad)[api](_no_grad_square, t(x))


def test_forward_mode_no_grad_check_only_refuses_what_would_differ():
    torch = pytest.importorskip("torch")
    w_np = rs.randn(3).astype(np.float32)

    def cases(lib):
        w = lib.from_numpy(w_np.copy())

        def bookkeeping(x):  # a no_grad region that does not read the inputs
            with lib.no_grad():
                scale = w.norm() + 1
            return x * w * scale

        def detached(x):  # forward mode stops at detach() in PyTorch too
            return x - (x ** 2).detach()

        def masks(x):  # a boolean mask, and an op whose derivative is zero, under no_grad
            with lib.no_grad():
                m, s = (x > 1.5).float(), x.sign()
            return m * x + s * x

        def composites(x):  # srcgrad's own no_grad inside one call (gaussian_nll_loss's clamp)
            return lib.nn.functional.gaussian_nll_loss(x, x.flip(0), x.abs() + 0.1) + x.softmax(0)

        return [bookkeeping, detached, masks, composites]

    x = [1.0, 2.0, 3.0]
    for mine, theirs in zip(cases(srcgrad), cases(torch)):
        for api in ("jvp", "jacfwd", "hessian"):
            close(_forward_transforms(srcgrad)[api](mine, t(x)),
                  _forward_transforms(torch)[api](theirs, torch.tensor(x)).detach().numpy(), tol=1e-4)

    def printed(x):  # computed (so its node forgets how) before the check looks at it
        with srcgrad.no_grad():
            c = x ** 2
        c.numpy()
        return x - c

    with pytest.raises(RuntimeError, match="jvp: the value computed at"):
        func.jvp(printed, (t(x),), (t([1.0, 1.0, 1.0]),))
    with pytest.raises(RuntimeError, match=f"jacfwd: the value computed at .*test_func.py:{_NO_GRAD_LINE} "):
        func.jacfwd(func.vmap(_no_grad_square))(t(x))  # (inside the vmapped function)
    close(func.jacrev(_no_grad_square)(t(x)), np.eye(3))  # (reverse mode is unaffected)


def test_integer_and_constant_outputs_as_pytorch():
    torch = pytest.importorskip("torch")
    x = [1.0, 2.0, 3.0]
    for lib in (srcgrad, torch):
        a = lib.tensor(x)
        jac = lib.func.jacfwd(lambda y: (y.sin(), y.argmax()))(a)
        assert jac[1].dtype == lib.int64 and jac[1].tolist() == [0, 0, 0]
        close(jac[0], np.diag(np.cos(x)))
        _, tangent = lib.func.jvp(lambda y: (y.sin(), y.argmax()), (a,), (lib.ones(3),))
        assert tangent[1].dtype == lib.int64 and tangent[1].item() == 0
        assert lib.func.jvp(lambda y: lib.ones(2), (a,), (lib.ones(3),))[1].tolist() == [0.0, 0.0]
        assert lib.func.grad(lambda y: y.sum().long())(a).tolist() == [0.0, 0.0, 0.0]
        assert lib.func.grad(lambda y: lib.tensor(1.0))(a).tolist() == [0.0, 0.0, 0.0]
        assert lib.func.vjp(lambda y: lib.ones(2), a)[1](lib.ones(2))[0].tolist() == [0.0, 0.0, 0.0]
        assert lib.func.jacrev(lambda y: lib.ones(2))(a).tolist() == [[0.0] * 3] * 2
        for refuse in (lambda: lib.func.jacrev(lambda y: (y.sin(), y.argmax()))(a),
                       lambda: lib.func.vjp(lambda y: (y.sin(), y.argmax()), a)):
            with pytest.raises(RuntimeError, match="vjp\\(f, ...\\): All outputs of f must be floating-point or "
                                                   "complex Tensors, got Tensor with dtype torch.int64"):
                refuse()


def test_argument_checks_as_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (srcgrad, torch):
        x = lib.tensor([1.0, 2.0])
        for size in (0, -1):
            with pytest.raises(ValueError, match="jacrev: `chunk_size` should be greater than 0."):
                lib.func.jacrev(lib.sin, chunk_size=size)(x)
        close(lib.func.jacrev(lib.sin, chunk_size=1)(x), np.diag(np.cos([1.0, 2.0])))
        for call in (lambda: lib.func.grad(lambda v: v ** 2)(2.0), lambda: lib.func.vjp(lambda v: v ** 2, 2.0),
                     lambda: lib.func.grad_and_value(lambda v: v[0] ** 2)((2.0,)),
                     lambda: lib.func.jacrev(lambda v: v ** 2)(2.0)):
            with pytest.raises(ValueError, match="Thing passed to transform API must be Tensor, got <class 'float'>"):
                call()
        with pytest.raises(RuntimeError, match="Expected primals to only contain Tensors, got <class 'float'>"):
            lib.func.jvp(lambda v: v * 2, (2.0,), (1.0,))
        with pytest.raises(RuntimeError, match="Expected tangents to only contain Tensors, got <class 'float'>"):
            lib.func.jvp(lambda v: v * 2, (x,), (1.0,))
        with pytest.raises(ValueError, match="Expected primal to be floating point or complex, but got: torch.int64"):
            lib.func.jvp(lambda v: v, (lib.tensor([1, 2]),), (lib.tensor([1, 2]),))
        g = lib.func.grad
        for argnums, message in ((2, "Got argnum=2, but only 1 positional inputs"),
                                 ("a", "argnums must be int or Tuple\\[int, ...\\], got: <class 'str'>"),
                                 ((), "argnums must be non-empty"),
                                 ((0, 1.0), "argnum must be int, got: <class 'float'>")):
            with pytest.raises(RuntimeError, match=message):
                g(lambda v, w=None: v.sum(), argnums=argnums)(x)
        with pytest.raises(RuntimeError, match="argnums elements must be unique, got \\(0, 0\\)"):
            g(lambda v, w: v.sum(), argnums=(0, 0))(x, x)


@pytest.mark.filterwarnings("ignore:Attempted to insert a get_attr Node")  # (PyTorch's linearize)
def test_linearize_functionalize_and_debug_unwrap_as_pytorch():
    torch = pytest.importorskip("torch")
    x, v = rs.randn(3).astype(np.float32), rs.randn(3).astype(np.float32)
    results = []
    for lib in (srcgrad, torch):
        a, tv = lib.from_numpy(x.copy()), lib.from_numpy(v.copy())
        out, jvp_fn = lib.func.linearize(lambda y: (y.sin() * y, y.cos().sum()), a)
        first, second = jvp_fn(tv), jvp_fn(tv * 2)  # (the function runs once; each call is one more pass)
        results.append([out[0], out[1], first[0], first[1], second[0]])
        out2, jvp2 = lib.func.linearize(lambda p, q: p * q, a, a)
        close(jvp2(tv, lib.zeros(3)), v * x)
        with pytest.raises(RuntimeError, match="to have the same argspec as the primals"):
            jvp2(tv)
        with pytest.raises(RuntimeError, match="tangent:0 with shape .* doesn't match the shape"):
            jvp2(lib.ones(2), tv)
        # functionalize: the same results, and the same changes to the inputs
        y = lib.zeros(2)
        assert lib.func.functionalize(lambda b: b.add_(1) * 2)(y).tolist() == [2.0, 2.0] and y.tolist() == [1.0, 1.0]
        with pytest.raises(RuntimeError, match="received invalid argument for remove=x"):
            lib.func.functionalize(lambda b: b, remove="x")
        # debug_unwrap: the tensor itself outside vmap, the whole batch inside
        assert lib.func.debug_unwrap(a) is a
        seen = []
        lib.func.vmap(lambda r: seen.append(lib.func.debug_unwrap(r)) or r)(lib.ones(2, 3))
        assert tuple(seen[0].shape) == (2, 3)
    for mine, theirs in zip(*results):
        close(mine, theirs.detach().numpy())
    assert not func.linearize(lambda y: y * 2, t(x))[0].requires_grad
    seen = []
    func.vmap(func.vmap(lambda r: seen.append((func.debug_unwrap(r), func.debug_unwrap(r, recurse=False))) or r))(
        t(rs.randn(4, 2, 3)))
    assert tuple(seen[0][0].shape) == (4, 2, 3) and tuple(seen[0][1].shape) == (2, 3)


# -- jacrev, jacfwd, hessian ------------------------------------------------------------


@pytest.mark.parametrize("name", ["jacrev", "jacfwd"])
def test_jacobians_against_jax(name):
    x, w = rs.randn(3).astype(np.float32), rs.randn(2, 3).astype(np.float32)

    def f(x, w):
        return (w @ x).tanh(), x.sin().sum()

    def jf(x, w):
        return jnp.tanh(w @ x), jnp.sin(x).sum()

    jac = getattr(func, name)(f, argnums=(0, 1))(t(x), t(w))
    jj = getattr(jax, name)(jf, argnums=(0, 1))(x, w)
    for a, b in zip(jax.tree_util.tree_leaves(jac, is_leaf=lambda v: isinstance(v, srcgrad.Tensor)),
                    jax.tree_util.tree_leaves(jj)):
        close(a, b)
    single = getattr(func, name)(lambda x: (t(w) @ x).tanh())(t(x))
    close(single, getattr(jax, name)(lambda x: jnp.tanh(w @ x))(x))


def test_hessian_against_jax():
    x = rs.randn(4).astype(np.float32)
    a = rs.randn(4, 4).astype(np.float32)
    h = func.hessian(lambda x: ((t(a) @ x).tanh() * x).sum())(t(x))
    close(h, jax.hessian(lambda x: jnp.sum(jnp.tanh(a @ x) * x))(x), tol=1e-4)


# -- functional_call, stack_module_state -------------------------------------------------


def test_functional_call_swaps_and_restores():
    lin = nn.Linear(3, 2)
    w0 = lin.weight
    new_w, new_b = t(rs.randn(2, 3)), t(rs.randn(2))
    x = t(rs.randn(4, 3))
    out = func.functional_call(lin, {"weight": new_w, "bias": new_b}, (x,))
    close(out, x.numpy() @ new_w.numpy().T + new_b.numpy())
    assert lin.weight is w0 and isinstance(lin.weight, nn.Parameter)
    out = func.functional_call(lin, ({"weight": new_w}, {}), x)  # a missing name keeps the module's own
    close(out, x.numpy() @ new_w.numpy().T + lin.bias.detach().numpy())
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        func.functional_call(lin, ({"weight": new_w}, {"weight": new_w}), (x,))
    with pytest.raises(RuntimeError, match="Error\\(s\\) in reparametrizing for Linear:\n\tUnexpected key\\(s\\): "
                                           "'other'.\n\tMissing key\\(s\\): 'bias'."):
        func.functional_call(lin, {"weight": new_w, "other": new_b}, (x,), strict=True)

    def failing(*_):
        raise ValueError("boom")

    lin.register_forward_pre_hook(failing)
    with pytest.raises(ValueError, match="boom"):
        func.functional_call(lin, {"weight": new_w}, (x,))
    assert lin.weight is w0  # restored on error too


def test_nn_utils_stateless_functional_call_warns_and_works():
    lin = nn.Linear(2, 1)
    w = t(rs.randn(1, 2))
    x = t(rs.randn(3, 2))
    with pytest.warns(FutureWarning, match="Please use torch.func.functional_call instead"):
        out = nn.utils.stateless.functional_call(lin, {"weight": w}, (x,))
    close(out, x.numpy() @ w.numpy().T + lin.bias.detach().numpy())


def test_functional_call_tied_weights():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2, bias=False)
            self.b = nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    m = Tied()
    w = t(rs.randn(2, 2))
    x = t(rs.randn(1, 2))
    out = func.functional_call(m, {"a.weight": w}, (x,))
    close(out, x.numpy() @ w.numpy().T @ w.numpy().T)
    untied = func.functional_call(m, {"a.weight": w}, (x,), tie_weights=False)
    close(untied, x.numpy() @ w.numpy().T @ m.a.weight.detach().numpy().T)
    with pytest.raises(ValueError, match="which are tied"):
        func.functional_call(m, {"a.weight": w, "b.weight": t(rs.randn(2, 2))}, (x,))


def test_functional_call_writes_reassigned_buffers_back_as_pytorch():
    torch = pytest.importorskip("torch")

    def modules(lib):
        class Foo(lib.nn.Module):  # PyTorch's docstring example
            def __init__(self):
                super().__init__()
                self.register_buffer("foo", lib.zeros(()))

            def forward(self, x):
                self.foo = self.foo + 1
                return x + self.foo

        class Tied(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("a", lib.zeros(()))
                self.register_buffer("b", self.a)

            def forward(self, x):
                self.a = self.a + 1
                return x + self.a + self.b

        class Fails(Foo):
            def forward(self, x):
                super().forward(x)
                raise ValueError("boom")

        return Foo, Tied, Fails

    seen = []
    for lib in (srcgrad, torch):
        Foo, Tied, Fails = modules(lib)
        m = Foo()
        d = {"foo": lib.zeros(())}
        out = lib.func.functional_call(m, d, lib.ones(()))
        tied, tied_off = {"a": lib.zeros(())}, {"a": lib.zeros(())}
        first, second = {}, {"foo": lib.zeros(())}
        failed = {"foo": lib.zeros(())}
        with pytest.raises(ValueError, match="boom"):
            lib.func.functional_call(Fails(), failed, lib.ones(()))
        seen.append((out.item(), d["foo"].item(), m.foo.item(),
                     lib.func.functional_call(Tied(), tied, lib.ones(())).item(), sorted(tied), tied["a"].item(),
                     lib.func.functional_call(Tied(), tied_off, lib.ones(()), tie_weights=False).item(),
                     tied_off["a"].item(),
                     lib.func.functional_call(Foo(), (first, second), lib.ones(())).item(), first,
                     second["foo"].item(), failed["foo"].item()))
    assert seen[0] == seen[1] == (2.0, 1.0, 0.0, 2.0, ["a"], 1.0, 2.0, 1.0, 2.0, {}, 0.0, 1.0)


def _tutorial_models(lib, nn_mod, seed):
    class SimpleCNN(nn_mod.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn_mod.Conv2d(1, 4, 3, 1)
            self.fc1 = nn_mod.Linear(4 * 6 * 6, 10)

        def forward(self, x):
            x = lib.nn.functional.max_pool2d(lib.nn.functional.relu(self.conv1(x)), 2)
            return lib.nn.functional.log_softmax(self.fc1(lib.flatten(x, 1)), dim=1)

    model = SimpleCNN()
    r = np.random.RandomState(seed)
    model.load_state_dict({k: lib.tensor(r.randn(*v.shape).astype(np.float32) * 0.2)
                           for k, v in model.state_dict().items()})
    data = lib.tensor(r.randn(6, 1, 14, 14).astype(np.float32))
    targets = lib.tensor(r.randint(0, 10, 6))
    return model, data, targets


def _per_sample_grads(lib, fn):
    """The torch.func per-sample-gradients tutorial, written once for both libraries."""
    model, data, targets = _tutorial_models(lib, lib.nn, 1)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        predictions = fn.functional_call(model, (params, buffers), (sample.unsqueeze(0),))
        return lib.nn.functional.nll_loss(predictions, target.unsqueeze(0))

    grads = fn.vmap(fn.grad(compute_loss), in_dims=(None, None, 0, 0))(params, buffers, data, targets)
    return model, data, targets, grads


def test_per_sample_gradients_match_a_loop():
    model, data, targets, grads = _per_sample_grads(srcgrad, func)
    for i in range(len(data)):
        model.zero_grad()
        srcgrad.nn.functional.nll_loss(model(data[i:i + 1]), targets[i:i + 1]).backward()
        for name, p in model.named_parameters():
            close(grads[name][i], p.grad, tol=2e-5)


def test_per_sample_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    import torch.func as tfunc
    *_, ours = _per_sample_grads(srcgrad, func)
    *_, theirs = _per_sample_grads(torch, tfunc)
    for k in ours:
        close(ours[k], theirs[k].numpy(), tol=2e-5)


def test_model_ensembling_with_stack_module_state():
    models = [nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)) for _ in range(4)]
    data = t(rs.randn(4, 7, 5))
    loop = srcgrad.stack([m(x) for m, x in zip(models, data)])
    params, buffers = func.stack_module_state(models)
    assert params["0.weight"].shape == (4, 8, 5) and params["0.weight"].is_leaf and params["0.weight"].requires_grad
    base = copy.deepcopy(models[0])

    def fmodel(params, buffers, x):
        return func.functional_call(base, (params, buffers), (x,))

    close(func.vmap(fmodel)(params, buffers, data), loop)
    same = func.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, data[0])
    close(same, srcgrad.stack([m(data[0]) for m in models]))
    # the ensemble trains: gradients reach the stacked parameters
    func.vmap(fmodel)(params, buffers, data).sum().backward()
    assert params["0.weight"].grad.shape == (4, 8, 5)
    with pytest.raises(RuntimeError, match="same class"):
        func.stack_module_state([nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2))])
    with pytest.raises(RuntimeError, match="at least one model"):
        func.stack_module_state([])


# -- inside srcgrad.compile ------------------------------------------------------------------


def test_vmap_inside_a_compiled_training_step():
    def make():
        srcgrad.manual_seed(3)
        return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))

    x, y = t(rs.randn(16, 4)), t(rs.randn(16, 1))

    def steps(model, compiled, n=4):
        opt = srcgrad.optim.SGD(model.parameters(), lr=0.1)

        def per_example(p, xi, yi):
            return ((func.functional_call(model, p, (xi.unsqueeze(0),)) - yi) ** 2).mean()

        def step(x, y):
            params = {k: v.detach() for k, v in model.named_parameters()}
            g = func.vmap(func.grad(per_example), in_dims=(None, 0, 0))(params, x, y)
            for k, p in model.named_parameters():
                p.grad = g[k].clamp(-0.5, 0.5).mean(0)  # clipped per-example gradients
            opt.step()
            return g["0.weight"].abs().mean()

        fn = srcgrad.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return [fn(x, y).item() for _ in range(n)], fn

    eager, _ = steps(make(), False)
    compiled, fn = steps(make(), True)
    np.testing.assert_allclose(compiled, eager, rtol=1e-5)
    assert fn.cache_info()["dynamic_at"] is None


# -- transforms of the batched input itself, specs that differ only in shape, dict order -------


def test_vmap_of_grad_jacrev_and_hessian_with_respect_to_the_batched_input():
    # the inner transform makes a fresh leaf of the per-example input: it is fed the batch too
    x = t(rs.randn(4, 3))
    xs = jnp.asarray(x.numpy())
    close(func.vmap(func.grad(lambda r: (r.sin() * r).sum()))(x),
          jax.vmap(jax.grad(lambda r: jnp.sum(jnp.sin(r) * r)))(xs))
    close(func.vmap(func.jacrev(lambda r: r.tanh() * r.sum()))(x),
          jax.vmap(jax.jacrev(lambda r: jnp.tanh(r) * jnp.sum(r)))(xs))
    w = t(rs.randn(5, 3))
    close(func.vmap(func.hessian(lambda w_, r: (w_ @ r).tanh().sum(), argnums=1), in_dims=(None, 0))(w, x),
          jax.vmap(jax.hessian(lambda w_, r: jnp.sum(jnp.tanh(w_ @ r)), argnums=1), in_axes=(None, 0))(
              jnp.asarray(w.numpy()), xs), tol=1e-4)
    # and a gradient through it still reaches the batched input from outside
    xg = t(rs.randn(4, 3), True)
    func.vmap(func.grad(lambda r: (r * r * r).sum()))(xg).sum().backward()
    close(xg.grad, 6 * xg.detach().numpy())


def test_vmap_specs_of_the_same_source_and_other_shapes_stay_apart():
    # the per-example source of `(w @ r).tanh()` is the same text for every shape of w: the
    # backward written for one shape must not serve another
    def predict(w, r):
        return (w @ r).tanh()

    for d_out in (5, 4, 5):
        w = t(rs.randn(d_out, 3))
        x = t(rs.randn(6, 3))
        h = func.vmap(func.hessian(predict, argnums=1), in_dims=(None, 0))(w, x)
        assert h.shape == (6, d_out, 3, 3)
        close(h, jax.vmap(jax.hessian(lambda w_, r: jnp.tanh(w_ @ r), argnums=1), in_axes=(None, 0))(
            jnp.asarray(w.numpy()), jnp.asarray(x.numpy())), tol=1e-4)


def test_dicts_keep_their_order_through_the_transforms():
    params = {"weight": t(rs.randn(2, 3)), "bias": t(rs.randn(2))}
    grads = func.grad(lambda p: (p["weight"].sum(1) + p["bias"]).sum())(params)
    assert list(grads) == ["weight", "bias"]
    out = func.vmap(lambda p: p, in_dims=({"z": 0, "a": None},))({"z": t(rs.randn(3, 2)), "a": t(rs.randn(3, 2))})
    assert list(out) == ["z", "a"] and out["z"].shape == (3, 2) and out["a"].shape == (3, 3, 2)
    m = nn.Linear(3, 2)
    g = func.grad(lambda p: func.functional_call(m, p, (srcgrad.ones(3),)).sum())(dict(m.named_parameters()))
    assert list(g) == ["weight", "bias"]


def test_vmap_of_a_vjp_fn_gives_gradients_that_do_not_require_grad():
    # the Jacobians tutorial's `ft_jacobian, = vmap(vjp_fn)(unit_vectors)`
    x = t(rs.randn(3))
    _, vjp_fn = func.vjp(lambda r: r.sin() * r, x)
    (jac,) = func.vmap(vjp_fn)(srcgrad.eye(3))
    assert not jac.requires_grad and jac.grad_fn is None
    xs = jnp.asarray(x.numpy())
    close(jac, jax.jacrev(lambda r: jnp.sin(r) * r)(xs))
    # while a vmapped output that depends on a tensor requiring grad still does
    w = t(rs.randn(3), True)
    out = func.vmap(lambda r: r * w)(t(rs.randn(2, 3)))
    assert out.requires_grad


def test_tuple_subclasses_come_back_as_themselves():
    import collections
    pair = collections.namedtuple("pair", "a b")
    _, aux = func.grad(lambda x: ((x * x).sum(), pair(x * 2, x)), has_aux=True)(t(rs.randn(3)))
    assert type(aux) is pair and aux.a.shape == (3,)
    # (aux holds tensors only, as in PyTorch: x.shape is refused)
    with pytest.raises(RuntimeError, match="Expected tensors, got unsupported type <class 'int'>"):
        func.grad(lambda x: ((x * x).sum(), x.shape), has_aux=True)(t(rs.randn(3)))


def test_vmap_of_gather_and_integer_division_with_batched_indices():
    # value checks (an index in range, a divisor not zero) skip what vmap's trace stands in for
    xs = srcgrad.arange(12.0).reshape(3, 4)
    idx = srcgrad.tensor([[1, 0], [2, 3], [0, 0]])
    assert func.vmap(lambda x, i: x.gather(0, i))(xs, idx).tolist() == [[1.0, 0.0], [6.0, 7.0], [8.0, 8.0]]
    a, b = srcgrad.tensor([[7, 8], [9, 10]]), srcgrad.tensor([[2, 3], [4, 5]])
    assert func.vmap(lambda p, q: p // q)(a, b).tolist() == [[3, 2], [2, 2]]


def test_backward_inside_a_transform_is_refused_as_pytorch():
    def f(x):
        y = (x * x).sum()
        y.backward()
        return y

    for transform in (func.grad, func.jacrev, lambda f: (lambda x: func.vjp(f, x))):
        with pytest.raises(RuntimeError, match=r"backward\(\) called inside a functorch transform"):
            transform(f)(srcgrad.ones(2))
    x = srcgrad.ones(2, requires_grad=True)
    f(x)  # (outside a transform it is an ordinary backward)
    assert x.grad.tolist() == [2.0, 2.0]


def test_vmap_out_dims_out_of_range_is_an_index_error():
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 3\)"):
        func.vmap(lambda a: a, out_dims=3)(srcgrad.ones(2, 2))


def test_jacfwd_refuses_random_ops_by_default():
    x = srcgrad.ones(3)
    for transform in (func.jacfwd, func.hessian):
        with pytest.raises(RuntimeError, match="vmap: called random operation while in randomness error mode"):
            transform(lambda x: (x * srcgrad.rand(3)).sum())(x)
    assert func.jacfwd(lambda x: x * srcgrad.rand(3), randomness="same")(x).shape == (3, 3)


def test_jvp_tangent_dtypes_as_pytorchs():
    x = t([1.0, 2.0])
    wide = t([1.0, 3.0], dtype=np.float64)
    out, tangent = func.jvp(lambda a, b: a * b + a.exp(), (x, x), (wide, x))
    assert out.dtype == srcgrad.float32 and tangent.dtype == srcgrad.float64
    close(tangent, np.array([1.0, 3.0]) * (np.array([1.0, 2.0]) + np.exp([1.0, 2.0])) + np.array([1.0, 4.0]))
    (_, _), (t_sum, t_arg) = func.jvp(lambda a: (a.sum(), a.argmax()), (x,), (wide,))
    assert t_sum.dtype == srcgrad.float64 and t_arg.dtype == srcgrad.int64
    with pytest.raises(ValueError, match="Expected tangent to be floating point or complex, but got: torch.int64"):
        func.jvp(srcgrad.sin, (x,), (srcgrad.tensor([1, 1]),))


def test_vmap_batch_size_mismatch_message_as_pytorchs():
    with pytest.raises(ValueError, match=r"^vmap: Expected all tensors to have the same size in the mapped dimension, "
                                         r"got sizes \[2, 3\] for the mapped dimension$"):
        func.vmap(lambda a, b: a + b)(srcgrad.ones(2), srcgrad.ones(3))
