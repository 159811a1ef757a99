"""W2's MLP step on an NVIDIA GPU: tapegrad on CuPy against PyTorch on CUDA, side by side.

The network, loss and SGD step are W2's (784-512-512-10, ReLU, mean softmax cross-entropy, lr 0.01),
at W2's batch of 128 and at 4096. Each implementation's first step is checked against the float64
reference on the host; then the two alternate, each sample ``inner`` steps followed by a device
synchronisation, and the table gives the median ms per step and the median of per-round ratios.
Not part of the CPU table (which has no GPU); it needs CuPy, a CUDA build of PyTorch and a GPU, and
says "not measured: no GPU lent" without them. The CPU table's W2 carries issue 15's compiled GPU
targets as rows (``compiled_gpu_rows``) that say the same, so they are never silently missing.

    python -m benchmarks.gpu_mlp [rounds]
    python -m benchmarks.gpu_mlp --profile     (where tapegrad's host time goes, batch 128)
"""
from __future__ import annotations

import statistics
import sys
import time

from . import w2_mlp
from ._harness import COMPILED, Row, WrongResult

# 4096, not 8192: with these inputs a few pre-activations at 2048 and 8192 lie within float32 rounding of
# zero, so their ReLU masks differ from float64's and even the hand-written NumPy step fails the check.
BATCHES = (128, 4096)


#: Issue 15's compiled GPU targets: (layer sizes, batch, ratio to PyTorch eager on CUDA). The first
#: replays the step as a CUDA graph, the second is large enough that kernels, not launches, dominate.
COMPILED_TARGETS = (((784, 512, 512, 10), 128, 0.5, "CUDA graph"), ((784, 4096, 4096, 10), 4096, 1.0, ""))
NO_GPU = "not measured: no GPU lent"


def gpu_absent() -> str | None:
    """Why there is no GPU to measure on (None when CuPy sees one)."""
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed (`pip install cupy-cuda12x`)"
    try:
        n = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as e:  # no driver, no device: CuPy raises its own CUDA errors
        return f"CuPy sees no GPU ({type(e).__name__}: {e})"
    return None if n > 0 else "CuPy sees no GPU"


def compiled_gpu_rows() -> list[Row]:
    """The compiled GPU rows of the CPU table, never silently missing: without a GPU each says
    ``not measured: no GPU lent``; with one, that the suite has no compiled GPU measurement yet
    (``python -m benchmarks.gpu_mlp`` times the eager step only)."""
    why = gpu_absent()
    rows = []
    for sizes, batch, ratio, how in COMPILED_TARGETS:
        measure = (f"GPU ms per SGD step, {'-'.join(map(str, sizes))}, batch {batch}, compiled"
                   + (f" ({how})" if how else ""))
        status = NO_GPU if why else "not measured: the suite has no compiled GPU step yet"
        rows.append(Row(w2_mlp.ID, measure, impl=COMPILED, base="PyTorch eager CUDA",
                        target=f"≤ {ratio:.1f}× PyTorch eager CUDA", status=status,
                        note=(f"{why}; `python -m benchmarks.gpu_mlp` times the eager GPU step where there is one"
                              if why and not rows else "")))
    return rows


def _timed(step, sync, inner: int) -> float:
    sync()
    t0 = time.perf_counter()
    for _ in range(inner):
        step()
    sync()
    return (time.perf_counter() - t0) / inner


def measure(batch: int, rounds: int) -> dict:
    """Seconds per step, one per round, for tapegrad and PyTorch at this batch size."""
    import cupy
    import torch

    from tapegrad import npx
    params, X, y = w2_mlp.inputs(batch=batch)
    ref = w2_mlp.reference(params, X, y)
    steps = {"tapegrad": (w2_mlp.tapegrad_step(params, X, y, ctx=npx.gpu(0)), cupy.cuda.Device().synchronize),
             "torch": (w2_mlp.torch_step(torch, params, X, y, device="cuda"), torch.cuda.synchronize)}
    for label, (step, _) in steps.items():
        w2_mlp.verify(f"{label} (GPU, batch {batch})", step, ref)  # the first step, from the same parameters
    inner = {}
    for label, (step, sync) in steps.items():
        for _ in range(3):
            step()
        t = _timed(step, sync, 5)
        inner[label] = max(5, int(0.1 / t))
    times = {label: [] for label in steps}
    for _ in range(rounds):
        for label, (step, sync) in steps.items():
            times[label].append(_timed(step, sync, inner[label]))
    return times


def profile(batch: int = 128, steps: int = 200) -> None:
    """cProfile of tapegrad's GPU step: where the host time goes (top 25 functions by own time)."""
    import cProfile
    import pstats

    import cupy

    from tapegrad import npx
    params, X, y = w2_mlp.inputs(batch=batch)
    step = w2_mlp.tapegrad_step(params, X, y, ctx=npx.gpu(0))
    for _ in range(5):
        step()
    cupy.cuda.Device().synchronize()
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(steps):
        step()
    cupy.cuda.Device().synchronize()
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(25)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--profile"]:
        profile()
        return 0
    rounds = int(argv[0]) if argv else 10
    why = gpu_absent()
    if why:
        print(f"{NO_GPU}: {why}", file=sys.stderr)
        return 0
    import cupy
    import torch
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    print(f"GPU: {name.decode() if isinstance(name, bytes) else name}; CuPy {cupy.__version__}, "
          f"PyTorch {torch.__version__}; {rounds} alternating rounds\n")
    print("| batch | tapegrad ms/step (min–max) | PyTorch ms/step (min–max) | tapegrad / PyTorch |")
    print("|---|---|---|---|")
    for batch in BATCHES:
        try:
            t = measure(batch, rounds)
        except WrongResult as e:
            print(f"| {batch} | WRONG: {e} | | |")
            continue
        tg, pt = ([v * 1e3 for v in t[k]] for k in ("tapegrad", "torch"))
        ratio = statistics.median(a / b for a, b in zip(tg, pt))
        print(f"| {batch} | {statistics.median(tg):.3f} ({min(tg):.3f}–{max(tg):.3f}) | "
              f"{statistics.median(pt):.3f} ({min(pt):.3f}–{max(pt):.3f}) | {ratio:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
