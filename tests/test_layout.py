"""House rules that keep the engine small and the dialects thin."""
from pathlib import Path

import tapegrad

ROOT = Path(tapegrad.__file__).parent


def test_core_stays_within_its_line_budget():
    lines = sum(len(p.read_text().splitlines()) for p in (ROOT / "_core").glob("*.py"))
    assert lines <= 1500, f"tapegrad/_core has {lines} lines; the budget is 1,500"


def test_dialects_define_no_gradient_rules():
    for p in [ROOT / "ndarray.py", ROOT / "autograd.py", ROOT / "npx.py", *(ROOT / "np").glob("*.py")]:
        assert ".vjp" not in p.read_text(), f"{p.name} declares a gradient rule; rules live in tapegrad/ops"
