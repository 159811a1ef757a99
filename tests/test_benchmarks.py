"""The benchmark suite's own code: every workload's implementations agree with its float64 reference
(at tiny sizes, without PyTorch), the wrong-answer guard fires, and the runner reports a missing
PyTorch instead of failing. No timing is asserted anywhere."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import (WORKLOADS, w1_small_ops, w2_mlp, w3_grad_ratio, w4_deep_chain_memory,  # noqa: E402
                        w5_hvp, w6_control_flow, w7_cnn)
from benchmarks._harness import (MXNET_DIALECT, TORCH_DIALECT, Ctx, Row, WrongResult, check_close,  # noqa: E402
                                 dialect_rows, markdown_table)


def test_w1_small_ops():
    w1_small_ops.check(**w1_small_ops.TINY)


def test_w1_floor_minimal_tape_matches_the_hand_gradient():
    from benchmarks import w1_floor
    w1_floor.check()


def test_w2_mlp():
    w2_mlp.check(**w2_mlp.TINY)


@pytest.mark.parametrize("module, target", [(w1_small_ops, 1.1), (w2_mlp, 1.05)])
def test_w1_w2_time_the_pytorch_dialect_against_the_mxnet_dialect(module, target, monkeypatch):
    # run() itself at the tiny sizes, one round: the parity row is there, with its target (no time asserted)
    if module is w1_small_ops:
        monkeypatch.setattr(module, "N_OPS", module.TINY["n_ops"])
    else:
        full = module.inputs
        monkeypatch.setattr(module, "inputs", lambda: full(**module.TINY))
    rows = module.run(Ctx(rounds=1, min_time=0.001, warmup=1, verbose=False))
    (row,) = [r for r in rows if r.impl == TORCH_DIALECT]  # no PyTorch: no comparison row with it
    assert row.base == MXNET_DIALECT and row.target_ratio == target and row.target == f"≤ {target}× MXNet dialect"
    assert row.status is None and len(row.ratios) == 1 and row.verdict in ("met", "missed")
    assert any(r.impl == "tapegrad" and r.base == "NumPy by hand" for r in rows)  # the MXNet rows stay


def test_w3_grad_ratio():
    w3_grad_ratio.check(**w3_grad_ratio.TINY)


def test_w4_deep_chain_memory():
    w4_deep_chain_memory.check(**w4_deep_chain_memory.TINY)


def test_w4_ideal_counts_three_arrays_per_cycle():
    assert w4_deep_chain_memory.ideal_arrays(6) == 3
    assert w4_deep_chain_memory.ideal_arrays(500) == 249  # 83 full cycles, then a multiply and an add
    assert w4_deep_chain_memory.ideal_bytes(500, 1_000_000) == 996_000_000


def test_w4_child_measures_and_checks():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "benchmarks.w4_deep_chain_memory", "--child", "tapegrad",
                          "--n-ops", "30", "--size", "20000", "--traced"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["ok"], res
    assert res["rss_added"] >= 0 and res["traced_added"] > 0 and res["seconds"] > 0


def test_w5_hvp():
    w5_hvp.check(**w5_hvp.TINY)


def test_w6_control_flow():
    w6_control_flow.check(**w6_control_flow.TINY)


def test_w7_cnn():
    lacks = w7_cnn.missing()
    if all(lacks.values()):
        pytest.skip("conv ops missing: " + ", ".join(lacks["MXNet"] + lacks["PyTorch"]))
    checked = w7_cnn.check(**w7_cnn.TINY)
    assert checked


def test_w7_reports_missing_conv_ops(monkeypatch):
    monkeypatch.setattr(w7_cnn, "missing", lambda: {"MXNet": ["npx.convolution"], "PyTorch": ["x.conv2d"]})
    (row,) = w7_cnn.run(Ctx(verbose=False))
    assert row.status == "skipped: conv ops missing"


def test_every_workload_module_is_listed():
    assert [m.ID for m in (w1_small_ops, w2_mlp, w3_grad_ratio, w4_deep_chain_memory, w5_hvp,
                           w6_control_flow, w7_cnn)] == [f"W{i}" for i in range(1, 8)]
    assert len(WORKLOADS) == 7


def test_a_wrong_answer_is_caught():
    x0 = w1_small_ops.inputs()
    ref = w1_small_ops.reference(x0, 12)
    step = w1_small_ops.numpy_step(x0, 12)

    def wrong() -> dict:
        out = step()
        return {"sum": out["sum"], "grad": out["grad"] * 1.01}
    with pytest.raises(WrongResult, match="grad"):
        w1_small_ops.verify("numpy", wrong, ref)
    with pytest.raises(WrongResult, match="shape"):
        check_close("x", numpy.zeros(3), numpy.zeros(4))


def test_rows_judge_the_median_ratio():
    r = Row("W0", "ms", [1.0, 2.0, 3.0], base="B", base_value=[2.0, 2.0, 2.0], target="≤ 1", target_ratio=1.0)
    assert r.verdict == "met"
    assert Row("W0", "µs", [4.0, 5.0], target_value=3.0).verdict == "missed"
    table = markdown_table([r, Row("W9", "ms", status="skipped: conv ops missing")])
    assert "1.00× (0.500–1.50)" in table and "skipped: conv ops missing" in table


def test_dialect_rows_add_real_pytorch_for_comparison_when_it_ran():
    values = {"tapegrad": [2.0, 2.0], TORCH_DIALECT: [2.0, 3.0], "torch": [4.0, 4.0]}
    parity, vs_torch = dialect_rows("W0", "ms", values, 1.1)
    assert parity.ratios == [1.0, 1.5] and parity.verdict == "missed"
    assert vs_torch.base == "PyTorch" and vs_torch.ratios == [0.5, 0.75] and vs_torch.verdict == ""


def test_runner_says_when_torch_is_missing(tmp_path):
    # a `torch` that cannot be imported, first on the path
    (tmp_path / "torch.py").write_text("raise ImportError('no torch here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--vs", "torch", "--only", "W6", "--rounds", "1",
                          "--min-time", "0.001", "--markdown"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "PyTorch is not installed" in out.stderr
    assert "PyTorch not installed" in out.stdout and "| W6 |" in out.stdout


def test_debugging_benchmark_reports_each_aid_and_leaves_them_as_it_found_them(capsys):
    import tapegrad
    from benchmarks import debugging
    rows = debugging.main(["--rounds", "1", "--min-time", "0.001"])
    whats = [(r[0].split(",")[0], r[1]) for r in rows]
    assert whats[:4] == [("W1", "source lines on / off (tapegrad, MXNet dialect)"),
                         ("W6 scalar", "source lines on / off (tapegrad, MXNet dialect)"),
                         ("W2", "anomaly detection on / off (tapegrad, MXNet dialect)"),
                         ("W2", "anomaly detection on / off (tapegrad, PyTorch dialect)")]
    assert all(r[2][0] > 0 and r[2][1] > 0 for r in rows)
    assert "| W1, µs/op | source lines on / off" in capsys.readouterr().out
    # the defaults are back: source lines on, anomaly detection off
    assert tapegrad.set_source_lines(True) is True
    assert not tapegrad.is_anomaly_enabled()


def test_runner_can_time_without_source_lines(monkeypatch, capsys):
    import tapegrad
    from benchmarks import __main__ as runner
    monkeypatch.setenv(runner._CHILD_FLAG, "-")  # (no re-execution: run in this process)
    try:
        assert runner.main(["--source-lines", "off", "--only", "W6", "--rounds", "1", "--min-time", "0.001",
                            "--markdown"]) == 0
        out = capsys.readouterr().out
        assert "- tapegrad's source lines: off" in out and "| W6 |" in out
        assert tapegrad.set_source_lines(True) is False  # the runner switched them off
    finally:
        tapegrad.set_source_lines(True)
