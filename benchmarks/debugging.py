"""What tapegrad's debugging aids cost, side by side with PyTorch's (issue 16, items 3 and 4).

- Source lines: W1 (200 small ops, record + backward, MXNet dialect) with the nodes noting the user's
  line that created them (the default) against the switch off (``tapegrad.set_source_lines(False)``);
  the same on W6's scalar call (the seed's ``f``: a comparison in every ``while``, so the switch spares
  ``explain``'s breadcrumbs their lines too).
- Anomaly detection: the W2 step (MLP, record + backward + SGD) with anomaly detection on against
  off, in tapegrad's two dialects, and PyTorch's own (``torch.autograd.set_detect_anomaly``) the same
  way when PyTorch is installed.

Each comparison alternates the two settings in one process (A B A B ..., each sample at least
``--min-time`` seconds) and reports the median of the per-round ratios (min-max), with the CPU.

    python -m benchmarks.debugging [--rounds 15] [--min-time 0.1]
"""
from __future__ import annotations

import argparse
import statistics
import warnings
from typing import Any, Callable

from . import w1_small_ops, w2_mlp, w6_control_flow
from ._harness import Ctx, alternate, cpu_model


def compare(step: Callable[[], Any], on: Callable[[], Any], off: Callable[[], Any], rounds: int,
            min_time: float) -> tuple:
    """(median seconds with the setting on, off, median ratio, min ratio, max ratio): the suite's
    alternation (``_harness.alternate``), each sample switching the setting once, before its first call."""
    now: list = [None]

    def under(name: str, switch: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            if now[0] != name:
                switch()
                now[0] = name
            return step()
        return run
    times = alternate({"on": under("on", on), "off": under("off", off)},
                      Ctx(rounds=rounds, min_time=min_time, warmup=2, verbose=False))
    off()  # (the comparison ends with the setting off, as it found it)
    ton, toff = times["on"], times["off"]
    ratios = [a / b for a, b in zip(ton, toff)]
    return statistics.median(ton), statistics.median(toff), statistics.median(ratios), min(ratios), max(ratios)


def main(argv: list[str] | None = None) -> list[tuple]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--min-time", type=float, default=0.1)
    args = ap.parse_args(argv)
    import numpy

    import tapegrad
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    rows = []
    x0 = w1_small_ops.inputs()
    w1 = w1_small_ops.tapegrad_step(x0, 200)
    r = compare(w1, lambda: tapegrad.set_source_lines(True), lambda: tapegrad.set_source_lines(False),
                args.rounds, args.min_time)
    rows.append(("W1, µs/op", "source lines on / off (tapegrad, MXNet dialect)", r, 1e6 / 200, "≤ 1.05×"))
    w6 = w6_control_flow.tapegrad_step(w6_control_flow.inputs(None))
    r = compare(w6, lambda: tapegrad.set_source_lines(True), lambda: tapegrad.set_source_lines(False),
                args.rounds, args.min_time)
    rows.append(("W6 scalar, µs/call", "source lines on / off (tapegrad, MXNet dialect)", r, 1e6, "(for comparison)"))
    tapegrad.set_source_lines(True)  # (the default, which the comparisons left off)
    params, X, y = w2_mlp.inputs()
    anomaly = (lambda: tapegrad.set_detect_anomaly(True), lambda: tapegrad.set_detect_anomaly(False))
    for label, step in (("tapegrad, MXNet dialect", w2_mlp.tapegrad_step([p.copy() for p in params], X, y)),
                        ("tapegrad, PyTorch dialect", w2_mlp.torch_dialect_step([p.copy() for p in params], X, y))):
        rows.append(("W2, ms/step", f"anomaly detection on / off ({label})",
                     compare(step, *anomaly, args.rounds, args.min_time), 1e3, "≤ 1.3×"))
    if torch is not None:
        warnings.filterwarnings("ignore", message="Anomaly Detection has been enabled")
        step = w2_mlp.torch_step(torch, [p.copy() for p in params], X, y)
        rows.append(("W2, ms/step", "anomaly detection on / off (PyTorch)",
                     compare(step, lambda: torch.autograd.set_detect_anomaly(True),
                             lambda: torch.autograd.set_detect_anomaly(False), args.rounds, args.min_time),
                     1e3, "(for comparison)"))
    print(f"CPU: {cpu_model()}; tapegrad {tapegrad.__version__}, NumPy {numpy.__version__}"
          + (f", PyTorch {torch.__version__} (1 thread)" if torch is not None else ", PyTorch not installed")
          + f"; {args.rounds} alternating rounds, each sample ≥ {args.min_time} s; medians")
    print()
    print("| workload | what | on | off | ratio on/off: median (min–max) | target |")
    print("|---|---|---|---|---|---|")
    for wl, what, (ton, toff, med, lo, hi), scale, target in rows:
        print(f"| {wl} | {what} | {ton * scale:.3g} | {toff * scale:.3g} | {med:.3f}× ({lo:.3f}–{hi:.3f}) | {target} |")
    return rows


if __name__ == "__main__":
    main()
