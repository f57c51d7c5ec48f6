"""A tour of srcgrad: the four seed tutorials, then the generated backward of one of them.

Run: python examples/tour.py
"""
import pathlib
import runpy

import srcgrad as torch

here = pathlib.Path(__file__).resolve().parent
for seed in sorted((here / "seeds").glob("seed*.py")):
    print(f"=== {seed.stem} " + "=" * (60 - len(seed.stem)))
    runpy.run_path(str(seed), run_name="__main__")

print("=== what srcgrad compiled for out.backward() " + "=" * 20)
x = torch.ones(2, 2, requires_grad=True)
y = x + 2
z = y * y * 3
out = z.mean()
out.backward()
print(torch._CACHE.history[-1].source)
info = torch.cache_info()
print(f"programs compiled: {info['misses']}, cache hits: {info['hits']}, "
      f"compile time: {info['compile_s']:.2f} s")
