"""tapegrad ships its type hints (``py.typed``), and a user's typed program that uses the doors passes
mypy; the package itself is checked by ``mypy`` in the README's test command."""
from __future__ import annotations

import pathlib
import textwrap

import pytest

import tapegrad

mypy_api = pytest.importorskip("mypy.api")

PACKAGE = pathlib.Path(tapegrad.__file__).parent
ROOT = PACKAGE.parent


def test_the_package_ships_its_marker():
    assert (PACKAGE / "py.typed").is_file()
    pyproject = ROOT / "pyproject.toml"
    if pyproject.is_file():  # (a source tree: the marker is in the package data)
        assert 'tapegrad = ["py.typed"]' in pyproject.read_text()


def _mypy(program: str, tmp_path: pathlib.Path) -> tuple[str, int]:
    """mypy on ``program`` as a user runs it: the installed package's modules are followed silently
    (errors are reported in the user's code only), from the source tree where tapegrad comes from one."""
    config = tmp_path / "mypy.ini"
    lines = ["[mypy]", "follow_imports = silent", "cache_dir = " + str(tmp_path / "cache"),
             "python_version = 3.10"]
    if "site-packages" not in ROOT.parts:  # an installed package is found by its py.typed
        lines.append(f"mypy_path = {ROOT}")
    config.write_text("\n".join(lines) + "\n")
    out, err, status = mypy_api.run(["--config-file", str(config), "-c", textwrap.dedent(program)])
    return out + err, status


USER_PROGRAM = """
    import numpy
    import tapegrad
    import tapegrad.torch as torch
    from tapegrad import autograd, np, npx

    x: torch.Tensor = torch.ones(3, requires_grad=True)
    y = torch.exp(x * 2).sum()
    y.backward()
    t: torch.Tensor = torch.from_dlpack(numpy.arange(3.0))
    u: torch.Tensor = torch.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(t))
    n: numpy.ndarray = t.numpy()
    v: torch.Tensor = torch.from_numpy(n) + 1
    lin = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    loss = lin(x).sum()

    a: np.ndarray = np.array([1.0, 2.0])
    a.attach_grad()
    with autograd.record():
        b = np.exp(a) * 2
    b.backward()
    c: np.ndarray = np.from_dlpack(t.detach())
    d: np.ndarray = npx.from_dlpack(npx.to_dlpack_for_read(a))
    e: np.ndarray = a[0] + a

    dfdx = tapegrad.grad(lambda w: (w * w).sum())
    r = dfdx(numpy.ones(3))
"""


def test_a_typed_user_program_passes_mypy(tmp_path):
    out, status = _mypy(USER_PROGRAM, tmp_path)
    assert status == 0, out


def test_mypy_sees_the_types_and_their_mistakes(tmp_path):
    """The check can fail: a wrong annotation against tapegrad's types is an error."""
    out, status = _mypy("""
        import tapegrad.torch as torch
        from tapegrad import np
        x: np.ndarray = torch.ones(3)
        y: int = np.array([1.0])
        z: torch.Tensor = torch.from_numpy(3)
    """, tmp_path)
    assert status == 1
    assert 'Incompatible types in assignment (expression has type "Tensor", variable has type "ndarray")' in out
    assert 'Incompatible types in assignment (expression has type "ndarray", variable has type "int")' in out
    assert 'Argument 1 to "from_numpy" has incompatible type "int"' in out
