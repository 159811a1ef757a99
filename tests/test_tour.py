"""The tour runs end to end and shows the chapter's values."""
import io

from tapegrad import tour


def test_tour_runs_and_shows_the_chapter(tmp_path, monkeypatch):
    png = tmp_path / "sin.png"
    monkeypatch.setenv("TAPEGRAD_TOUR_PNG", str(png))
    out = io.StringIO()
    assert tour.main(out) == 0
    text = out.getvalue()
    for expected in ("array([ 0.,  4.,  8., 12.])", "array([ True,  True,  True,  True])", "array(True)",
                     "AutogradError: Cannot differentiate node", "array([ 0.,  8., 16., 24.])",
                     "array([ 6., 12., 18.])", "max |dy/dx - cos(x)|",
                     "tensor([0., 1., 2., 3.], requires_grad=True)", "tensor(28., grad_fn=<MulBackward0>)",
                     "tensor([True, True, True, True])", "tensor([True])",
                     "-0.2 -163840.0 True", "3 trace(s), 2 replay(s), 2 guard miss(es)"):
        assert expected in text, expected
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in text
    else:
        assert png.exists() and png.stat().st_size > 1000


def test_tour_says_clearly_when_matplotlib_is_missing(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_matplotlib(name, *a, **k):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    from tapegrad import np
    x = np.linspace(0, 1, 5)
    msg = tour.plot_sin_and_derivative(x, np.sin(x), np.cos(x))
    assert "matplotlib is not installed" in msg and "pip install 'tapegrad[plot]'" in msg
