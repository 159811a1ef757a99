"""What every workload shares: the run context, alternating timing, the reference check, table rows."""
from __future__ import annotations

import gc
import math
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy

# ---------------------------------------------------------------------------------------------
# run context


@dataclass
class Ctx:
    """How the runner asked for the run."""

    rounds: int = 20
    #: Seconds one timed sample lasts at least (a sample is ``inner`` calls, chosen at warm-up).
    min_time: float = 0.1
    #: Calls before timing starts (besides the calls of the correctness check).
    warmup: int = 3
    threads: int = 1
    #: The real ``torch`` module, or None when not compared (see ``torch_note``).
    torch: Any = None
    #: Why there is no torch column: "not asked (--vs torch)" or "not installed".
    torch_note: str = "not asked (--vs torch)"
    verbose: bool = True

    def log(self, msg: str) -> None:
        if self.verbose:
            print(msg, file=sys.stderr, flush=True)


class WrongResult(AssertionError):
    """An implementation's result disagrees with the float64 reference."""


# ---------------------------------------------------------------------------------------------
# correctness


def to_numpy(x: Any) -> numpy.ndarray:
    """A NumPy copy of a NumPy array, a tapegrad array, a torch tensor or a Python number."""
    if hasattr(x, "detach") and hasattr(x, "numpy") and type(x).__module__.startswith("torch"):
        return x.detach().cpu().numpy().copy()
    if hasattr(x, "asnumpy"):  # a tapegrad array, also on a GPU
        return x.asnumpy()
    return numpy.array(x)


def check_close(label: str, got: Any, ref: Any, rtol: float = 2e-4, atol: float | None = None) -> None:
    """Raise ``WrongResult`` unless ``got`` (float32) matches the float64 ``ref``.

    ``atol`` defaults to ``rtol`` times the largest magnitude of ``ref``: float32 rounding makes
    the error of each entry proportional to the scale of the whole computation, not to the entry.
    """
    g = to_numpy(got).astype(numpy.float64)
    r = numpy.asarray(ref, dtype=numpy.float64)
    if g.shape != r.shape:
        raise WrongResult(f"{label}: shape {g.shape}, reference shape {r.shape}")
    if g.dtype.kind == "f" and not numpy.isfinite(g).all():
        raise WrongResult(f"{label}: not finite")
    scale = float(numpy.max(numpy.abs(r))) if r.size else 0.0
    tol = atol if atol is not None else rtol * scale
    err = numpy.abs(g - r)
    bad = err > tol + rtol * numpy.abs(r)
    if bad.any():
        i = numpy.unravel_index(int(numpy.argmax(err)), err.shape) if err.ndim else ()
        raise WrongResult(f"{label}: {int(bad.sum())} of {bad.size} entries off; worst at {i}: "
                          f"{g[i]!r} vs reference {r[i]!r} (rtol {rtol:g})")


def check_all(label: str, got: dict, ref: dict, rtol: float = 2e-4) -> None:
    """``check_close`` on every key of ``ref``."""
    for k, r in ref.items():
        check_close(f"{label} {k}", got[k], r, rtol)


# ---------------------------------------------------------------------------------------------
# timing


def calibrate(fn: Callable[[], Any], ctx: Ctx, min_time: float | None = None) -> int:
    """Warm ``fn`` up and return how many calls make one sample of at least ``min_time`` seconds."""
    min_time = ctx.min_time if min_time is None else min_time
    for _ in range(max(1, ctx.warmup)):
        fn()
    n, spent = 0, 0.0
    while n == 0 or (spent < 0.2 * min_time and n < 1000):
        t0 = time.perf_counter()
        fn()
        spent += time.perf_counter() - t0
        n += 1
    per_call = spent / n
    return max(1, math.ceil(min_time / per_call)) if per_call > 0 else 1


def alternate(fns: dict[str, Callable[[], Any]], ctx: Ctx, rounds: int | None = None,
              min_time: float | None = None) -> dict[str, list[float]]:
    """Time the functions in alternation (A B A B ...), ``rounds`` samples each.

    Returns seconds per call, one entry per round, for each function. Each function is warmed up
    first; each sample runs the function ``inner`` times in a row after a ``gc.collect()`` (cheap:
    the objects that existed before timing are frozen out of the collector).
    """
    rounds = ctx.rounds if rounds is None else rounds
    inner = {name: calibrate(fn, ctx, min_time) for name, fn in fns.items()}
    # Objects alive now (modules, the workloads' data) move to the permanent generation, so the
    # collection before each sample scans only what the samples themselves leave behind.
    gc.collect()
    gc.freeze()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            n = inner[name]
            gc.collect()
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - t0) / n)
    return times


# ---------------------------------------------------------------------------------------------
# results


@dataclass
class Row:
    """One line of the results table: a measure of tapegrad, against a baseline when there is one.

    ``value`` and ``base_value`` hold one number per round (already in the measure's unit); the
    ratio column is the median of the per-round ratios ``value[i] / base_value[i]``. A target is
    either on that ratio (``target_ratio``) or on the median of ``value`` (``target_value``).
    """

    wid: str
    measure: str
    value: list[float] | None = None
    impl: str = "tapegrad"
    base: str | None = None
    base_value: list[float] | None = None
    target: str = ""
    target_ratio: float | None = None
    target_value: float | None = None
    #: Replaces the verdict, and the numbers when there are none: "skipped: ...", "wrong result: ...",
    #: "PyTorch not installed"; a compiled row's "runs eagerly: <reason>" keeps its numbers.
    status: str | None = None
    note: str = ""
    ratios: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.value is not None and self.base_value is not None and not self.ratios:
            self.ratios = [a / b for a, b in zip(self.value, self.base_value)]

    @property
    def verdict(self) -> str:
        if self.status:
            return self.status
        if self.target_ratio is not None and self.ratios:
            return "met" if statistics.median(self.ratios) <= self.target_ratio else "missed"
        if self.target_value is not None and self.value:
            return "met" if statistics.median(self.value) <= self.target_value else "missed"
        return ""


def fmt(v: float) -> str:
    """Three significant digits, no exponent for the magnitudes seen here."""
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    digits = max(0, 2 - int(math.floor(math.log10(abs(v)))))
    return f"{v:.{digits}f}"


def spread(vals: list[float] | None, suffix: str = "") -> str:
    """``median (min–max)``."""
    if not vals:
        return "—"
    med = statistics.median(vals)
    if min(vals) == max(vals):
        return f"{fmt(med)}{suffix}"
    return f"{fmt(med)}{suffix} ({fmt(min(vals))}–{fmt(max(vals))})"


HEADER = ["", "measure", "tapegrad: median (min–max)", "against", "baseline: median (min–max)",
          "ratio: median of rounds (min–max)", "target", "verdict"]


def cells(row: Row) -> list[str]:
    if row.status and row.value is None:
        return [row.wid, row.measure, "—", row.base or "—", "—", "—", row.target or "—", row.status]
    impl = "" if row.impl == "tapegrad" else f"{row.impl}: "
    return [row.wid, row.measure, impl + spread(row.value), row.base or "—", spread(row.base_value),
            spread(row.ratios, "×"), row.target or "—", row.verdict]


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells(r)) + " |")
    notes = [f"- {r.wid} {r.measure}: {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def text_table(rows: list[Row]) -> str:
    table = [HEADER] + [cells(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table]
    out.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {r.wid} {r.measure}: {r.note}" for r in rows if r.note]
    return "\n".join(out + ([""] + notes if notes else []))


def torch_rows_missing(ctx: Ctx, wid: str, measures: list[tuple[str, str]]) -> list[Row]:
    """Placeholder rows for comparisons with PyTorch when it is not there."""
    status = "PyTorch not installed" if ctx.torch_note == "not installed" else "not run (no --vs torch)"
    return [Row(wid, m, base="PyTorch", target=t, status=status) for m, t in measures]


def timed_rows(wid: str, measure: str, times: dict[str, list[float]], name: str, base: str | None,
               base_label: str | None, scale: float, target: str = "", target_ratio: float | None = None,
               note: str = "") -> Row:
    """A row from ``alternate``'s result: ``name`` against ``base`` (keys of ``times``), times ``scale``."""
    return Row(wid, measure, [t * scale for t in times[name]], base=base_label,
               base_value=None if base is None else [t * scale for t in times[base]],
               target=target, target_ratio=target_ratio, note=note)


#: Labels of tapegrad's two dialects where a workload runs both (a plain "tapegrad" row is the MXNet dialect).
MXNET_DIALECT, TORCH_DIALECT = "tapegrad (MXNet dialect)", "tapegrad (PyTorch dialect)"


def dialect_rows(wid: str, measure: str, values: dict[str, list[float]], target_ratio: float) -> list[Row]:
    """The PyTorch dialect's rows from one alternation: against the MXNet dialect (``values["tapegrad"]``)
    with the parity target, and, when ``values`` has ``"torch"``, against real PyTorch for comparison."""
    mine = values[TORCH_DIALECT]
    rows = [Row(wid, measure, mine, impl=TORCH_DIALECT, base=MXNET_DIALECT, base_value=values["tapegrad"],
                target=f"≤ {target_ratio:g}× MXNet dialect", target_ratio=target_ratio)]
    if "torch" in values:
        rows.append(Row(wid, measure, mine, impl=TORCH_DIALECT, base="PyTorch", base_value=values["torch"],
                        target="(for comparison)"))
    return rows


def wrong_row(wid: str, measure: str, err: Exception, base: str | None = None) -> Row:
    return Row(wid, measure, base=base, status=f"wrong result: {err}")


# ---------------------------------------------------------------------------------------------
# tapegrad.compile: the compiled rows

#: Label of tapegrad's step under ``tapegrad.compile`` (the MXNet-dialect step, or W5's functional
#: ``grad``/``hvp`` under ``tapegrad.jit``), with ``fuse=False``: the NumPy replay, op by op, that the
#: issue's compiled targets name (W1 times the fused replay in a row of its own); a compiled function
#: that runs eagerly gets ``EAGER_MARK``.
COMPILED = "tapegrad compiled"
FUSED = "tapegrad compiled+fused"
EAGER_MARK = " (RUNS EAGERLY)"


def check_same(label: str, got: dict, want: dict, rtol: float = 1e-6, exact: bool = False) -> None:
    """The compiled step's result against the eager step's, key by key: ``check_close`` with a
    tolerance near float32 rounding, or bit for bit when ``exact``."""
    for k, w in want.items():
        if exact:
            g, r = to_numpy(got[k]), to_numpy(w)
            if g.shape != r.shape or g.dtype != r.dtype or not numpy.array_equal(g, r):
                raise WrongResult(f"{label} {k}: {g!r} ({g.dtype}), eager {r!r} ({r.dtype}): not identical")
        else:
            check_close(f"{label} {k}", got[k], to_numpy(w), rtol)


def verify_lockstep(label: str, compiled: Callable[[], dict], eager: Callable[[], dict], calls: int = 2,
                    rtol: float = 1e-6, exact: bool = False) -> None:
    """Call the compiled step and the eager one in turn ``calls`` times and compare each pair of
    results (both steps must be in the same state: built from the same inputs, called equally often).
    Where the eager step has a ``state`` attribute (a function returning the live arrays it updates:
    gradients, parameters), the compiled one has it too (``tapegrad.compile`` copies the function's
    attributes) and the live arrays are compared as well: a replay must update what the user holds,
    not only return the right values."""
    for i in range(calls):
        what = f"{label} (call {i + 1} against eager)"
        check_same(what, compiled(), eager(), rtol, exact)
        if hasattr(eager, "state"):
            check_same(what + " live", compiled.state(), eager.state(), rtol, exact)


def replay_report(compiled: Any) -> tuple[str | None, str]:
    """(status, note) of a compiled function after its calls, or of a dict ``{name: compiled}``: the
    status is None when each replays, else ``runs eagerly: <reason from explain()>`` (or ``never
    replayed``); the note counts traces, replays and eager calls (``traces``, ``replays``, ``explain()``)."""
    named = compiled if isinstance(compiled, dict) else {"": compiled}
    reasons: list[str] = []
    parts: list[str] = []
    for name, c in named.items():
        text = c.explain()
        eager_lines = [line.split("runs eagerly:", 1)[1].strip() for line in text.splitlines()
                       if "runs eagerly:" in line]
        reasons += [r for r in (f"{name}: {e}" if name else e for e in eager_lines) if r not in reasons]
        if not c.replays and not eager_lines:
            reasons.append(f"never replayed{' (' + name + ')' if name else ''}: every call traced")
        eager = sum(int(n) for n in re.findall(r"(\d+) eager call", text))
        parts.append(f"{name + ': ' if name else ''}{c.traces} trace(s), {c.replays} replay(s), "
                     f"{eager} eager call(s)")
    counts = "; ".join(parts)
    if reasons:
        never = [r for r in reasons if r.startswith("never")]
        eager = [r for r in reasons if not r.startswith("never")]
        status = "; ".join((["runs eagerly: " + "; ".join(eager)] if eager else []) + never)
        return status, f"{COMPILED}: {status} [{counts}, read from explain() after timing]"
    return None, (f"{COMPILED} replays: {counts} after warm-up and timing "
                  "(the traces ran in the correctness check, before timing)")


def compiled_rows(wid: str, measure: str, values: dict[str, list[float]], compiled: Any,
                  against: list[tuple], key: str = COMPILED) -> list[Row]:
    """The compiled step's rows from one alternation (``values[key]`` its times), one per entry of
    ``against``: ``(key of the baseline in values, its label, target, target_ratio, target_value)``.
    A compiled function that runs eagerly keeps its numbers but is marked in the label and the verdict."""
    status, note = replay_report(compiled)
    impl = COMPILED + (EAGER_MARK if status else "")
    rows = []
    for i, (bkey, blabel, target, tr, tv) in enumerate(against):
        rows.append(Row(wid, measure, values[key], impl=impl, base=blabel,
                        base_value=None if bkey is None else values[bkey], target=target, target_ratio=tr,
                        target_value=tv, status=status, note=note if i == 0 else ""))
    return rows


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()
