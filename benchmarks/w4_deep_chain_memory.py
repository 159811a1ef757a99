"""W4 deep chain memory: W1's op cycle, 500 ops on 1,000,000 float32 values, then backward.

Metrics: the peak resident memory the forward + backward adds, against the ideal, and seconds.

**The ideal** is what a minimal tape must keep until the backward uses it: the distinct
intermediates that some op's gradient needs. In the cycle multiply-by-2.8, add 0.1, sin, exp,
tanh, square, the multiply and the add need nothing (their factor is a constant), sin needs its
input, exp and tanh their outputs, square its input (which is tanh's output, already kept): three
distinct arrays of 4 MB (1,000,000 float32) per six ops, 249 for 500 ops, 996 MB. ``ideal_arrays``
counts them from the cycle. Input x is the user's and is not counted; the gradient, the incoming
cotangent and the temporaries of each backward step are not in the ideal either, so the 5 %
allowance of the target (50 MB) is what they may take.

**The method.** Each measurement runs in a fresh subprocess (``python -m
benchmarks.w4_deep_chain_memory --child IMPL``), so no earlier workload's heap or cache is in the
number. The child imports everything, runs the chain once on 1,000 values (first-call costs), makes
x (and, for tapegrad, attaches its gradient buffer), collects garbage, and then:

1. reads its resident set size from ``/proc/self/statm`` and resets the kernel's peak-RSS mark
   (``VmHWM``) by writing 5 to ``/proc/self/clear_refs``; where that is not possible it falls back
   to ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the peak since the process started, which is
   still right when the chain's peak is the highest the process reached (it is, by far);
2. runs forward + backward once, timed with ``perf_counter``;
3. reads ``VmHWM`` again: peak RSS added = peak - RSS before.

Then, in the first round only, it runs the chain again under ``tracemalloc``: NumPy reports each
array buffer it allocates to tracemalloc, so the traced peak (minus the traced size before) counts
exactly the bytes of live arrays and Python objects, without the allocator's slack. PyTorch's
allocator does not report to tracemalloc: for it the first round counts instead the bytes of the
distinct tensors its autograd saves (``saved_tensors_hooks``), so its tape can be told apart from its
allocator's slack. Finally
the child checks its gradient against float64 on 2,000 sampled entries (the chain is elementwise,
so a sample is an exact check) and prints one JSON line. The parent runs the children A B C A B C.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any, Callable

import numpy

from . import w1_small_ops
from ._harness import COMPILED, EAGER_MARK, Ctx, Row, WrongResult, check_close, replay_report, to_numpy

ID = "W4"
N_OPS = 500
SIZE = 1_000_000
TINY = {"n_ops": 60, "size": 1000}
MB = 1e6
#: What each op of the cycle keeps for its gradient: "in", "out" or nothing.
SAVES = ("", "", "in", "out", "out", "in")


def ideal_arrays(n_ops: int = N_OPS) -> int:
    """How many distinct intermediate arrays a minimal tape keeps for the chain (x not counted)."""
    kept = set()
    for i in range(n_ops):
        what = SAVES[i % 6]
        if what == "in" and i > 0:
            kept.add(i - 1)  # the output of the op before
        elif what == "out":
            kept.add(i)
    return len(kept)


def ideal_bytes(n_ops: int = N_OPS, size: int = SIZE) -> int:
    return ideal_arrays(n_ops) * size * 4


def inputs(size: int = SIZE, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed).uniform(-1.0, 1.0, size).astype(numpy.float32)


# -- the implementations: setup returns a step computing the gradient ------------------------

def tapegrad_setup(x0: numpy.ndarray, n_ops: int) -> Callable[[], Any]:
    from tapegrad import autograd, np
    x = np.array(x0)
    x.attach_grad()

    def step() -> Any:
        with autograd.record():
            s = w1_small_ops.chain(x, n_ops, np).sum()
        s.backward()
        return x.grad
    return step


def compiled_setup(x0: numpy.ndarray, n_ops: int) -> Any:
    """``tapegrad_setup``'s step under ``tapegrad.compile``: the first call traces, later calls replay."""
    import tapegrad
    return tapegrad.compile(tapegrad_setup(x0, n_ops), fuse=False)


def kept_bytes(compiled: Any) -> int:
    """Bytes of the buffers a compiled function keeps between calls (``Program.prealloc_bytes`` of
    each signature's replay): memory it holds although no call is running, so part of its peak."""
    return sum(e.program.prealloc_bytes for e in compiled._entries.values() if e.program is not None)


def torch_setup(torch: Any, x0: numpy.ndarray, n_ops: int) -> Callable[[], Any]:
    x = torch.tensor(x0, requires_grad=True)

    def step() -> Any:
        x.grad = None
        w1_small_ops.chain(x, n_ops, torch).sum().backward()
        return x.grad
    return step


def numpy_setup(x0: numpy.ndarray, n_ops: int) -> Callable[[], Any]:
    x = x0.copy()
    return lambda: w1_small_ops.numpy_forward_backward(x, n_ops)[1]


def torch_saved_bytes(x0: numpy.ndarray, n_ops: int) -> int:
    """Bytes of the distinct tensors PyTorch's autograd saves for the chain (counted by storage
    through ``saved_tensors_hooks``): what its tape keeps, apart from the allocator's slack."""
    import torch
    x = torch.tensor(x0, requires_grad=True)
    seen: dict = {}

    def pack(t: Any) -> Any:
        st = t.untyped_storage()
        seen[st.data_ptr()] = st.nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        s = w1_small_ops.chain(x, n_ops, torch).sum()
    s.backward()
    return sum(seen.values()) - x0.nbytes * (x.untyped_storage().data_ptr() in seen)


def _setup(impl: str, x0: numpy.ndarray, n_ops: int) -> Callable[[], Any]:
    if impl == "tapegrad":
        return tapegrad_setup(x0, n_ops)
    if impl == "compiled":
        return compiled_setup(x0, n_ops)
    if impl == "torch":
        import torch
        return torch_setup(torch, x0, n_ops)
    return numpy_setup(x0, n_ops)


RTOL = 1e-3


def verify_sample(label: str, x0: numpy.ndarray, grad: Any, n_ops: int, k: int = 2000) -> None:
    """Check the gradient on ``k`` sampled entries against float64 (exact: the chain is elementwise)."""
    g = to_numpy(grad)
    idx = numpy.random.default_rng(1).choice(x0.size, size=min(k, x0.size), replace=False)
    _, ref = w1_small_ops.numpy_forward_backward(x0[idx].astype(numpy.float64), n_ops)
    check_close(f"{ID} {label} grad", g[idx], ref, RTOL)


def check(torch: Any = None, n_ops: int = N_OPS, size: int = 10_000) -> None:
    """Every implementation's gradient against float64 (at a small size: memory is not measured)."""
    x0 = inputs(size)
    steps = {"tapegrad": tapegrad_setup(x0, n_ops), "numpy": numpy_setup(x0, n_ops)}
    if torch is not None:
        steps["torch"] = torch_setup(torch, x0, n_ops)
    for label, step in steps.items():
        verify_sample(label, x0, step(), n_ops)
    check_compiled(n_ops, size)


def check_compiled(n_ops: int = N_OPS, size: int = 10_000) -> None:
    """The compiled step's gradient on its trace and two replays (the measurement's third call)."""
    x0 = inputs(size)
    compiled = compiled_setup(x0, n_ops)
    for i in range(3):
        verify_sample(f"{COMPILED} call {i + 1}", x0, compiled(), n_ops)


# -- the child process ---------------------------------------------------------------------------

def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak(reset_ok: bool) -> int:
    if reset_ok:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _trim() -> None:
    """Hand the C heap's free memory back to the system (glibc's ``malloc_trim``), so that the RSS
    read before the measurement holds no freed pages the measured call could reuse unseen; where
    there is no glibc this does nothing."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def child(impl: str, n_ops: int, size: int, threads: int, traced: bool) -> dict:
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
    except ImportError:
        pass  # the runner's environment variables already set the thread count
    if impl == "torch":
        import torch
        torch.set_num_threads(threads)
    warm = _setup(impl, inputs(1000), n_ops)  # first-call costs outside the measurement
    for _ in range(3 if impl == "compiled" else 1):
        warm()
    x0 = inputs(size)
    step = _setup(impl, x0, n_ops)
    if impl == "compiled":
        # the trace (an eager call, with its tape) and a first replay, outside the measurement: the
        # replay's kept buffers are then resident before it, and are added back as kept_bytes below
        step()
        step()
    del warm
    gc.collect()
    _trim()
    before = _rss()
    reset_ok = _reset_peak()
    t0 = time.perf_counter()
    grad = step()
    seconds = time.perf_counter() - t0
    peak = _peak(reset_ok)
    out = {"impl": impl, "seconds": seconds, "rss_added": peak - before,
           "peak_source": "VmHWM after clear_refs" if reset_ok else "ru_maxrss"}
    if impl == "compiled":
        out["kept_bytes"] = kept_bytes(step)
    if traced and impl == "torch":
        out["saved_bytes"] = torch_saved_bytes(x0, n_ops)
    elif traced:
        import tracemalloc
        del grad
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        grad = step()
        out["traced_added"] = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    try:
        verify_sample(impl, x0, grad, n_ops)
        out["ok"] = True
    except WrongResult as e:
        out["ok"] = False
        out["error"] = str(e)
    if impl == "compiled":
        out["status"], _ = replay_report(step)
        out["note"] = (f"{COMPILED}: {out['status'] + '; ' if out['status'] else ''}{step.traces} trace(s), "
                       f"{step.replays} replay(s) in the child at {size:,} values, read from explain()")
    return out


def _spawn(impl: str, ctx: Ctx, traced: bool) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "benchmarks.w4_deep_chain_memory", "--child", impl, "--n-ops", str(N_OPS),
           "--size", str(SIZE), "--threads", str(ctx.threads)] + (["--traced"] if traced else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"W4 child {impl} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(ctx: Ctx) -> list[Row]:
    rounds = max(1, min(ctx.rounds, 3))
    m_rss = "peak RSS added, MB"
    m_c = "peak RSS added + buffers kept between calls, MB, compiled"
    n_ideal = ideal_arrays()
    ideal = ideal_bytes() / MB
    try:
        check(ctx.torch)
    except WrongResult as e:
        return [Row(ID, m_rss, base="ideal", status=f"wrong result: {e}")]
    impls = ["tapegrad", "compiled", "numpy"] + (["torch"] if ctx.torch is not None else [])
    res: dict[str, list[dict]] = {k: [] for k in impls}
    c_wrong = None
    for r in range(rounds):
        for impl in impls:
            if impl == "compiled" and c_wrong is not None:
                continue
            out = _spawn(impl, ctx, traced=(r == 0))
            if not out["ok"]:
                if impl != "compiled":
                    return [Row(ID, m_rss, base="ideal", status=f"wrong result: {out['error']}")]
                c_wrong = Row(ID, m_c, base="ideal", status=f"wrong result: {out['error']}")
                continue
            res[impl].append(out)
            ctx.log(f"  W4 round {r + 1}/{rounds} {impl}: {out['rss_added'] / MB:.0f} MB added"
                    + (f" + {out['kept_bytes'] / MB:.0f} MB kept" if impl == "compiled" else "")
                    + f", {out['seconds']:.2f} s")
    ideal_col = [ideal] * rounds
    label = f"ideal: {n_ideal} arrays × 4 MB"
    names = {"tapegrad": "tapegrad", "numpy": "NumPy by hand", "torch": "PyTorch"}
    rows = [Row(ID, m_rss, [o["rss_added"] / MB for o in res["tapegrad"]], base=label, base_value=ideal_col,
                target="≤ 1.05× ideal", target_ratio=1.05,
                note=f"peak read from {res['tapegrad'][0]['peak_source']}; one subprocess per measurement")]
    rows += [c_wrong] if c_wrong is not None else _compiled_rows(m_c, res["compiled"], label, ideal_col)
    for impl in impls[2:]:
        rows.append(Row(ID, m_rss, [o["rss_added"] / MB for o in res[impl]], impl=names[impl], base=label,
                        base_value=ideal_col, target="(for comparison)"))
    for impl in ("tapegrad", "numpy"):
        rows.append(Row(ID, "tracemalloc peak added, MB (1 round)", [res[impl][0]["traced_added"] / MB],
                        impl=names[impl], base=label, base_value=[ideal], target="(for comparison)"))
    if "torch" in res:
        rows.append(Row(ID, "saved for backward, MB (1 round)", [res["torch"][0]["saved_bytes"] / MB],
                        impl="PyTorch", base=label, base_value=[ideal], target="(for comparison)",
                        note="distinct tensors PyTorch's autograd saves (saved_tensors_hooks); its allocations "
                             "are invisible to tracemalloc, so the gap to its peak RSS is allocator slack"))
    sec = {k: [o["seconds"] for o in v] for k, v in res.items() if v}
    if "torch" in sec:
        rows.append(Row(ID, "seconds, forward + backward", sec["tapegrad"], base="PyTorch",
                        base_value=sec["torch"], target="(for comparison)"))
    rows.append(Row(ID, "seconds, forward + backward", sec["tapegrad"], base="NumPy by hand",
                    base_value=sec["numpy"], target="(for comparison)"))
    if "compiled" in sec:
        c_impl = COMPILED + (EAGER_MARK if res["compiled"][0]["status"] else "")
        rows.append(Row(ID, "seconds, forward + backward, compiled", sec["compiled"], impl=c_impl,
                        base="tapegrad (eager)", base_value=sec["tapegrad"], target="(for comparison)"))
    return rows


def _compiled_rows(measure: str, res: list[dict], label: str, ideal_col: list[float]) -> list[Row]:
    """The compiled step's memory against the ideal (issue 15: ≤ 1.05× ideal), measured as the eager
    row is (peak RSS added during one call, in a fresh subprocess), plus the buffers its replay keeps
    between calls (``Program.prealloc_bytes``): they were allocated when the trace was compiled and
    are resident before the call, yet they are memory the compiled function holds. The tracemalloc
    row (first round) counts them the same way."""
    status = res[0]["status"]
    impl = COMPILED + (EAGER_MARK if status else "")
    kept = res[0]["kept_bytes"] / MB
    note = (f"peak RSS added during one call (the third: trace and first replay come before) + "
            f"{kept:.0f} MB of buffers kept between calls (prealloc_bytes); the call itself added "
            + ", ".join(f"{o['rss_added'] / MB:.0f}" for o in res) + f" MB. {res[0]['note']}")
    rows = [Row(ID, measure, [(o["rss_added"] + o["kept_bytes"]) / MB for o in res], impl=impl, base=label,
                base_value=ideal_col, target="≤ 1.05× ideal", target_ratio=1.05, status=status, note=note)]
    rows.append(Row(ID, "tracemalloc peak added + kept buffers, MB (1 round), compiled",
                    [(res[0]["traced_added"] + res[0]["kept_bytes"]) / MB], impl=impl, base=label,
                    base_value=ideal_col[:1], target="(for comparison)",
                    note=f"the call's traced peak alone: {res[0]['traced_added'] / MB:.0f} MB"))
    return rows


def profile_step() -> Callable[[], Any]:
    """tapegrad: the 500-op chain on 100,000 values (not 1,000,000, to keep it short), record + backward (what ``--profile`` profiles)."""
    return tapegrad_setup(inputs(100_000), N_OPS)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", choices=("tapegrad", "compiled", "torch", "numpy"), required=True)
    ap.add_argument("--n-ops", type=int, default=N_OPS)
    ap.add_argument("--size", type=int, default=SIZE)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--traced", action="store_true")
    a = ap.parse_args(argv)
    print(json.dumps(child(a.child, a.n_ops, a.size, a.threads, a.traced)))


if __name__ == "__main__":
    main()
