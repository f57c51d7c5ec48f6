"""srcgrad.torch_checkpoint: reading torch.save ZIP archives without running code.

The safety tests and the hand-built archives need no PyTorch; the rest compare with files written by real
PyTorch (skipped where it is not installed)."""

import io
import os
import pickle
import struct
import zipfile
from collections import Counter, OrderedDict

import numpy as np
import pytest

import srcgrad as sg
from srcgrad.torch_checkpoint import is_torch_checkpoint, load_torch_checkpoint

# ---------------------------------------------------------------------------
# hand-built archives (protocol-2 opcodes written out, as torch.save writes them)


def _str(text):
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _int(n):
    if -2 ** 31 <= n < 2 ** 31:
        return b"J" + struct.pack("<i", n)  # BININT
    raw = n.to_bytes(16, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw  # LONG1


def _global(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def _tuple(*items):
    return b"(" + b"".join(items) + b"t"


def _tensor_pickle(offset, size, stride, numel, storage="FloatStorage", location="cpu", key="0"):
    """The pickle of one tensor: _rebuild_tensor_v2(<storage key>, offset, size, stride, False, OrderedDict())."""
    pid = _tuple(_str("storage"), _global("torch", storage), _str(key), _str(location), _int(numel)) + b"Q"
    args = _tuple(pid, _int(offset), _tuple(*map(_int, size)), _tuple(*map(_int, stride)), b"\x89",
                  _global("collections", "OrderedDict") + b")R")
    return b"\x80\x02" + _global("torch._utils", "_rebuild_tensor_v2") + args + b"R."


def _archive(data_pkl, storages=(), version=b"3\n", byteorder=b"little", prefix="archive"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{prefix}/data.pkl", data_pkl)
        if byteorder is not None:
            z.writestr(f"{prefix}/byteorder", byteorder)
        for key, raw in storages:
            z.writestr(f"{prefix}/data/{key}", raw)
        if version is not None:
            z.writestr(f"{prefix}/version", version)
        z.writestr(f"{prefix}/.data/serialization_id", b"0" * 40)
    return buf.getvalue()


def test_hand_built_archive_loads_a_strided_view():
    storage = np.arange(12, dtype=np.float32)
    data = _archive(_tensor_pickle(1, (3, 2), (4, 2), 12), [("0", storage.tobytes())])
    assert is_torch_checkpoint(data) and is_torch_checkpoint(io.BytesIO(data))
    out = load_torch_checkpoint(data)
    want = np.lib.stride_tricks.as_strided(storage[1:], (3, 2), (16, 8))
    assert out.dtype == sg.float32 and out.shape == (3, 2) and out.stride() == (4, 2)
    np.testing.assert_array_equal(out.numpy(), want)


def test_hand_built_big_endian_archive():
    storage = np.arange(4, dtype=">i8")
    data = _archive(_tensor_pickle(0, (4,), (1,), 4, "LongStorage"), [("0", storage.tobytes())], byteorder=b"big")
    out = load_torch_checkpoint(data)
    assert out.dtype == sg.int64
    np.testing.assert_array_equal(out.numpy(), [0, 1, 2, 3])


@pytest.mark.parametrize("offset,size,stride,numel,nbytes,match", [
    (0, (100,), (1,), 4, 16, "reaches element 99"),            # past the end of the storage
    (3, (2,), (1,), 4, 16, "reaches element 4"),               # an offset that runs off the end
    (0, (2, 2), (1000000, 1), 4, 16, "reaches element"),       # a huge stride
    (0, (2,), (-1,), 4, 16, "negative"),                       # negative strides never come from PyTorch
    (0, (4,), (1,), 4, 12, "holds 12 bytes but data.pkl declares 16"),  # a short storage file
    (0, (4,), (1,), 1 << 40, 16, "declares"),                  # a storage claiming a huge size
])
def test_refuses_layouts_outside_the_storage(offset, size, stride, numel, nbytes, match):
    data = _archive(_tensor_pickle(offset, size, stride, numel), [("0", b"\0" * nbytes)])
    with pytest.raises(pickle.UnpicklingError, match=match):
        load_torch_checkpoint(data)


def test_refuses_missing_storage_and_bad_persistent_id():
    with pytest.raises(pickle.UnpicklingError, match="data/0 is missing"):
        load_torch_checkpoint(_archive(_tensor_pickle(0, (1,), (1,), 1)))
    bad_pid = b"\x80\x02" + _tuple(_str("module"), _str("x")) + b"Q."
    with pytest.raises(pickle.UnpicklingError, match="unsupported persistent id"):
        load_torch_checkpoint(_archive(bad_pid))


def test_map_location_for_a_cuda_storage():
    raw = np.arange(3, dtype=np.float32).tobytes()
    data = _archive(_tensor_pickle(0, (3,), (1,), 3, location="cuda:0"), [("0", raw)])
    if not sg.cuda.is_available():
        with pytest.raises(RuntimeError, match="map_location='cpu'"):
            load_torch_checkpoint(data)
    seen = []
    for loc in ("cpu", sg.device("cpu"), {"cuda:0": "cpu"}, lambda s, where: s.cpu(),
                lambda s, where: seen.append(where) or "cpu"):
        out = load_torch_checkpoint(data, map_location=loc)
        assert out.device == sg.device("cpu")
        np.testing.assert_array_equal(out.numpy(), [0, 1, 2])
    assert seen == ["cuda:0"]
    with pytest.raises(TypeError, match="map_location must be"):
        load_torch_checkpoint(data, map_location=3)


# ---------------------------------------------------------------------------
# safety: nothing in the file runs


class _System:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"echo pwned > {self.path}",))


class _Eval:
    def __reduce__(self):
        return (eval, ("1 + 1",))


class _BuildCounter:
    """A Counter with attributes set by BUILD: PyTorch allows BUILD on OrderedDict only."""

    def __reduce__(self):
        return (Counter, (), {"x": 1})


@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("weights_only", [None, True, False])
def test_refuses_code_in_a_malicious_archive(tmp_path, protocol, weights_only):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    path.write_bytes(_archive(pickle.dumps({"w": 1, "x": _System(marker)}, protocol=protocol)))
    assert is_torch_checkpoint(path)
    with pytest.raises(pickle.UnpicklingError, match=r"Unsupported global: GLOBAL (posix|nt|os)\.system") as e:
        load_torch_checkpoint(path, weights_only=weights_only)
    assert ("weights_only=False does not change this" in str(e.value)) == (weights_only is False)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL builtins\.eval"):
        load_torch_checkpoint(_archive(pickle.dumps([_Eval()], protocol=protocol)))
    with pytest.raises(pickle.UnpicklingError, match="can only BUILD an OrderedDict"):
        load_torch_checkpoint(_archive(pickle.dumps(_BuildCounter(), protocol=protocol)))


def test_refuses_attribute_paths_and_unknown_torch_globals():
    dotted = b"\x80\x04" + _str("collections") + _str("OrderedDict.fromkeys") + b"\x93" + _tuple(_str("ab")) + b"R."
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL collections\.OrderedDict\.fromkeys"):
        load_torch_checkpoint(_archive(dotted))
    for module, name in [("torch", "load"), ("torch._utils", "_rebuild_qtensor"), ("numpy", "frombuffer")]:
        pkl = b"\x80\x02" + _global(module, name) + b")R."
        with pytest.raises(pickle.UnpicklingError, match=rf"GLOBAL {module}\.{name}"):
            load_torch_checkpoint(_archive(pkl))
    with pytest.raises(pickle.UnpicklingError, match="a dtype srcgrad does not have"):
        load_torch_checkpoint(_archive(b"\x80\x02" + _global("torch", "complex64") + b"."))


def test_plain_values_and_allowed_builtins_without_torch():
    obj = OrderedDict(a=[1, 2.5, "s", None, True], b=(3, {4: b"xy"}), c={1, 2}, d=frozenset([5]), e=1 + 2j,
                      f=slice(1, 2), g=Counter("aab"), h=bytearray(b"q"), i=b"")
    for protocol in (2, 4):
        assert load_torch_checkpoint(_archive(pickle.dumps(obj, protocol=protocol))) == obj


def test_truncated_corrupt_and_foreign_files(tmp_path):
    raw = np.arange(1000, dtype=np.float32).tobytes()
    good = _archive(_tensor_pickle(0, (1000,), (1,), 1000), [("0", raw)])
    for cut in (len(good) // 2, len(good) - 10, 30):
        assert not is_torch_checkpoint(good[:cut])
        with pytest.raises(pickle.UnpicklingError, match="broken ZIP archive|not a PyTorch checkpoint"):
            load_torch_checkpoint(good[:cut])
    corrupt = bytearray(good)
    at = corrupt.index(raw[400:440])
    corrupt[at] ^= 0xFF  # a flipped byte in data/0: the CRC check fails
    with pytest.raises(pickle.UnpicklingError, match="cannot read archive/data/0"):
        load_torch_checkpoint(bytes(corrupt))
    cases = {b"\x00\x01garbage" * 10: "not a ZIP archive", b"hello": "not a ZIP archive",
             pickle.dumps({"a": 1}, protocol=2): "legacy format",
             _archive(pickle.dumps({"a": 1}), version=None): "without <archive>/data.pkl"}
    for data, match in cases.items():
        path = tmp_path / "f.bin"
        path.write_bytes(data)
        assert not is_torch_checkpoint(path)
        with pytest.raises(pickle.UnpicklingError, match=match):
            load_torch_checkpoint(path)
    with pytest.raises(EOFError):
        load_torch_checkpoint(io.BytesIO())


def test_truncated_pickle_inside_a_whole_archive():
    pkl = _tensor_pickle(0, (2,), (1,), 2)
    with pytest.raises(pickle.UnpicklingError, match="malformed data.pkl"):
        load_torch_checkpoint(_archive(pkl[:-5], [("0", b"\0" * 8)]))


# ---------------------------------------------------------------------------
# files written by PyTorch


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _dtype_name(t):
    return str(t.dtype).removeprefix("torch.")


def _same(ours, theirs):
    """Exactly the same tensor: type, dtype, shape, strides, requires_grad and values (bit for bit)."""
    import torch as pt
    assert isinstance(ours, sg.Tensor), type(ours)
    assert ours.dtype.name == _dtype_name(theirs)
    assert tuple(ours.shape) == tuple(theirs.shape)
    if theirs.numel():
        assert tuple(ours.stride()) == tuple(theirs.stride())
    assert ours.requires_grad == theirs.requires_grad
    assert isinstance(ours, sg.nn.Parameter) == isinstance(theirs, pt.nn.Parameter)
    if theirs.dtype == pt.bfloat16:
        got, want = np.asarray(ours.detach()._value()).view(np.uint16), theirs.detach().view(pt.int16).numpy().view(np.uint16)
    else:
        got, want = ours.detach().numpy(), theirs.detach().numpy()
    np.testing.assert_array_equal(got, want)


def _round_trip(torch, obj, tmp_path, name="w.pth", **kw):
    path = tmp_path / name
    torch.save(obj, path)
    assert is_torch_checkpoint(path)
    return load_torch_checkpoint(path, **kw)


def _torch_model(torch):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                               torch.nn.Flatten(), torch.nn.Linear(4 * 5 * 5, 6))


def _srcgrad_model():
    return sg.nn.Sequential(sg.nn.Conv2d(3, 4, 3, padding=1), sg.nn.BatchNorm2d(4), sg.nn.ReLU(),
                            sg.nn.Flatten(), sg.nn.Linear(4 * 5 * 5, 6))


def test_model_state_dict_loads_into_a_srcgrad_model(torch, tmp_path):
    model = _torch_model(torch)
    model.train()
    for _ in range(2):  # update the BatchNorm buffers (num_batches_tracked becomes 2)
        model(torch.randn(8, 3, 5, 5))
    model.eval()
    sd = model.state_dict()
    out = _round_trip(torch, sd, tmp_path)
    assert type(out) is OrderedDict and list(out) == list(sd)
    assert out._metadata == sd._metadata
    for k in sd:
        _same(out[k], sd[k])
    assert out["1.num_batches_tracked"].dtype == sg.int64 and out["1.num_batches_tracked"].shape == ()
    assert out["1.num_batches_tracked"].item() == 2
    ours = _srcgrad_model()
    ours.load_state_dict(out)
    ours.eval()
    x = np.random.randn(2, 3, 5, 5).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(sg.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-5)


def test_nested_plain_values(torch, tmp_path):
    obj = {"epoch": 3, "loss": 0.125, "name": "run-1", "flags": [True, False, None], "nested": {"a": [1, (2, 3.5)],
           "b": ("x", ["y", {"z": -7}])}, 5: "int key", "big": 2 ** 70, "nan": float("inf"), "bytes": b"\x00\xff",
           "c": 1 - 2j, "set": {1, 2}, "size": torch.Size([2, 3]), "dtype": torch.bfloat16,
           "device": torch.device("cpu")}
    out = _round_trip(torch, obj, tmp_path)
    plain = {k: v for k, v in obj.items() if k not in ("size", "dtype", "device")}
    assert {k: v for k, v in out.items() if k not in ("size", "dtype", "device")} == plain
    assert isinstance(out["size"], sg.Size) and tuple(out["size"]) == (2, 3)
    assert out["dtype"] is sg.bfloat16 and out["device"] == sg.device("cpu")


def test_views_offsets_and_shared_storage(torch, tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    obj = {"base": base, "t": base.t(), "slice": base[1:3, 2:5], "step": base[:, ::2], "row": base[2],
           "flat": base.view(-1)[5:17], "expanded": torch.ones(3, 1).expand(3, 4), "empty": base[:, 6:],
           "scalar_view": base[1, 1]}
    out = _round_trip(torch, obj, tmp_path)
    for k in obj:
        _same(out[k], obj[k])
    assert not out["t"].is_contiguous() and out["base"].is_contiguous()


def test_dtypes_and_zero_dim(torch, tmp_path):
    gen = torch.Generator().manual_seed(0)
    obj = {name: (torch.randn(3, 4, generator=gen) * 50).to(getattr(torch, name))
           for name in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8")}
    obj["bool"] = torch.tensor([[True, False], [False, True]])
    obj["half_t"] = obj["float16"].t()
    obj.update({"zero_d": torch.tensor(2.5), "zero_d_long": torch.tensor(7), "zero_d_bf16":
                torch.tensor(1.5, dtype=torch.bfloat16), "zero_d_bool": torch.tensor(True), "empty": torch.zeros(0, 3)})
    out = _round_trip(torch, obj, tmp_path)
    for k in obj:
        _same(out[k], obj[k])


def test_parameters_and_requires_grad(torch, tmp_path):
    obj = {"p": torch.nn.Parameter(torch.randn(2, 3)), "frozen": torch.nn.Parameter(torch.randn(2), False),
           "leaf": torch.randn(3).requires_grad_(), "plain": torch.randn(3)}
    obj["same"] = obj["p"]
    out = _round_trip(torch, obj, tmp_path)
    for k in obj:
        _same(out[k], obj[k])
    assert out["same"] is out["p"]  # one object in the pickle, one object loaded
    assert out["p"].is_leaf and out["p"].grad is None


def test_tensor_with_python_attributes(torch, tmp_path):
    t = torch.arange(3.0)
    t.note = "dropped"
    out = _round_trip(torch, {"t": t}, tmp_path)
    _same(out["t"], torch.arange(3.0))


def test_adam_state_dict_continues_training(torch, tmp_path):
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(4))
    opt = torch.optim.Adam([p], lr=0.1)
    (p ** 2).sum().backward()
    opt.step()
    out = _round_trip(torch, {"opt": opt.state_dict(), "p": p}, tmp_path)
    sd = opt.state_dict()
    assert out["opt"]["param_groups"] == sd["param_groups"]
    for k, v in sd["state"][0].items():
        _same(out["opt"]["state"][0][k], v)
    q = out["p"]
    ours = sg.optim.Adam([q], lr=0.1)
    ours.load_state_dict(out["opt"])
    for optimizer, param in ((opt, p), (ours, q)):
        optimizer.zero_grad()
        (param ** 2).sum().backward()
        optimizer.step()
    np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-6)


def test_sources_and_map_location(torch, tmp_path):
    obj = {"w": torch.randn(2, 2), "b": torch.ones(2, dtype=torch.bfloat16)}
    buf = io.BytesIO()
    torch.save(obj, buf)
    data = buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for make in (lambda: data, lambda: io.BytesIO(data), lambda: z, lambda: bytearray(data)):
            for loc in (None, "cpu", sg.device("cpu"), {"cpu": "cpu"}, lambda s, where: s):
                out = load_torch_checkpoint(make(), map_location=loc)
                for k in obj:
                    _same(out[k], obj[k])
                    assert out[k].device == sg.device("cpu")
    f = io.BytesIO(b"junk" + data)
    f.seek(4)
    assert is_torch_checkpoint(f) and f.tell() == 4


def test_refusals_on_real_torch_files(torch, tmp_path):
    marker = tmp_path / "marker"
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL (posix|nt|os)\.system"):
        _round_trip(torch, {"w": torch.ones(2), "payload": _System(marker)}, tmp_path)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL torch\.(uint16|storage\.UntypedStorage)|srcgrad does"):
        _round_trip(torch, {"u": torch.ones(2, dtype=torch.uint16)}, tmp_path)
    with pytest.raises(pickle.UnpicklingError, match="a dtype srcgrad does not have"):
        _round_trip(torch, {"c": torch.ones(2, dtype=torch.complex64)}, tmp_path)
    path = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    assert not is_torch_checkpoint(path)
    with pytest.raises(pickle.UnpicklingError, match="legacy format"):
        load_torch_checkpoint(path)
    torch.save({"w": torch.ones(1000)}, path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 100):
        path.write_bytes(data[:cut])
        with pytest.raises(pickle.UnpicklingError, match="broken ZIP archive|not a PyTorch checkpoint"):
            load_torch_checkpoint(path)


def test_refuses_torchscript_archive(torch, tmp_path):
    path = tmp_path / "script.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), path)
    with pytest.raises(pickle.UnpicklingError, match="TorchScript|Unsupported global"):
        load_torch_checkpoint(path)
