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
