"""House rules that keep the engine small and the dialects thin."""
import re
from pathlib import Path

import tapegrad

ROOT = Path(tapegrad.__file__).parent


def test_the_engine_lives_in_core_and_the_registry_only_declares():
    """Op, dispatch, recording and rule calling are _core's; ops/registry.py keeps ``defop`` and the
    table (what it re-exports is _core's own objects). The layering itself is checked by lint-imports."""
    from tapegrad._core import dispatch, op
    from tapegrad.ops import registry
    assert registry.Op is op.Op and registry.apply is dispatch.apply
    source = (ROOT / "ops" / "registry.py").read_text()
    assert "\nclass " not in source and "\ndef apply" not in source, "engine code belongs in tapegrad/_core"


def test_dialects_define_no_gradient_rules():
    for p in [ROOT / "ndarray.py", ROOT / "autograd.py", ROOT / "npx.py", *(ROOT / "np").glob("*.py")]:
        assert ".vjp" not in p.read_text(), f"{p.name} declares a gradient rule; rules live in tapegrad/ops"


def test_no_object_changes_class_at_run_time():
    """Dialect conventions are wrappers in the doors (npx, np.linalg), and a fast path is declared:
    no op (or any other object) has its class swapped (issue 13)."""
    swap = re.compile(r"__class__\s*=(?!=)|setattr(?:__)?\([^)]*[\"']__class__[\"']")
    for p in ROOT.rglob("*.py"):
        assert not swap.search(p.read_text()), f"{p.relative_to(ROOT)} assigns an object's __class__"
