"""The seed chapter's MXNet cells and exercises, with only the import line changed, print what
MXNet 1.9.1 printed (../shared/reference/seed)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import script_env

# Copies of ../shared/reference/seed (measured on MXNet 1.9.1), kept in the repo so the test runs anywhere.
SEED = Path(__file__).resolve().parent / "seed"


def _seed_file(name: str) -> Path:
    return SEED / name


def _run(script: Path, tmp_path: Path) -> str:
    original = script.read_text()
    src = original.replace("from mxnet import autograd, np, npx", "from tapegrad import autograd, np, npx")
    changed = [a for a, b in zip(original.splitlines(), src.splitlines()) if a != b]
    assert len(changed) == 1, "exactly the import line changes"
    f = tmp_path / script.name
    f.write_text(src)
    res = subprocess.run([sys.executable, str(f)], capture_output=True, text=True, timeout=120,
                         env=script_env())
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_mxnet_tab_prints_what_mxnet_printed(tmp_path):
    assert _run(_seed_file("mxnet_tab.py"), tmp_path) == _seed_file("mxnet_tab.expected.txt").read_text()


_MX_ERROR = re.compile(
    r"ERROR mxnet\.base\.MXNetError\nBEGIN MESSAGE\nTraceback \(most recent call last\):\n"
    r"  File \"[^\"]+\", line \d+\nMXNetError: Check failed: [^:]*(?:: :[^:]*)*\): (?P<msg>.*?)\nEND MESSAGE",
    re.S)


def test_mxnet_exercises_print_what_mxnet_printed_with_our_error_class(tmp_path):
    got = _run(_seed_file("mxnet_exercises.py"), tmp_path)
    expected = _seed_file("mxnet_exercises.expected.txt").read_text()
    # each MXNet error block becomes our class with MXNet's sentence as the message
    want = _MX_ERROR.sub(lambda m: "ERROR tapegrad.AutogradError\nBEGIN MESSAGE\n" + m.group("msg") + "\nEND MESSAGE",
                         expected)
    assert want != expected, "the expected output should contain MXNet errors"
    assert got == want
