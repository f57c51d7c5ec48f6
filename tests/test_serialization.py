"""srcgrad.save / srcgrad.load: round trips of tensors and nested state dicts, and refusal of pickles,
object arrays and crafted archives (nothing in a loaded file is ever executed)."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn, optim
from srcgrad.serialization import UnpicklingError, load, save


def roundtrip(obj, **kw):
    buf = io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    return load(buf, **kw)


@pytest.mark.parametrize("dtype", [sg.float32, sg.float64, sg.float16, sg.int64, sg.int32, sg.int16, sg.int8,
                                   sg.uint8, sg.bool])
def test_tensor_round_trip_keeps_dtype_shape_values(dtype):
    arr = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype.np)
    out = roundtrip(sg.tensor(arr, dtype=dtype))
    assert isinstance(out, sg.Tensor) and out.dtype == dtype and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out.numpy(), arr)


def test_scalars_empty_and_requires_grad(tmp_path):
    path = tmp_path / "t.pt"
    save({"s": sg.tensor(3.5), "e": sg.zeros(0, 3), "g": sg.ones(2, requires_grad=True)}, path)
    out = load(path)
    assert out["s"].shape == () and out["s"].item() == 3.5
    assert out["e"].shape == (0, 3)
    assert out["g"].requires_grad and out["g"].is_leaf
    assert load(str(path))["s"].item() == 3.5


def test_nested_python_values_round_trip():
    obj = {
        "int": 3, "big": 2 ** 70, "float": 0.1, "nan": float("nan"), "inf": -float("inf"), "str": "héllo",
        "bool": True, "none": None, "list": [1, [2, (3, "x")]], "tuple": (1.5, None), 7: "int key",
        (1, 2): "tuple key", "dtype": sg.float64, "device": sg.device("cpu"), "empty": {}, "np": np.float32(2.5),
        "od": OrderedDict([("b", 1), ("a", 2)]),
    }
    out = roundtrip(obj)
    assert out["int"] == 3 and out["big"] == 2 ** 70 and out["float"] == 0.1 and np.isnan(out["nan"])
    assert out["inf"] == -float("inf") and out["str"] == "héllo" and out["bool"] is True and out["none"] is None
    assert out["list"] == [1, [2, (3, "x")]] and isinstance(out["list"][1][1], tuple)
    assert out["tuple"] == (1.5, None) and out[7] == "int key" and out[(1, 2)] == "tuple key"
    assert out["dtype"] is sg.float64 and out["device"] == sg.device("cpu") and out["empty"] == {}
    assert out["np"] == 2.5 and isinstance(out["od"], OrderedDict) and list(out["od"]) == ["b", "a"]
    assert list(out) == list(obj)


def test_shared_tensors_stay_shared_and_parameters_stay_parameters():
    t = sg.randn(3)
    p = nn.Parameter(sg.randn(2))
    out = roundtrip({"a": t, "b": t, "p": p, "frozen": nn.Parameter(sg.ones(1), requires_grad=False)})
    assert out["a"] is out["b"]
    assert isinstance(out["p"], nn.Parameter) and out["p"].requires_grad
    assert isinstance(out["frozen"], nn.Parameter) and not out["frozen"].requires_grad
    np.testing.assert_array_equal(out["p"].detach().numpy(), p.detach().numpy())


def test_model_and_optimizer_checkpoint_resumes_training(tmp_path):
    def make():
        sg.manual_seed(0)
        m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)).double()
        return m, optim.Adam(m.parameters(), lr=0.05)

    x, y = sg.randn(10, 3, dtype=sg.float64), sg.randn(10, 1, dtype=sg.float64)

    def train(m, o, n):
        for _ in range(n):
            o.zero_grad()
            nn.functional.mse_loss(m(x), y).backward()
            o.step()

    model, opt = make()
    train(model, opt, 3)
    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    train(model, opt, 2)
    expected = [p.detach().numpy() for p in model.parameters()]

    ckpt = load(tmp_path / "ckpt.pt")
    assert ckpt["epoch"] == 3 and isinstance(ckpt["model"], OrderedDict)
    assert sorted(ckpt["optimizer"]["state"]) == [0, 1, 2, 3]
    assert ckpt["optimizer"]["state"][0]["step"].item() == 3.0
    assert ckpt["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    model2, opt2 = make()
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    train(model2, opt2, 2)
    for a, b in zip(model2.parameters(), expected):
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=1e-12, atol=1e-12)


def test_saving_after_training_computes_pending_updates_in_one_program():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        model(sg.randn(5, 3)).pow(2).sum().backward()
        opt.step()  # the last update is still pending: nothing needed it yet
    assert any(p._node.value is None for p in model.parameters())
    calls = sg.cache_info()["hits"] + sg.cache_info()["misses"]
    buf = io.BytesIO()
    save({"model": model.state_dict(), "optimizer": opt.state_dict()}, buf)
    assert sg.cache_info()["hits"] + sg.cache_info()["misses"] == calls + 1
    buf.seek(0)
    out = load(buf)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(out["model"][k].numpy(), v.numpy())


def test_map_location():
    t = sg.arange(4.0)
    assert roundtrip(t, map_location="cpu").device.type == "cpu"
    assert roundtrip(t, map_location=sg.device("cpu")).device.type == "cpu"
    assert roundtrip(t, map_location={"cuda:0": "cpu"}).device.type == "cpu"
    seen = []
    out = roundtrip({"t": t}, map_location=lambda tensor, loc: seen.append(loc) or tensor * 2)
    assert seen == ["cpu"] and out["t"].tolist() == [0.0, 2.0, 4.0, 6.0]


def test_unsupported_objects_are_not_saved():
    with pytest.raises(TypeError, match="cannot store an object of type object"):
        save({"x": object()}, io.BytesIO())
    with pytest.raises(TypeError, match="function"):
        save([lambda: 0], io.BytesIO())


# ---------------------------------------------------------------------------
# refusals: nothing is executed, the error says why


class Payload:
    """Unpickling this writes a marker file: the test checks it never appears."""

    marker = None

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture
def marker(tmp_path):
    Payload.marker = tmp_path / "PWNED"
    yield Payload.marker
    assert not Payload.marker.exists(), "a payload in a loaded file was executed"


def test_refuses_pickle_with_reduce_payload(tmp_path, marker):
    path = tmp_path / "evil.pt"
    for protocol in (0, 2, pickle.HIGHEST_PROTOCOL):
        path.write_bytes(pickle.dumps({"state": Payload()}, protocol=protocol))
        with pytest.raises(UnpicklingError, match="pickle"):
            load(path)


def test_refuses_npz_with_object_array(tmp_path, marker):
    path = tmp_path / "obj.npz"
    np.savez(path, a=np.array([Payload()], dtype=object))
    with pytest.raises(UnpicklingError, match="not a srcgrad checkpoint"):
        load(path)


def _craft(path, manifest, arrays=None, raw=None):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("srcgrad_manifest.json", manifest if isinstance(manifest, str) else json.dumps(manifest))
        for name, arr in (arrays or {}).items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=True)
            z.writestr(name, buf.getvalue())
        for name, data in (raw or {}).items():
            z.writestr(name, data)


def _manifest(root, n=1):
    return {"format": "srcgrad-checkpoint", "version": 1, "root": root, "tensors": n}


TENSOR = {"t": "tensor", "key": 0, "dtype": "float32", "shape": [1], "requires_grad": False, "parameter": False,
          "device": "cpu"}


def test_refuses_crafted_archive_with_pickled_object_array(tmp_path, marker):
    path = tmp_path / "crafted.pt"
    _craft(path, _manifest(TENSOR), {"tensors/0.npy": np.array([Payload()], dtype=object)})
    with pytest.raises(UnpicklingError, match="not a plain numeric array"):
        load(path)


@pytest.mark.parametrize("manifest,arrays,match", [
    (_manifest({"t": "pickle", "v": "cos\nsystem\n"}), {}, "unknown entry type 'pickle'"),
    (_manifest(TENSOR), {}, "tensors/0.npy is missing"),
    (_manifest(dict(TENSOR, key=5)), {}, "refers to a missing array"),
    (_manifest(TENSOR), {"tensors/0.npy": np.zeros(2, np.float32)}, "but the manifest says"),
    (_manifest(dict(TENSOR, dtype="object")), {"tensors/0.npy": np.zeros(1, np.float32)}, "unknown dtype"),
    (_manifest(TENSOR), {"tensors/0.npy": np.array(["a"])}, "not a tensor dtype"),
    (dict(_manifest({"t": "none"}), version=99), {}, "newer than this srcgrad reads"),
    (dict(_manifest({"t": "none"}), format="other"), {}, "wrong format tag"),
    ("{not json", {}, "unreadable manifest"),
    ('{"format": NaN}', {}, "unreadable manifest"),
    (_manifest({"t": "int", "v": 3}), {}, "malformed int entry"),
    (_manifest({"t": "dict", "items": [[{"t": "list", "items": []}, {"t": "none"}]]}), {}, "unhashable"),
    (_manifest(dict(TENSOR, device="tpu:7")), {"tensors/0.npy": np.zeros(1, np.float32)}, "bad device"),
])
def test_refuses_malformed_archives(tmp_path, manifest, arrays, match):
    path = tmp_path / "bad.pt"
    _craft(path, manifest, arrays)
    with pytest.raises(UnpicklingError, match=match):
        load(path)


@pytest.mark.parametrize("second", [dict(TENSOR, dtype="int32"), dict(TENSOR, shape=[1, 1]),
                                    dict(TENSOR, shape=[]), dict(TENSOR, parameter=True)])
def test_refuses_second_entry_redeclaring_a_loaded_key(tmp_path, second):
    path = tmp_path / "reuse.pt"
    _craft(path, _manifest({"t": "list", "items": [TENSOR, second]}), {"tensors/0.npy": np.zeros(1, np.float32)})
    with pytest.raises(UnpicklingError, match=r"two tensor entries share array tensors/0\.npy but declare "
                                              r"different tensors \(float32\[1\] on cpu and "):
        load(path)
    # the same description twice is the one shared tensor
    _craft(path, _manifest({"t": "list", "items": [TENSOR, dict(TENSOR)]}), {"tensors/0.npy": np.ones(1, np.float32)})
    a, b = load(path)
    assert a is b and a.dtype == sg.float32 and a.shape == (1,)


def test_refuses_deep_nesting(tmp_path):
    for depth in (300, 100_000):
        root = '{"t": "list", "items": [' * depth + '{"t": "none"}' + "]}" * depth
        path = tmp_path / "deep.pt"
        _craft(path, '{"format": "srcgrad-checkpoint", "version": 1, "tensors": 0, "root": ' + root + "}")
        with pytest.raises(UnpicklingError, match="nested"):
            load(path)


def test_refuses_foreign_and_broken_files(tmp_path):
    cases = {
        "torch_zip.pt": None,
        "bare.npy": None,
        "random.bin": b"\x00\x01garbage" * 10,
        "text.txt": b"hello world",
        "truncated.pt": None,
    }
    with zipfile.ZipFile(tmp_path / "torch_zip.pt", "w") as z:  # the layout torch.save writes
        z.writestr("archive/data.pkl", pickle.dumps({"a": 1}))
    np.save(tmp_path / "bare.npy", np.zeros(3))
    buf = io.BytesIO()
    save({"a": sg.ones(1000)}, buf)
    cases["truncated.pt"] = buf.getvalue()[:500]
    for name, data in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
    messages = {name: str(pytest.raises(UnpicklingError, load, tmp_path / name).value) for name in cases}
    assert "torch.save archive" in messages["torch_zip.pt"]
    assert "bare .npy array" in messages["bare.npy"]
    assert "not a ZIP archive" in messages["random.bin"] and "not a ZIP archive" in messages["text.txt"]
    assert "broken ZIP archive" in messages["truncated.pt"] or "not a srcgrad checkpoint" in messages["truncated.pt"]


def test_refuses_real_torch_save_file(tmp_path, marker):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2), "payload": Payload()}, tmp_path / "torch.pt")
    with pytest.raises(UnpicklingError, match="torch.save archive"):
        load(tmp_path / "torch.pt")
    torch.save({"w": torch.ones(2)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(UnpicklingError, match="pickle"):
        load(tmp_path / "legacy.pt")


# ---------------------------------------------------------------------------
# several checkpoints in one stream: each load reads the archive at the current position


def _saved(obj):
    buf = io.BytesIO()
    save(obj, buf)
    return buf.getvalue()


def test_checkpoints_saved_into_one_stream_load_one_after_another():
    buf = io.BytesIO()
    save({"epoch": 1}, buf)
    first_end = buf.tell()
    save({"epoch": 2, "w": sg.arange(100.0)}, buf)  # a different size and layout: no accidental match
    buf.seek(0)
    assert load(buf) == {"epoch": 1}
    assert buf.tell() == first_end  # just after the first archive
    second = load(buf)
    assert second["epoch"] == 2 and second["w"].tolist() == list(map(float, range(100)))
    assert buf.tell() == len(buf.getvalue())
    with pytest.raises(EOFError):
        load(buf)
    # the archive that starts where the stream is, whatever comes before it
    data = b"header" + _saved({"a": sg.ones(3)}) + _saved([7])
    buf = io.BytesIO(data)
    buf.seek(6)
    assert load(buf)["a"].tolist() == [1.0, 1.0, 1.0] and load(buf) == [7] and buf.tell() == len(data)


def test_checkpoints_appended_to_one_file(tmp_path):
    path = tmp_path / "log.pt"
    for epoch in (1, 2, 3):
        with open(path, "ab") as fh:
            save({"epoch": epoch, "w": sg.full((epoch,), float(epoch))}, fh)
    assert load(path)["epoch"] == 1  # a path: the first checkpoint in the file
    with open(path, "rb") as fh:
        assert [load(fh)["epoch"] for _ in range(3)] == [1, 2, 3]
        with pytest.raises(EOFError):
            load(fh)


class _WriteOnly(io.RawIOBase):
    """A stream that cannot seek: zipfile then puts each entry's sizes in a data descriptor after its data."""

    def __init__(self, sink):
        self.sink = sink

    def writable(self):
        return True

    def write(self, b):
        return self.sink.write(b)


def _descriptor_archive(obj):
    """A srcgrad checkpoint whose entries use data descriptors (not walkable record by record)."""
    data = io.BytesIO(_saved(obj))
    sink = io.BytesIO()
    with zipfile.ZipFile(data) as src, zipfile.ZipFile(_WriteOnly(sink), "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
    out = sink.getvalue()
    assert int.from_bytes(out[6:8], "little") & 0x08  # (the case under test)
    return out


def test_a_later_archive_is_never_loaded_in_place_of_the_first():
    one = _descriptor_archive({"epoch": 1})
    assert load(io.BytesIO(one)) == {"epoch": 1}  # alone it loads
    for data in (one + _descriptor_archive({"epoch": 2}), one + _saved({"epoch": 2})):
        with pytest.raises(UnpicklingError, match="more than one ZIP archive"):
            load(io.BytesIO(data))
    # a walkable first archive followed by anything: the first one
    assert load(io.BytesIO(_saved({"epoch": 1}) + one)) == {"epoch": 1}


def test_a_stream_that_cannot_seek_back_is_read():
    class ReadOnly:
        def __init__(self, data):
            self.data = data

        def read(self, n=-1):
            out, self.data = self.data, b""
            return out

    assert load(ReadOnly(_saved({"a": 1}) + _saved({"b": 2}))) == {"a": 1}


def test_a_refused_stream_is_left_where_it_was():
    buf = io.BytesIO(b"xx" + pickle.dumps({"a": 1}))
    buf.seek(2)
    with pytest.raises(UnpicklingError):
        load(buf)
    assert buf.tell() == 2


def test_concatenated_checkpoints_first_one_as_torch():
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save({"epoch": 1}, buf)
    torch.save({"epoch": 2}, buf)
    buf.seek(0)
    assert torch.load(buf) == {"epoch": 1}
    # torch leaves the stream inside the first archive (after its data.pkl, not after the archive), so
    # its second load fails; srcgrad leaves it after the first archive and the second load reads the next
    buf = io.BytesIO()
    save({"epoch": 1}, buf)
    save({"epoch": 2}, buf)
    buf.seek(0)
    assert load(buf) == {"epoch": 1} and load(buf) == {"epoch": 2}


# ---------------------------------------------------------------------------
# types that survive a round trip


def test_round_trip_keeps_container_types():
    from collections import Counter, defaultdict

    dd = defaultdict(list, {"a": [1]})
    obj = {
        "counter": Counter({3: 1, 5: 2}),
        "dd": dd,
        "dd_none": defaultdict(None, {1: 2}),
        "dd_int": defaultdict(int, {"x": 3}),
        "dd_nested": defaultdict(dict, {"k": defaultdict(set)}),
        "od": OrderedDict([("z", 1), ("a", 2)]),
        "size": sg.Size([2, 3]),
        "shape": sg.ones(4, 5).shape,
        "set": {1, "two", (3, 4)},
        "frozenset": frozenset({1.5, None}),
        "set_of_frozensets": {frozenset({1}), frozenset()},
        "bytes": b"\x00\xffab",
        "bytearray": bytearray(b"xy"),
        "complex": 1.5 - 2j,
        frozenset({"key"}): b"bytes value",
        b"bytes key": complex("nan+infj"),
    }
    out = roundtrip(obj)
    assert list(out) == list(obj)
    for k, v in obj.items():
        if k != b"bytes key":
            assert out[k] == v and type(out[k]) is type(v), k
    assert type(out["dd_nested"]["k"]) is defaultdict and out["dd_nested"]["k"].default_factory is set
    assert out["dd"].default_factory is list and out["dd_int"].default_factory is int
    assert out["dd_none"].default_factory is None
    out["dd"]["new"].append(1)
    assert out["dd"]["new"] == [1]
    assert repr(out["size"]) == "torch.Size([2, 3])" and out["size"].numel() == 6
    assert list(out["od"]) == ["z", "a"] and list(out["counter"].elements()) == [3, 5, 5]
    c = out[b"bytes key"]
    assert type(c) is complex and np.isnan(c.real) and c.imag == float("inf")


@pytest.mark.parametrize("value", [
    np.bool_(True), np.int8(-128), np.int16(7), np.int32(-2 ** 31), np.int64(2 ** 63 - 1), np.uint8(255),
    np.uint16(1), np.uint32(2 ** 32 - 1), np.uint64(2 ** 64 - 1), np.float16(0.1), np.float32(1.5),
    np.float32(0.1), np.float64(0.1), np.float64("inf"), np.complex64(1 + 2j), np.complex128(0.1 - 1e300j)])
def test_numpy_scalars_keep_their_type_and_value(value):
    out = roundtrip({"v": value})["v"]
    assert type(out) is type(value) and out.dtype == value.dtype and out == value


def test_scheduler_state_dict_with_counter_milestones_round_trips():
    def make():
        opt = optim.SGD([nn.Parameter(sg.zeros(1))], lr=1.0)
        return opt, optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4, 4], gamma=0.5)

    opt, sched = make()
    state = roundtrip(sched.state_dict())
    assert type(state["milestones"]) is type(sched.state_dict()["milestones"])
    opt2, sched2 = make()
    sched2.load_state_dict(state)
    with pytest.warns(UserWarning):  # (step(epoch) is deprecated; it uses the Counter's elements())
        sched2.step(4)
    assert opt2.param_groups[0]["lr"] == 0.125


def test_round_trip_types_as_torch():
    torch = pytest.importorskip("torch")
    from collections import Counter, defaultdict

    def torch_roundtrip(obj):
        buf = io.BytesIO()
        torch.save(obj, buf)
        buf.seek(0)
        return torch.load(buf, weights_only=False)  # (defaultdict, frozenset, NumPy scalars need it)

    values = [Counter({3: 1, 5: 2}), defaultdict(list, {"a": [1]}), defaultdict(None, {1: 2}), {1, 2},
              frozenset({3}), b"\x00ab", bytearray(b"xy"), 1 + 2j, OrderedDict(a=1), np.float32(1.5), np.int64(3),
              np.bool_(True), np.complex64(1j)]
    for v in values:
        ours, theirs = roundtrip(v), torch_roundtrip(v)
        assert type(ours) is type(theirs) is type(v) and ours == theirs == v
        if isinstance(v, defaultdict):
            assert ours.default_factory is theirs.default_factory
    assert repr(roundtrip(sg.Size([2, 3]))) == repr(torch_roundtrip(torch.Size([2, 3]))) == "torch.Size([2, 3])"


def test_unsupported_values_are_refused_clearly_when_saving():
    from collections import defaultdict

    with pytest.raises(TypeError, match=r"defaultdict whose default_factory is <function .*lambda.*run it when "
                                        r"loaded"):
        save(defaultdict(lambda: 0), io.BytesIO())

    def make():
        return 0

    make.__name__ = "int"  # a look-alike of an allowed factory is refused too
    with pytest.raises(TypeError, match="default_factory"):
        save(defaultdict(make), io.BytesIO())
    with pytest.raises(TypeError, match="NumPy scalar of type longdouble"):
        save(np.longdouble(1), io.BytesIO())
    for value in (slice(1, 2), range(3), np.zeros(2), Ellipsis):
        with pytest.raises(TypeError, match="cannot store an object of type"):
            save([value], io.BytesIO())


def test_version_1_manifests_for_plain_objects():
    """Objects that version-1 readers understand are written as version 1; the new tags need version 2."""
    def version(obj):
        with zipfile.ZipFile(io.BytesIO(_saved(obj))) as z:
            return json.loads(z.read("srcgrad_manifest.json"))["version"]

    assert version({"a": [sg.ones(2).t(), 1.5, OrderedDict()]}) == 1
    assert version({"a": [1, {2}]}) == 2 and version(np.float32(1)) == 2 and version(sg.Size([1])) == 2


# ---------------------------------------------------------------------------
# strides


VIEWS = {"x[::2]": lambda x: x[::2], "x.t()": lambda x: x.t(), "x[:, 1:3]": lambda x: x[:, 1:3],
         "x.expand(2, 3, 4)": lambda x: x.expand(2, 3, 4), "x[:, :1]": lambda x: x[:, :1],
         "x.reshape(2, 6)[:, ::3]": lambda x: x.reshape(2, 6)[:, ::3], "x": lambda x: x}


@pytest.mark.parametrize("view", list(VIEWS))
def test_views_keep_their_strides(view):
    t = VIEWS[view](sg.arange(12.0).reshape(3, 4))
    stride, contiguous = t.stride(), t.is_contiguous()  # (before saving computes t)
    out = roundtrip({"t": t})["t"]
    assert out.tolist() == t.tolist() and out.stride() == stride and out.is_contiguous() == contiguous
    assert out.contiguous().is_contiguous() and out.contiguous().tolist() == t.tolist()


def test_views_keep_their_strides_as_torch():
    torch = pytest.importorskip("torch")

    def loaded(lib, view):
        buf = io.BytesIO()
        lib.save(VIEWS[view](lib.arange(12.0).reshape(3, 4)), buf)
        buf.seek(0)
        return lib.load(buf)

    for view in VIEWS:
        ours, theirs = loaded(sg, view), loaded(torch, view)
        assert ours.stride() == theirs.stride() and ours.is_contiguous() == theirs.is_contiguous(), view
    for lib in (sg, torch):  # view() needs strides it can reuse, as for the saved tensor
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            loaded(lib, "x.t()").view(-1)


def test_loaded_parameter_keeps_saved_strides(tmp_path):
    path = tmp_path / "p.pt"
    entry = dict(TENSOR, shape=[4, 3], stride=[1, 4], parameter=True, requires_grad=True)
    _craft(path, _manifest(entry), {"tensors/0.npy": np.arange(12, dtype=np.float32).reshape(4, 3)})
    p = load(path)
    assert isinstance(p, nn.Parameter) and p.requires_grad and p.stride() == (1, 4) and not p.is_contiguous()
    assert p.tolist() == np.arange(12).reshape(4, 3).tolist()


@pytest.mark.parametrize("stride", [[1], [1, -4], [1, 4.0], "1,4", [1, True]])
def test_refuses_malformed_strides(tmp_path, stride):
    path = tmp_path / "s.pt"
    _craft(path, _manifest(dict(TENSOR, shape=[4, 3], stride=stride)),
           {"tensors/0.npy": np.zeros((4, 3), np.float32)})
    with pytest.raises(UnpicklingError, match="malformed tensor stride"):
        load(path)


@pytest.mark.parametrize("root,match", [
    ({"t": "defaultdict", "factory": "os.system", "items": []}, "unknown default factory 'os.system'"),
    ({"t": "defaultdict", "factory": "eval", "items": []}, "unknown default factory 'eval'"),
    ({"t": "defaultdict", "factory": ["int"], "items": []}, "unknown default factory"),
    ({"t": "counter", "items": [[{"t": "list", "items": []}, {"t": "int", "v": "1"}]]}, "unhashable dict key"),
    ({"t": "set", "items": [{"t": "set", "items": []}]}, "unhashable set member"),
    ({"t": "frozenset", "items": "ab"}, "malformed frozenset entry"),
    ({"t": "bytes", "v": "not base64!"}, "malformed bytes entry"),
    ({"t": "bytearray", "v": 3}, "malformed bytearray entry"),
    ({"t": "complex", "v": ["1", "x"]}, "bad float 'x'"),
    ({"t": "complex", "v": [1, 2]}, "malformed complex entry"),
    ({"t": "size", "v": [2, "3"]}, "malformed size entry"),
    ({"t": "size", "v": [True]}, "malformed size entry"),
    ({"t": "np", "dtype": "object", "v": "1"}, "unknown NumPy scalar type 'object'"),
    ({"t": "np", "dtype": "longdouble", "v": "1"}, "unknown NumPy scalar type"),
    ({"t": "np", "dtype": "int8", "v": "300"}, "out of range for NumPy int8"),
    ({"t": "np", "dtype": "uint8", "v": "-1"}, "out of range"),
    ({"t": "np", "dtype": "int64", "v": "1e3"}, "bad integer"),
    ({"t": "np", "dtype": "float32", "v": 1.5}, "malformed NumPy float32 entry"),
    ({"t": "np", "dtype": "bool", "v": "True"}, "malformed NumPy bool entry"),
    ({"t": "np", "dtype": "complex64", "v": ["1"]}, "malformed NumPy complex64 entry"),
])
def test_refuses_malformed_entries_of_the_newer_types(tmp_path, root, match):
    path = tmp_path / "bad.pt"
    _craft(path, dict(_manifest(root, n=0), version=2))
    with pytest.raises(UnpicklingError, match=match):
        load(path)


# ---------------------------------------------------------------------------
# errors as torch's


def test_unpickling_error_is_a_pickle_unpickling_error_and_a_runtime_error(tmp_path):
    assert issubclass(UnpicklingError, pickle.UnpicklingError) and issubclass(UnpicklingError, RuntimeError)
    path = tmp_path / "p.pkl"
    with open(path, "wb") as fh:
        pickle.dump({"a": 1}, fh)
    with pytest.raises(pickle.UnpicklingError, match="looks like a pickle"):
        load(path)
    with pytest.raises(RuntimeError, match="looks like a pickle"):
        load(path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_unpickling_error_as_torch(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "p.pkl"
    # torch raises pickle.UnpicklingError for pickle.dump's default protocol and RuntimeError ("Invalid
    # magic number") for protocol 2: srcgrad's error is both
    for protocol, error in ((pickle.DEFAULT_PROTOCOL, pickle.UnpicklingError), (2, RuntimeError)):
        with open(path, "wb") as fh:
            pickle.dump({"a": 1}, fh, protocol=protocol)
        for lib in (sg, torch):
            with pytest.raises(error):
                lib.load(path)


def test_saving_into_a_missing_directory(tmp_path, monkeypatch):
    missing = tmp_path / "nonexistent_dir"
    with pytest.raises(RuntimeError, match=f"^Parent directory {missing} does not exist.$"):
        save({}, missing / "x.pt")
    with pytest.raises(RuntimeError, match=f"^Parent directory {missing} does not exist.$"):
        save({}, str(missing / "x.pt"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError, match="^Parent directory a/b does not exist.$"):
        save({}, "a/b/x.pt")
    (tmp_path / "file").write_text("")
    with pytest.raises(RuntimeError, match="^Parent directory file does not exist.$"):
        save({}, "file/x.pt")
    assert not missing.exists()
    save({"a": 1}, "x.pt")  # no directory part: the current one
    assert load("x.pt") == {"a": 1}


def test_saving_into_a_missing_directory_as_torch(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    for path in (tmp_path / "nonexistent_dir" / "x.pt", "a/b/x.pt"):
        messages = [str(pytest.raises(RuntimeError, lib.save, {}, path).value) for lib in (sg, torch)]
        assert messages[0] == messages[1]


def test_loading_an_empty_stream_or_one_at_its_end(tmp_path):
    for weights_only, message in ((None, ""), (True, ""), (False, "Ran out of input")):
        buf = io.BytesIO()
        with pytest.raises(EOFError) as info:
            load(buf, weights_only=weights_only)
        assert str(info.value) == message
        save({"a": 1}, buf)  # at its end, not rewound
        with pytest.raises(EOFError) as info:
            load(buf, weights_only=weights_only)
        assert str(info.value) == message
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(EOFError):
        load(tmp_path / "empty.pt")


def test_loading_an_empty_stream_as_torch(tmp_path):
    torch = pytest.importorskip("torch")
    (tmp_path / "empty.pt").write_bytes(b"")
    for kw in ({}, {"weights_only": True}, {"weights_only": False}):
        for source in (io.BytesIO, lambda: tmp_path / "empty.pt"):
            messages = [str(pytest.raises(EOFError, lib.load, source(), **kw).value) for lib in (sg, torch)]
            assert messages[0] == messages[1], kw


@pytest.fixture
def clean_safe_globals():
    from srcgrad import serialization

    serialization.clear_safe_globals()
    yield serialization
    serialization.clear_safe_globals()


def test_safe_globals_are_recorded(clean_safe_globals):
    serialization = clean_safe_globals
    assert sg.serialization is serialization and serialization.get_safe_globals() == []
    serialization.add_safe_globals([OrderedDict, (np.float32, "numpy.float32")])
    serialization.add_safe_globals([OrderedDict])
    assert sorted(map(repr, serialization.get_safe_globals())) == sorted(
        map(repr, [OrderedDict, (np.float32, "numpy.float32")]))
    with serialization.safe_globals([set]) as entered:
        assert entered is None and set in serialization.get_safe_globals()
        assert roundtrip({1}) == {1}  # (nothing consults the list: srcgrad never unpickles)
    assert set not in serialization.get_safe_globals() and OrderedDict in serialization.get_safe_globals()
    serialization.clear_safe_globals()
    assert serialization.get_safe_globals() == []


def test_safe_globals_as_torch(clean_safe_globals):
    torch = pytest.importorskip("torch")
    saved = torch.serialization.get_safe_globals()
    try:
        for ser in (clean_safe_globals, torch.serialization):
            ser.clear_safe_globals()
            ser.add_safe_globals([int, int, (float, "builtins.float")])
            with ser.safe_globals([set]):
                inside = sorted(map(repr, ser.get_safe_globals()))
            after = sorted(map(repr, ser.get_safe_globals()))
            if ser is clean_safe_globals:
                ours = inside, after
        assert ours == (inside, after)
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(saved)


def test_saving_a_whole_module_says_to_save_its_state_dict(tmp_path):
    path = tmp_path / "model.pth"
    with pytest.raises(TypeError, match=r"Save its state instead: srcgrad.save\(obj.state_dict\(\), path\)"):
        save(nn.Linear(2, 2), path)
    assert not path.exists()
