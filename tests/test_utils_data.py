"""srcgrad.utils.data: datasets, samplers, DataLoader and collation (PyTorch's behaviour).

Most tests stand alone; those named ``*_matches_torch`` compare with PyTorch when it is
installed and are skipped otherwise.
"""

from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest

import srcgrad
from srcgrad import nn, optim
from srcgrad.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

Point = collections.namedtuple("Point", "x y")


def _ids(n: int = 10) -> TensorDataset:
    """Sample i is (tensor([i, 10 * i]) as float32, tensor(i) as int64)."""
    ids = np.arange(n)
    return TensorDataset(srcgrad.tensor(np.stack([ids, 10 * ids], 1).astype(np.float32)), srcgrad.tensor(ids))


def _order(loader: DataLoader) -> list[int]:
    return [i for _, y in loader for i in y.tolist()]


class Stream(IterableDataset):
    def __init__(self, n: int, with_len: bool = True) -> None:
        self.n, self.with_len = n, with_len

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self) -> int:
        if not self.with_len:
            raise TypeError("no len")
        return self.n


class Squares(Dataset):
    def __getitem__(self, i: int) -> dict:
        return {"x": float(i), "y": i * i, "name": f"s{i}", "arr": np.full(2, i, np.float32)}

    def __len__(self) -> int:
        return 6


# ---------------------------------------------------------------------------------------
# datasets


def test_tensor_dataset() -> None:
    ds = _ids(5)
    assert len(ds) == 5
    x, y = ds[3]
    assert x.tolist() == [3.0, 30.0] and y.item() == 3 and y.dtype == srcgrad.int64
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(srcgrad.ones(3, 2), srcgrad.ones(4))


def test_dataset_base_add_and_concat() -> None:
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        Dataset()[0]
    a, b = _ids(3), Squares()
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 9 and cat.cumulative_sizes == [3, 9]
    assert cat[2][1].item() == 2 and cat[3]["y"] == 0 and cat[8]["y"] == 25 and cat[-1]["y"] == 25
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        cat[-10]
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        ConcatDataset([a, Stream(3)])
    with pytest.raises(AssertionError, match="should not be an empty iterable"):
        ConcatDataset([])
    chain = Stream(2) + Stream(3)
    assert isinstance(chain, ChainDataset) and list(chain) == [0, 1, 0, 1, 2] and len(chain) == 5


def test_subset_and_stack_dataset() -> None:
    sub = Subset(Squares(), [5, 1, 3])
    assert len(sub) == 3 and sub[0]["y"] == 25 and [s["y"] for s in sub.__getitems__([2, 1])] == [9, 1]

    class Bad(Subset):
        def __getitem__(self, i):
            return 0

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Bad(Squares(), [0])
    st = StackDataset(Squares(), _ids(6))
    assert st[2][0]["y"] == 4 and st[2][1][1].item() == 2
    assert StackDataset(a=Squares(), b=Squares()).__getitems__([1, 2])[1]["b"]["y"] == 4
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset(Squares(), _ids(3))


def test_random_split_lengths_and_fractions() -> None:
    parts = random_split(range(10), [3, 7], generator=srcgrad.Generator().manual_seed(42))
    assert [len(p) for p in parts] == [3, 7]
    seen = [i for p in parts for i in p]
    assert sorted(seen) == list(range(10))
    again = random_split(range(10), [3, 7], generator=srcgrad.Generator().manual_seed(42))
    assert [list(p) for p in again] == [list(p) for p in parts]
    # fractions: floor(11 * f) = 3, 3, 4 (10); the remainder goes round robin from the first split
    assert [len(p) for p in random_split(range(11), [0.3, 0.3, 0.4])] == [4, 3, 4]
    assert [len(p) for p in random_split(range(30), [0.3, 0.3, 0.4])] == [9, 9, 12]
    with pytest.warns(UserWarning, match="Length of split at index") as rec:
        assert [len(p) for p in random_split(range(2), [0.6, 0.2, 0.2])] == [2, 0, 0]
    assert [str(w.message) for w in rec] == [f"Length of split at index {i} is 0. This might result in an empty "
                                             "dataset." for i in (1, 2)]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(10), [3, 6])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(range(10), [0.5, 1.5, -1.0])


def test_random_split_default_generator_is_seeded() -> None:
    srcgrad.manual_seed(3)
    a = [list(p) for p in random_split(range(20), [0.5, 0.5])]
    srcgrad.manual_seed(3)
    b = [list(p) for p in random_split(range(20), [0.5, 0.5])]
    assert a == b and a[0] != list(range(10))


# ---------------------------------------------------------------------------------------
# samplers


def test_sequential_and_random_sampler() -> None:
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3] and len(SequentialSampler(range(4))) == 4
    s = RandomSampler(range(50))
    e1, e2 = list(s), list(s)
    assert sorted(e1) == sorted(e2) == list(range(50)) and e1 != e2 and len(s) == 50
    srcgrad.manual_seed(7)
    a = list(RandomSampler(range(50)))
    srcgrad.manual_seed(7)
    assert list(RandomSampler(range(50))) == a
    g1, g2 = srcgrad.Generator().manual_seed(1), srcgrad.Generator().manual_seed(1)
    assert list(RandomSampler(range(50), generator=g1)) == list(RandomSampler(range(50), generator=g2))


def test_random_sampler_num_samples_and_replacement() -> None:
    s = RandomSampler(range(4), num_samples=10)
    out = list(s)
    assert len(out) == 10 == len(s)
    assert sorted(out[:4]) == sorted(out[4:8]) == [0, 1, 2, 3]  # whole permutations, then a part of one
    r = list(RandomSampler(range(3), replacement=True, num_samples=300))
    assert len(r) == 300 and set(r) == {0, 1, 2}
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler([])


def test_subset_random_sampler() -> None:
    s = SubsetRandomSampler([10, 20, 30, 40], generator=srcgrad.Generator().manual_seed(0))
    assert sorted(s) == [10, 20, 30, 40] and len(s) == 4


def test_weighted_random_sampler_frequencies() -> None:
    w = [1.0, 2.0, 0.0, 7.0]
    draws = np.array(list(WeightedRandomSampler(w, 20000, generator=srcgrad.Generator().manual_seed(0))))
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.0, 0.7], atol=0.015)
    assert freq[2] == 0
    no_rep = list(WeightedRandomSampler([1, 1, 1, 1, 1], 5, replacement=False))
    assert sorted(no_rep) == [0, 1, 2, 3, 4]
    # without replacement the heavy index comes first most of the time
    firsts = [list(WeightedRandomSampler([1, 100, 1], 2, replacement=False))[0] for _ in range(20)]
    assert firsts.count(1) >= 17
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        WeightedRandomSampler(w, 0)
    with pytest.raises(ValueError, match="replacement should be a boolean value"):
        WeightedRandomSampler(w, 3, replacement=None)
    with pytest.raises(ValueError, match=r"weights should be a 1d sequence but given weights have shape \(2, 2\)"):
        WeightedRandomSampler([[1, 2], [3, 4]], 3)
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        list(WeightedRandomSampler([1, 2], 3, replacement=False))
    with pytest.raises(RuntimeError, match="sum of probabilities <= 0"):
        list(WeightedRandomSampler([0, 0], 3))


def test_batch_sampler() -> None:
    assert list(BatchSampler(SequentialSampler(range(10)), 3, False)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert list(BatchSampler(range(10), 3, True)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(BatchSampler(range(10), 3, False)) == 4 and len(BatchSampler(range(10), 3, True)) == 3
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        BatchSampler(range(3), 2, 0)


# ---------------------------------------------------------------------------------------
# collation


def test_default_collate_rules() -> None:
    t = default_collate([srcgrad.ones(2, 3), srcgrad.zeros(2, 3)])
    assert t.shape == (2, 2, 3) and t.sum().item() == 6
    f = default_collate([0.5, 1.5])
    assert f.dtype == srcgrad.float64 and f.tolist() == [0.5, 1.5]
    i = default_collate([1, 2, 3])
    assert i.dtype == srcgrad.int64 and i.tolist() == [1, 2, 3]
    assert default_collate([True, False]).dtype == srcgrad.bool
    assert default_collate(["a", "b"]) == ["a", "b"]
    assert default_collate([np.float32(1), np.float32(2)]).dtype == srcgrad.float32
    assert default_collate([np.int32(1), np.int32(2)]).dtype == srcgrad.int32
    a = default_collate([np.arange(3, dtype=np.int16), np.arange(3, dtype=np.int16)])
    assert a.dtype == srcgrad.int16 and a.shape == (2, 3)
    d = default_collate([{"x": 1, "y": (1.0, "a")}, {"x": 2, "y": (2.0, "b")}])
    assert d["x"].tolist() == [1, 2] and d["y"][0].dtype == srcgrad.float64 and d["y"][1] == ("a", "b")
    p = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(p, Point) and p.x.tolist() == [1, 3] and p.y.dtype == srcgrad.float64
    tup = default_collate([(0, 1), (2, 3)])
    assert isinstance(tup, list) and [v.tolist() for v in tup] == [[0, 2], [1, 3]]


def test_default_collate_errors() -> None:
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got \[3\] at entry 0 "
                                           r"and \[4\] at entry 1"):
        default_collate([srcgrad.ones(3), srcgrad.ones(4)])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([np.ones(3), np.ones(4)])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="batch must contain tensors, numpy arrays, numbers, dicts or lists; found"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="found <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_default_convert() -> None:
    assert default_convert(3) == 3 and default_convert("s") == "s"
    t = default_convert(np.array([1, 2], dtype=np.int32))
    assert isinstance(t, srcgrad.Tensor) and t.dtype == srcgrad.int32
    conv = default_convert((np.zeros(2), 1))
    assert isinstance(conv, list) and isinstance(conv[0], srcgrad.Tensor) and conv[1] == 1
    p = default_convert(Point(np.array(0), "a"))
    assert isinstance(p, Point) and isinstance(p.x, srcgrad.Tensor)
    strs = np.array(["a", "b"])
    assert default_convert(strs) is strs


def test_collate_of_indexed_samples_is_one_gather() -> None:
    base = srcgrad.arange(20).reshape(10, 2)
    batch = default_collate([base[i] for i in (7, 2, 9)])
    assert batch._node.op == "index" and batch.tolist() == [[14, 15], [4, 5], [18, 19]]
    mixed = default_collate([base[1], srcgrad.tensor([0, 0])])
    assert mixed._node.op == "stack" and mixed.tolist() == [[2, 3], [0, 0]]
    w = srcgrad.ones(4, 2, requires_grad=True)
    stacked = default_collate([w[0], w[3]])
    assert stacked.grad_fn.name() == "StackBackward0"  # as PyTorch, when the data requires grad
    stacked.sum().backward()
    assert w.grad.tolist() == [[1, 1], [0, 0], [0, 0], [1, 1]]


def test_batches_compile_once() -> None:
    loader = DataLoader(_ids(40), batch_size=8, shuffle=True)
    for x, y in loader:
        (x.sum() + y.sum()).item()
    before = srcgrad.cache_info()["misses"]
    for x, y in loader:
        (x.sum() + y.sum()).item()
    assert srcgrad.cache_info()["misses"] == before


# ---------------------------------------------------------------------------------------
# DataLoader


def test_loader_batches_in_order() -> None:
    loader = DataLoader(_ids(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    x, y = batches[0]
    assert x.shape == (4, 2) and x.dtype == srcgrad.float32 and y.dtype == srcgrad.int64
    assert x.tolist() == [[0, 0], [1, 10], [2, 20], [3, 30]]
    assert batches[2][1].tolist() == [8, 9]
    dropped = DataLoader(_ids(10), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [b[1].tolist() for b in dropped] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    single = list(DataLoader(_ids(3)))
    assert single[1][0].shape == (1, 2) and single[1][1].tolist() == [1]


def test_loader_shuffle_each_sample_once_and_reproducible() -> None:
    loader = DataLoader(_ids(50), batch_size=8, shuffle=True)
    e1, e2 = _order(loader), _order(loader)
    assert sorted(e1) == sorted(e2) == list(range(50))
    assert e1 != e2 and e1 != list(range(50))
    srcgrad.manual_seed(11)
    a = _order(loader)
    srcgrad.manual_seed(11)
    assert _order(loader) == a
    ga = DataLoader(_ids(50), batch_size=8, shuffle=True, generator=srcgrad.Generator().manual_seed(5))
    gb = DataLoader(_ids(50), batch_size=8, shuffle=True, generator=srcgrad.Generator().manual_seed(5))
    assert _order(ga) == _order(gb)
    assert _order(ga) != _order(DataLoader(_ids(50), batch_size=8, shuffle=True,
                                           generator=srcgrad.Generator().manual_seed(6)))


def test_loader_shuffle_drop_last() -> None:
    loader = DataLoader(_ids(50), batch_size=8, shuffle=True, drop_last=True)
    order = _order(loader)
    assert len(loader) == 6 and len(order) == 48 and len(set(order)) == 48


def test_loader_samplers_and_collate_fn() -> None:
    loader = DataLoader(_ids(10), batch_size=3, sampler=[9, 8, 7, 6])
    assert _order(loader) == [9, 8, 7, 6] and len(loader) == 2
    bs = DataLoader(_ids(10), batch_sampler=[[1, 2], [5], [0, 3, 4]])
    assert [b[1].tolist() for b in bs] == [[1, 2], [5], [0, 3, 4]] and bs.batch_size is None
    raw = DataLoader(_ids(4), batch_size=2, collate_fn=lambda samples: samples)
    first = next(iter(raw))
    assert isinstance(first, list) and len(first) == 2 and first[1][1].item() == 1
    sub = DataLoader(Subset(_ids(10), [4, 2, 8]), batch_size=2)
    assert _order(sub) == [4, 2, 8]


def test_loader_without_batching() -> None:
    loader = DataLoader(_ids(3), batch_size=None)
    items = list(loader)
    assert len(loader) == 3 and isinstance(items[0], list)  # default_convert: tuples become lists
    assert items[2][0].shape == (2,) and items[2][1].item() == 2
    nums = list(DataLoader(Squares(), batch_size=None))
    assert nums[3]["y"] == 9 and isinstance(nums[3]["arr"], srcgrad.Tensor)


def test_loader_dict_samples() -> None:
    b = next(iter(DataLoader(Squares(), batch_size=4)))
    assert b["x"].dtype == srcgrad.float64 and b["y"].tolist() == [0, 1, 4, 9]
    assert b["name"] == ["s0", "s1", "s2", "s3"] and b["arr"].shape == (4, 2) and b["arr"].dtype == srcgrad.float32


def test_loader_iterable_dataset() -> None:
    loader = DataLoader(Stream(10), batch_size=4)
    assert len(loader) == 3 and [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    dropped = DataLoader(Stream(10), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [b.tolist() for b in dropped] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]
    assert [b.tolist() for b in DataLoader(Stream(3, with_len=False), batch_size=2)] == [[0, 1], [2]]
    with pytest.raises(ValueError, match="expected unspecified shuffle option, but got shuffle=True"):
        DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        DataLoader(Stream(3), sampler=[0])
    with pytest.raises(ValueError, match="expected unspecified batch_sampler option"):
        DataLoader(Stream(3), batch_sampler=[[0]])


def test_loader_argument_errors() -> None:
    ds = _ids(4)
    cases = [
        (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
        (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive with batch_size"),
        (dict(batch_sampler=[[0]], drop_last=True), "mutually exclusive with batch_size, shuffle, sampler, and "
                                                    "drop_last"),
        (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching"),
        (dict(num_workers=-1), "num_workers option should be non-negative"),
        (dict(timeout=-1), "timeout option should be non-negative"),
        (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiprocessing"),
        (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
        (dict(batch_size=0), "batch_size should be a positive integer value"),
    ]
    for kwargs, msg in cases:
        with pytest.raises(ValueError, match=msg):
            DataLoader(ds, **kwargs)
    loader = DataLoader(ds)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 3
    with pytest.raises(AssertionError, match="requires timeout == 0"):
        iter(DataLoader(ds, timeout=5))
    with pytest.raises(TypeError, match="must be a srcgrad.Generator"):
        DataLoader(ds, generator=np.random.default_rng(0))
    if not srcgrad.cuda.is_available():
        with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator is found"):
            assert len(list(DataLoader(ds, batch_size=2, pin_memory=True))) == 2


def test_loader_workers_run_in_process() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calls = []
        srcgrad.manual_seed(2)
        multi = _order(DataLoader(_ids(30), batch_size=4, shuffle=True, num_workers=3, persistent_workers=True,
                                  worker_init_fn=calls.append))
    srcgrad.manual_seed(2)
    assert multi == _order(DataLoader(_ids(30), batch_size=4, shuffle=True)) and calls == []

    class Sharded(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            assert info is None
            return iter(range(5))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [b.tolist() for b in DataLoader(Sharded(), batch_size=2, num_workers=2)] == [[0, 1], [2, 3], [4]]
    assert get_worker_info() is None


def test_custom_sampler_subclass() -> None:
    class Reverse(Sampler[int]):
        def __init__(self, n: int) -> None:
            self.n = n

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

        def __len__(self) -> int:
            return self.n

    loader = DataLoader(_ids(5), batch_size=2, sampler=Reverse(5))
    assert _order(loader) == [4, 3, 2, 1, 0] and len(loader) == 3


# ---------------------------------------------------------------------------------------
# a tutorial training loop, eager and compiled


def _problem() -> tuple[TensorDataset, srcgrad.Tensor, srcgrad.Tensor]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    xt, yt = srcgrad.from_numpy(x), srcgrad.from_numpy(y)
    return TensorDataset(xt, yt), xt, yt


def _accuracy(model: nn.Module, x: srcgrad.Tensor, y: srcgrad.Tensor) -> float:
    with srcgrad.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


@pytest.mark.parametrize("compiled", [False, True])
def test_training_loop(compiled: bool) -> None:
    srcgrad.manual_seed(0)
    ds, x, y = _problem()
    loader = DataLoader(ds, batch_size=64, shuffle=True)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.5)

    def train_step(xb: srcgrad.Tensor, yb: srcgrad.Tensor) -> srcgrad.Tensor:
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    step = srcgrad.compile(train_step) if compiled else train_step
    before = _accuracy(model, x, y)
    losses = []
    for _epoch in range(4):
        total, seen = 0.0, 0
        for xb, yb in loader:
            assert xb.shape[1:] == (4,) and yb.dtype == srcgrad.int64
            total += step(xb, yb).item() * len(yb)
            seen += len(yb)
        assert seen == 512
        losses.append(total / seen)
    assert losses[-1] < 0.5 * losses[0]
    assert _accuracy(model, x, y) > max(0.9, before)


# ---------------------------------------------------------------------------------------
# against PyTorch


def _plain(v):
    """Batches of either library as nested Python values with dtype names."""
    if hasattr(v, "numpy") and hasattr(v, "dtype"):
        return ("T", str(v.dtype).split(".")[-1], tuple(v.shape), np.asarray(v.numpy()).tolist())
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, [_plain(x) for x in v])
    return (type(v).__name__, v)


def test_default_collate_matches_torch() -> None:
    torch_data = pytest.importorskip("torch.utils.data")
    cases = [[0, 1, 2], [0.5, 1.5], [True, False], ["a", "b"], [b"x", b"y"],
             [np.float32(1), np.float32(2)], [np.int32(1), np.int32(2)], [np.float64(1.5), np.float64(2)],
             [np.array([1.0, 2.0]), np.array([3.0, 4.0])], [np.arange(3, dtype=np.int16)] * 2,
             [{"x": 1, "y": [1.0, 2.0]}, {"x": 2, "y": [3.0, 4.0]}], [Point(1, 2.0), Point(3, 4.0)],
             [(1, "a"), (2, "b")], [[1, 2], [3, 4]]]
    for batch in cases:
        assert _plain(default_collate(batch)) == _plain(torch_data.default_collate(batch)), batch
        assert _plain(default_convert(batch[0])) == _plain(torch_data.default_convert(batch[0])), batch


def test_loader_batches_match_torch() -> None:
    torch = pytest.importorskip("torch")
    from torch.utils import data as td
    ids = np.arange(11)
    x = np.stack([ids, 10 * ids], 1).astype(np.float32)
    mine = TensorDataset(srcgrad.from_numpy(x), srcgrad.from_numpy(ids))
    theirs = td.TensorDataset(torch.from_numpy(x), torch.from_numpy(ids))
    configs = [dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=None), dict(),
               dict(batch_size=3, sampler=[10, 0, 5, 1]), dict(batch_sampler=[[3, 1], [7]])]
    for kw in configs:
        a, b = DataLoader(mine, **kw), td.DataLoader(theirs, **kw)
        assert len(a) == len(b), kw
        assert [_plain(v) for v in a] == [_plain(v) for v in b], kw
    for kw in [dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=None)]:
        a, b = DataLoader(Stream(10), **kw), td.DataLoader(_TorchStream(td, 10), **kw)
        assert len(a) == len(b) and [_plain(v) for v in a] == [_plain(v) for v in b], kw
    for kw in [dict(batch_size=2), dict(batch_size=None)]:
        a, b = DataLoader(Squares(), **kw), td.DataLoader(_TorchSquares(td), **kw)
        assert [_plain(v) for v in a] == [_plain(v) for v in b], kw


def _TorchStream(td, n):  # noqa: N802 - a class made with PyTorch's base
    class S(td.IterableDataset):
        def __iter__(self):
            return iter(range(n))

        def __len__(self):
            return n
    return S()


def _TorchSquares(td):  # noqa: N802
    class S(td.Dataset):
        __getitem__ = Squares.__getitem__
        __len__ = Squares.__len__
    return S()


def test_errors_and_split_sizes_match_torch() -> None:
    torch = pytest.importorskip("torch")
    from torch.utils import data as td
    mine, theirs = _ids(4), td.TensorDataset(torch.zeros(4, 2), torch.arange(4))
    for kw in [dict(sampler=[0, 1], shuffle=True), dict(batch_sampler=[[0]], batch_size=2),
               dict(batch_size=None, drop_last=True), dict(num_workers=-1), dict(prefetch_factor=2),
               dict(persistent_workers=True)]:
        with pytest.raises(ValueError) as want:
            td.DataLoader(theirs, **kw)
        with pytest.raises(ValueError) as got:
            DataLoader(mine, **kw)
        assert str(got.value) == str(want.value), kw
    for n, fracs in [(11, [0.3, 0.3, 0.4]), (10, [0.5, 0.5]), (7, [0.1, 0.2, 0.7]), (100, [0.33, 0.33, 0.34])]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want_sizes = [len(p) for p in td.random_split(range(n), fracs)]
            assert [len(p) for p in random_split(range(n), fracs)] == want_sizes, (n, fracs)
    assert list(BatchSampler(range(10), 4, False)) == list(td.BatchSampler(range(10), 4, False))


def test_collate_helpers_at_pytorchs_path() -> None:
    # (ported data pipelines import them from torch.utils.data._utils.collate)
    from srcgrad.utils.data._utils.collate import collate, default_collate_fn_map
    from srcgrad.utils.data._utils.collate import default_collate as deep

    assert deep is default_collate
    out = collate([{"a": 1}, {"a": 2}], collate_fn_map=default_collate_fn_map)
    assert out["a"].tolist() == [1, 2]
