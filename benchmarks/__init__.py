"""srcgrad's benchmark suite: srcgrad against JAX, PyTorch and HIPS autograd, side by side.

Run ``python -m benchmarks`` (``--quick`` for a short run, ``--help`` for the
options). Every case runs each available system on identical float32 inputs
and reports medians and the ratio of each system to ``jax.jit`` of
``jax.value_and_grad`` of the same function, the floor srcgrad aims at.
"""
