"""The seed chapter's PyTorch cells and exercises, with only `import torch` changed, print what
PyTorch 2.13 printed (errors show our class with PyTorch's message)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import script_env

SEED = Path(__file__).resolve().parent / "seed"


def _run(name: str, tmp_path: Path) -> str:
    original = (SEED / name).read_text()
    src = original.replace("\nimport torch\n", "\nimport tapegrad.torch as torch\n")
    changed = [a for a, b in zip(original.splitlines(), src.splitlines()) if a != b]
    assert changed == ["import torch"], "exactly the import line changes"
    f = tmp_path / name
    f.write_text(src)
    res = subprocess.run([sys.executable, str(f)], capture_output=True, text=True, timeout=120,
                         env=script_env())
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_torch_tab_prints_what_pytorch_printed(tmp_path):
    assert _run("torch_tab.py", tmp_path) == (SEED / "torch_tab.expected.txt").read_text()


def test_torch_exercises_print_what_pytorch_printed_with_our_error_class(tmp_path):
    got = _run("torch_exercises.py", tmp_path)
    expected = (SEED / "torch_exercises.expected.txt").read_text()
    want = re.sub(r"ERROR builtins\.RuntimeError", "ERROR tapegrad.AutogradError", expected)
    assert want != expected
    assert got == want
