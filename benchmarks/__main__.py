"""The runner: ``python -m benchmarks [--vs torch] [--rounds N] [--only W1,W2] [--threads 1] [--source-lines off]
[--markdown]``.

Before NumPy is imported the runner re-executes itself once with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed (they pin an old OpenBLAS kernel on some machines and slow a current
NumPy) and with the BLAS/OpenMP thread variables set to ``--threads``; the change is confined to
this process and its W4 subprocesses. It then limits the thread pools again through threadpoolctl,
and reports which BLAS kernel threadpoolctl sees. Progress goes to stderr, the table to stdout.
"""
from __future__ import annotations

import argparse
import os
import sys

_CHILD_FLAG = "TAPEGRAD_BENCH_REEXEC"
_UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=(
        "tapegrad's benchmark suite (W1-W7), side by side with PyTorch and hand-written NumPy."))
    ap.add_argument("--vs", choices=("torch", "none"), default="none",
                    help="compare with PyTorch (needs `pip install torch==2.13.0`)")
    ap.add_argument("--rounds", type=int, default=20,
                    help="alternating rounds per comparison (default 20; W4 runs min(rounds, 3))")
    ap.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W2")
    ap.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads (default 1)")
    ap.add_argument("--min-time", type=float, default=0.1,
                    help="seconds one timed sample lasts at least (default 0.1)")
    ap.add_argument("--markdown", action="store_true", help="print the results as a Markdown table")
    ap.add_argument("--source-lines", choices=("on", "off"), default="on",
                    help="whether tapegrad's nodes note the user's line (tapegrad.set_source_lines; default on, "
                         "as in use): off times the engine without that debugging aid")
    ap.add_argument("--profile", action="store_true",
                    help="instead of timing, print cProfile's top entries (by own time) of tapegrad's step")
    a = ap.parse_args(argv)
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    if a.threads < 1:
        ap.error("--threads must be at least 1")
    return a


def reexec(args: argparse.Namespace, argv: list[str]) -> None:
    """Run again in a clean BLAS environment (once), before anything imports NumPy."""
    if os.environ.get(_CHILD_FLAG):
        return
    env = dict(os.environ)
    removed = [f"{k}={env.pop(k)}" for k in _UNSET if k in env]
    for k in _THREAD_VARS:
        env[k] = str(args.threads)
    env[_CHILD_FLAG] = ";".join(removed) or "-"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks", *argv], env)


def environment(args: argparse.Namespace, torch, torch_note: str) -> list[str]:
    """Lines that say what ran: machine, versions, BLAS kernel, threads."""
    import platform

    import numpy

    import tapegrad

    from ._harness import cpu_model
    removed = os.environ.get(_CHILD_FLAG, "-")
    rev = _git_revision()
    lines = [f"- Machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
             f"- Python {platform.python_version()}, NumPy {numpy.__version__}, tapegrad {tapegrad.__version__}{rev}, "
             + (f"PyTorch {torch.__version__}" if torch is not None else "PyTorch: " + torch_note)]
    try:
        from threadpoolctl import threadpool_info
        blas = [f"{i.get('internal_api')} {i.get('version')} (kernel {i.get('architecture', '?')}, "
                f"{i.get('num_threads')} thread{'s' if i.get('num_threads') != 1 else ''})"
                for i in threadpool_info() if i.get("user_api") == "blas"]
        lines.append("- BLAS seen by threadpoolctl: " + ("; ".join(blas) or "none found"))
    except ImportError:
        lines.append("- threadpoolctl not installed (`pip install threadpoolctl`): threads set through "
                     + ", ".join(_THREAD_VARS) + " only; BLAS kernel unknown")
    lines.append(f"- tapegrad's source lines: {args.source_lines} (`tapegrad.set_source_lines`)")
    lines.append(f"- Threads: {args.threads} (BLAS, OpenMP" + (", torch.set_num_threads" if torch else "") + ")")
    try:
        lines.append("- Load average at the end (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    except OSError:
        pass
    lines.append("- OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: "
                 + (f"unset for this run (were {removed.replace(';', ', ')})" if removed != "-" else "not set"))
    return lines


def _git_revision() -> str:
    """`` (commit abc1234)`` for the checkout the run used, `` + local changes`` when tapegrad/ differs."""
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "tapegrad"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f" (commit {head}{' + local changes' if dirty else ''})" if head else ""


def load_torch(args: argparse.Namespace) -> tuple:
    """(the torch module or None, why there is none)."""
    if args.vs != "torch":
        return None, "not asked (--vs torch)"
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: the PyTorch comparisons are skipped; tapegrad and NumPy still run. "
              "Install it with `pip install torch==2.13.0`.", file=sys.stderr)
        return None, "not installed"
    torch.set_num_threads(args.threads)
    return torch, ""


def profile(modules: list, seconds: float = 2.0, top: int = 15) -> None:
    """cProfile each workload's tapegrad step for about ``seconds`` and print the top entries."""
    import cProfile
    import io
    import pstats
    import time
    for m in modules:
        step = m.profile_step()
        for _ in range(3):
            step()
        t0 = time.perf_counter()
        step()
        n = max(1, int(seconds / max(time.perf_counter() - t0, 1e-6)))
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            step()
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
        text = buf.getvalue()
        body = text[text.find("   ncalls"):]
        doc = m.profile_step.__doc__.split(" (what")[0]
        print(f"## {m.ID}: {doc}; {n} calls, top {top} by own time\n\n```\n{body.rstrip()}\n```\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    reexec(args, argv)

    import importlib
    import time

    from . import WORKLOADS
    from ._harness import Ctx, Row, markdown_table, text_table

    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(args.threads)
    except ImportError:
        limiter = None
        print("threadpoolctl is not installed (`pip install threadpoolctl`): threads are limited only "
              "through environment variables.", file=sys.stderr)
    torch, torch_note = load_torch(args)
    import tapegrad
    tapegrad.set_source_lines(args.source_lines == "on")
    ctx = Ctx(rounds=args.rounds, min_time=args.min_time, threads=args.threads, torch=torch, torch_note=torch_note)
    wanted = {w.strip().upper() for w in args.only.split(",") if w.strip()}
    modules = [importlib.import_module(f"benchmarks.{name}") for name in WORKLOADS]
    unknown = wanted - {m.ID for m in modules}
    if unknown:
        print(f"unknown workload(s): {', '.join(sorted(unknown))}; choose from "
              + ", ".join(m.ID for m in modules), file=sys.stderr)
        return 2
    if args.profile:
        profile([m for m in modules if not wanted or m.ID in wanted])
        return 0
    rows: list[Row] = []
    t_all = time.perf_counter()
    for m in modules:
        if wanted and m.ID not in wanted:
            continue
        t0 = time.perf_counter()
        ctx.log(f"{m.__doc__.strip().split(':')[0]} ...")
        try:
            new = m.run(ctx)
        except Exception as e:  # one broken workload must not hide the others' results
            new = [Row(m.ID, "(all)", status=f"error: {type(e).__name__}: {e}")]
        rows += new
        ctx.log(f"{m.ID}: done in {time.perf_counter() - t0:.1f} s")
    elapsed = time.perf_counter() - t_all
    env = environment(args, torch, torch_note)
    command = "python -m benchmarks " + " ".join(argv)
    method = (f"- Method: {args.rounds} alternating rounds (A B A B ...) per comparison after warm-up, each "
              f"sample ≥ {args.min_time:g} s; median (min–max) over rounds; ratio = median of the per-round "
              "ratios. Every result was checked against a float64 reference before timing. float32 throughout.")
    if args.markdown:
        print(f"Command: `{command.strip()}` ({elapsed:.0f} s)\n")
        print("\n".join(env + [method]))
        print()
        print(markdown_table(rows))
    else:
        print(f"{command.strip()}  ({elapsed:.0f} s)")
        print("\n".join(env + [method]))
        print()
        print(text_table(rows))
    if limiter is not None:
        limiter.restore_original_limits()
    return 1 if any(r.status and r.status.startswith(("wrong", "error")) for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
