"""torch.optim and torch.optim.lr_scheduler of the PyTorch dialect against PyTorch itself.

Each optimizer runs step for step beside PyTorch's on the same float64 parameters and the same loss
(so the same gradients), for a spread of option combinations; the parameters must agree to 1e-10
relative after every step. State dicts must have PyTorch's structure, and saving one (torch.save /
torch.load), loading it into a fresh optimizer and going on must continue PyTorch's trajectory. The
schedulers' learning rates must equal PyTorch's exactly over 30 epochs.
"""
from __future__ import annotations

import io
import math
import warnings

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad.torch as ttorch

torch = pytest.importorskip("torch")

RTOL = 1e-10
SHAPES = [(3, 4), (5,), ()]


def _init(seed: int = 0) -> list:
    rng = numpy.random.default_rng(seed)
    return [rng.standard_normal(s) for s in SHAPES]


def _targets(seed: int = 1) -> list:
    rng = numpy.random.default_rng(seed)
    return [rng.standard_normal(s) for s in SHAPES]


def _loss(lib, params: list, targets: list, step: int):
    """A smooth loss whose gradient depends on the parameters; the last parameter takes part only on
    even steps (on odd steps it has no gradient and every optimizer must skip it)."""
    total = None
    for i, (p, t) in enumerate(zip(params, targets)):
        if i == len(params) - 1 and step % 2:
            continue
        term = ((p - lib.tensor(t)) ** 2 * (i + 1)).sum() + lib.sin(3 * p).sum() * 0.5
        total = term if total is None else total + term
    return total


def _make(lib, values: list) -> list:
    return [lib.tensor(v.copy(), dtype=lib.float64, requires_grad=True) for v in values]


def _run(lib, opt, params: list, steps: range, targets: list, sched=None) -> list:
    """Run ``steps``; returns the parameter values after each step."""
    out = []
    for k in steps:
        opt.zero_grad()
        _loss(lib, params, targets, k).backward()
        opt.step()
        if sched is not None:
            sched.step()
        out.append([p.detach().numpy().copy() if lib is torch else numpy.array(p._data) for p in params])
    return out


def _assert_trajectories(ours: list, theirs: list) -> None:
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for i, (x, y) in enumerate(zip(a, b)):
            numpy.testing.assert_allclose(x, y, rtol=RTOL, atol=1e-14, err_msg=f"step {k}, parameter {i}")


CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, maximize=True)),
    ("SGD", dict(lr=0.03, momentum=0.7, nesterov=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.8), eps=1e-3)),  # lerp weight >= 0.5: ATen's second formula
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.05, decoupled_weight_decay=True, weight_decay=0.1)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.05, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05, maximize=True, betas=(0.5, 0.9))),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-4)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True, maximize=True)),  # lerp weight 0.7
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.3)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, eps=1e-3)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5)),
    ("Adadelta", dict(eps=1e-3, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.7, rho=0.95, maximize=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for name, kw in CASES]


@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_matches_pytorch_step_for_step(name, kw):
    init, targets = _init(), _targets()
    ours_p, theirs_p = _make(ttorch, init), _make(torch, init)
    ours = getattr(ttorch.optim, name)(ours_p, **kw)
    theirs = getattr(torch.optim, name)(theirs_p, **kw)
    _assert_trajectories(_run(ttorch, ours, ours_p, range(12), targets), _run(torch, theirs, theirs_p, range(12), targets))


@pytest.mark.parametrize("name, kw", CASES[::2], ids=IDS[::2])
def test_param_groups_match_pytorch(name, kw):
    """Two groups, the second with its own learning rate (and momentum-like option where there is one)."""
    init, targets = _init(2), _targets(3)
    extra = {"SGD": {"momentum": 0.5}, "Adam": {"betas": (0.8, 0.99)}, "AdamW": {"weight_decay": 0.2},
             "RMSprop": {"alpha": 0.95}, "Adagrad": {"lr_decay": 0.1}, "Adadelta": {"rho": 0.7}}[name]

    def groups(params):
        return [{"params": params[:1]}, {"params": params[1:], "lr": 0.02, **extra}]

    ours_p, theirs_p = _make(ttorch, init), _make(torch, init)
    ours = getattr(ttorch.optim, name)(groups(ours_p), **kw)
    theirs = getattr(torch.optim, name)(groups(theirs_p), **kw)
    _assert_trajectories(_run(ttorch, ours, ours_p, range(10), targets), _run(torch, theirs, theirs_p, range(10), targets))


def _to_numpy(v):
    if isinstance(v, torch.Tensor):
        return v.detach().numpy()
    return numpy.asarray(v._data)


def _assert_state_dicts_alike(ours: dict, theirs: dict) -> None:
    """Same structure (keys, parameter indices, hyperparameters) and state values within RTOL."""
    assert set(ours) == set(theirs) == {"state", "param_groups"}
    assert len(ours["param_groups"]) == len(theirs["param_groups"])
    for g, h in zip(ours["param_groups"], theirs["param_groups"]):
        assert g == h
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for k, s in theirs["state"].items():
        mine = ours["state"][k]
        assert list(mine) == list(s), k
        for key, v in s.items():
            if v is None:
                assert mine[key] is None
                continue
            a, b = _to_numpy(mine[key]), _to_numpy(v)
            assert a.dtype == b.dtype and a.shape == b.shape, (k, key)
            numpy.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-14, err_msg=f"state {k} {key}")


@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_state_dict_structure_and_round_trip(name, kw):
    """After 5 steps the state dict looks like PyTorch's; saved with torch.save, loaded with torch.load
    into a fresh optimizer over fresh parameters (built with other hyperparameters, which the load
    replaces), 7 more steps follow PyTorch's uninterrupted 12-step trajectory."""
    init, targets = _init(4), _targets(5)
    theirs_p = _make(torch, init)
    theirs = getattr(torch.optim, name)(theirs_p, **kw)
    ref = _run(torch, theirs, theirs_p, range(12), targets)

    ours_p = _make(ttorch, init)
    ours = getattr(ttorch.optim, name)(ours_p, **kw)
    first = _run(ttorch, ours, ours_p, range(5), targets)
    theirs_p5 = _make(torch, init)
    theirs5 = getattr(torch.optim, name)(theirs_p5, **kw)
    _run(torch, theirs5, theirs_p5, range(5), targets)
    _assert_state_dicts_alike(ours.state_dict(), theirs5.state_dict())

    f = io.BytesIO()
    ttorch.save({"optimizer": ours.state_dict(), "params": [p.detach() for p in ours_p]}, f)
    f.seek(0)
    ckpt = ttorch.load(f)
    fresh_p = [ttorch.tensor(t.numpy(), requires_grad=True) for t in ckpt["params"]]
    fresh = getattr(ttorch.optim, name)(fresh_p, lr=0.123)
    fresh.load_state_dict(ckpt["optimizer"])
    assert fresh.param_groups[0]["lr"] == ours.param_groups[0]["lr"]
    rest = _run(ttorch, fresh, fresh_p, range(5, 12), targets)
    _assert_trajectories(first + rest, ref)
    for a, b in zip(ours.state.values(), fresh.state.values()):  # loading copied the state
        for key in a:
            if isinstance(a[key], ttorch.Tensor):
                assert a[key]._data is not b[key]._data


def test_state_dict_keys_of_lazy_and_eager_state():
    """SGD without momentum keeps no state; Adagrad's exists from construction; Adam's from the first
    step; 'step' is a float32 tensor, as in PyTorch."""
    for name, kw in [("SGD", {"lr": 0.1}), ("Adagrad", {}), ("Adam", {})]:
        ours_p, theirs_p = _make(ttorch, _init()), _make(torch, _init())
        ours, theirs = getattr(ttorch.optim, name)(ours_p, **kw), getattr(torch.optim, name)(theirs_p, **kw)
        _assert_state_dicts_alike(ours.state_dict(), theirs.state_dict())
        _run(ttorch, ours, ours_p, range(1), _targets())
        _run(torch, theirs, theirs_p, range(1), _targets())
        _assert_state_dicts_alike(ours.state_dict(), theirs.state_dict())
    assert ours.state_dict()["state"][0]["step"].dtype == ttorch.float32


def test_loaded_state_with_a_number_for_step():
    """A state dict whose 'step' is a number (written by hand, or by an old PyTorch) loads and continues."""
    init, targets = _init(6), _targets(7)
    theirs_p = _make(torch, init)
    ref = _run(torch, torch.optim.Adam(theirs_p, lr=0.05), theirs_p, range(8), targets)
    ours_p = _make(ttorch, init)
    ours = ttorch.optim.Adam(ours_p, lr=0.05)
    first = _run(ttorch, ours, ours_p, range(3), targets)
    sd = ours.state_dict()
    for s in sd["state"].values():
        s["step"] = float(s["step"])
    fresh = ttorch.optim.Adam(ours_p, lr=0.05)
    fresh.load_state_dict(sd)
    _assert_trajectories(first + _run(ttorch, fresh, ours_p, range(3, 8), targets), ref)
    assert fresh.state[ours_p[0]]["step"].dtype == ttorch.float32


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-4, 0.2), b1=st.floats(0.0, 0.99), b2=st.floats(0.5, 0.9999), eps=st.floats(1e-10, 1e-2),
       wd=st.sampled_from([0.0, 1e-3, 0.1]), amsgrad=st.booleans(), maximize=st.booleans(),
       decoupled=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_adam_any_hyperparameters(lr, b1, b2, eps, wd, amsgrad, maximize, decoupled, seed):
    init, targets = _init(seed), _targets(seed + 1)
    kw = dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, amsgrad=amsgrad, maximize=maximize)
    cls = "AdamW" if decoupled else "Adam"
    ours_p, theirs_p = _make(ttorch, init), _make(torch, init)
    _assert_trajectories(_run(ttorch, getattr(ttorch.optim, cls)(ours_p, **kw), ours_p, range(10), targets),
                         _run(torch, getattr(torch.optim, cls)(theirs_p, **kw), theirs_p, range(10), targets))


@pytest.mark.parametrize("name, kw", [("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1)),
                                      ("Adam", dict(lr=0.05, amsgrad=True)), ("RMSprop", dict(centered=True)),
                                      ("Adagrad", dict(lr=0.1)), ("Adadelta", dict(lr=0.5))])
def test_complex_parameters_follow_view_as_real(name, kw):
    rng = numpy.random.default_rng(7)
    z0 = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    c = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    ours_p = ttorch.tensor(z0.copy(), requires_grad=True)
    theirs_p = torch.tensor(z0.copy(), requires_grad=True)
    ours, theirs = getattr(ttorch.optim, name)([ours_p], **kw), getattr(torch.optim, name)([theirs_p], **kw)
    for _ in range(8):
        for lib, p, opt in ((ttorch, ours_p, ours), (torch, theirs_p, theirs)):
            opt.zero_grad()
            ((p - lib.tensor(c)).abs() ** 2).sum().backward()
            opt.step()
        numpy.testing.assert_allclose(numpy.asarray(ours_p._data), theirs_p.detach().numpy(), rtol=RTOL)
    assert ours_p._data.dtype == numpy.complex128
    assert all(v._data.dtype == numpy.complex128 for k, v in ours.state[ours_p].items() if k != "step")


def test_float32_parameters_stay_float32_and_close():
    init, targets = [v.astype(numpy.float32) for v in _init()], [v.astype(numpy.float32) for v in _targets()]
    ours_p = [ttorch.tensor(v, requires_grad=True) for v in init]
    theirs_p = [torch.tensor(v, requires_grad=True) for v in init]
    ours, theirs = ttorch.optim.Adam(ours_p, lr=0.05), torch.optim.Adam(theirs_p, lr=0.05)
    a = _run(ttorch, ours, ours_p, range(10), targets)
    b = _run(torch, theirs, theirs_p, range(10), targets)
    for x, y in zip(a[-1], b[-1]):
        assert x.dtype == numpy.float32
        numpy.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    assert ours.state[ours_p[0]]["exp_avg"]._data.dtype == numpy.float32


def test_step_is_in_place_outside_recording_and_moves_versions():
    p = ttorch.nn.Parameter(ttorch.tensor([1.0, -2.0, 3.0], dtype=ttorch.float64))
    buf, version = p._data, p._version
    opt = ttorch.optim.Adam([p], lr=0.1)
    y = p * 2  # saves nothing of p's values for its gradient...
    z = p * p  # ...this saves p
    (y.sum() + z.sum()).backward(retain_graph=True)
    opt.step()
    assert p._data is buf and p.is_leaf and p.grad_fn is None and p.requires_grad
    assert p._version == version + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_closure_zero_grad_and_errors():
    p = ttorch.tensor([1.0, 2.0], dtype=ttorch.float64, requires_grad=True)
    opt = ttorch.optim.RMSprop([p], lr=0.01)

    def closure():
        opt.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 5.0
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and not numpy.asarray(g._data).any()
    opt.zero_grad()
    assert p.grad is None
    for name, kw, msg in [("Adam", dict(lr=-1), "Invalid learning rate: -1"),
                          ("Adam", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
                          ("Adam", dict(eps=-1), "Invalid epsilon value"),
                          ("AdamW", dict(weight_decay=-0.1), "Invalid weight_decay value"),
                          ("RMSprop", dict(alpha=-0.5), "Invalid alpha value"),
                          ("RMSprop", dict(momentum=-1), "Invalid momentum value"),
                          ("Adagrad", dict(lr_decay=-1), "Invalid lr_decay value"),
                          ("Adagrad", dict(initial_accumulator_value=-1), "Invalid initial_accumulator_value"),
                          ("Adadelta", dict(rho=1.5), "Invalid rho value"),
                          ("SGD", dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum")]:
        with pytest.raises(ValueError, match=msg):
            getattr(ttorch.optim, name)([p], **kw)
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        ttorch.optim.Adam([p], differentiable=True)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        ttorch.optim.Adam([p]).load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        ttorch.optim.Adam([p]).load_state_dict({"state": {}, "param_groups": [{"params": [0, 1]}]})


def test_add_param_group_and_named_parameters():
    a = ttorch.tensor([1.0], requires_grad=True)
    b = ttorch.tensor([2.0], requires_grad=True)
    opt = ttorch.optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {b}})
    net = ttorch.nn.Linear(2, 1)
    named = ttorch.optim.SGD(net.named_parameters(), lr=0.1)
    assert named.param_groups[0]["param_names"] == ["weight", "bias"]
    assert named.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    # Adagrad: a group added later gets its state at its first step
    ag = ttorch.optim.Adagrad([a], lr=0.1)
    ag.add_param_group({"params": [b]})
    (a * b).sum().backward()
    ag.step()
    assert float(ag.state[b]["step"]) == 1.0


# --- schedulers ---------------------------------------------------------------------------------

def _pair(lrs=(0.1, 0.03)):
    """The same two-group SGD optimizer in both libraries."""
    out = []
    for lib in (ttorch, torch):
        ps = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
        out.append(lib.optim.SGD([{"params": ps[:1], "lr": lrs[0]}, {"params": ps[1:], "lr": lrs[1]}], lr=lrs[0]))
    return out


def _lambda(e):
    return 0.95 ** e / (1 + 0.1 * e)


SCHEDULERS = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("StepLR", dict(step_size=1, gamma=0.9)),
    ("MultiStepLR", dict(milestones=[3, 8, 8, 20], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.005)),
    ("LambdaLR", dict(lr_lambda=_lambda)),
    ("LambdaLR", dict(lr_lambda=[_lambda, lambda e: 1.0 / (e + 1)])),
]


def _lr_sequence(opt, sched, n=30):
    seq = [list(sched.get_last_lr())]
    for _ in range(n):
        opt.step()
        sched.step()
        seq.append(list(sched.get_last_lr()))
        assert [g["lr"] for g in opt.param_groups] == seq[-1]
    return seq


@pytest.mark.parametrize("name, kw", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_scheduler_lrs_equal_pytorchs(name, kw):
    ours_opt, theirs_opt = _pair()
    ours = getattr(ttorch.optim.lr_scheduler, name)(ours_opt, **kw)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kw)
    assert _lr_sequence(ours_opt, ours) == _lr_sequence(theirs_opt, theirs)


@pytest.mark.parametrize("name, kw", [s for s in SCHEDULERS if s[0] != "LambdaLR"] + [SCHEDULERS[-2]],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_scheduler_state_dict_round_trip(name, kw):
    """12 epochs, then the optimizer's and the scheduler's state dicts through torch.save/torch.load into
    fresh ones, then 18 more: the learning rates continue PyTorch's 30-epoch sequence."""
    theirs_opt = _pair()[1]
    ref = _lr_sequence(theirs_opt, getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kw))
    ours_opt = _pair()[0]
    ours = getattr(ttorch.optim.lr_scheduler, name)(ours_opt, **kw)
    first = _lr_sequence(ours_opt, ours, 12)
    f = io.BytesIO()
    ttorch.save({"opt": ours_opt.state_dict(), "sched": ours.state_dict()}, f)
    f.seek(0)
    ckpt = ttorch.load(f)
    fresh_opt = _pair((0.5, 0.5))[0]
    fresh_opt.load_state_dict(ckpt["opt"])
    fresh = getattr(ttorch.optim.lr_scheduler, name)(fresh_opt, **kw)
    fresh.load_state_dict(ckpt["sched"])
    assert first + _lr_sequence(fresh_opt, fresh, 18)[1:] == ref


@pytest.mark.parametrize("name, kw", [("StepLR", dict(step_size=3, gamma=0.5)),
                                      ("MultiStepLR", dict(milestones=[2, 5], gamma=0.1)),
                                      ("ExponentialLR", dict(gamma=0.8)), ("CosineAnnealingLR", dict(T_max=6))])
def test_scheduler_step_with_epoch_uses_the_closed_form(name, kw):
    ours_opt, theirs_opt = _pair()
    ours = getattr(ttorch.optim.lr_scheduler, name)(ours_opt, **kw)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in [4, 1, 9, 9, 2]:
            ours_opt.step()
            theirs_opt.step()
            ours.step(epoch)
            theirs.step(epoch)
            assert ours.get_last_lr() == theirs.get_last_lr()


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2),
    dict(mode="min", threshold=0.05, threshold_mode="abs", patience=1, cooldown=2),
    dict(mode="max", threshold=0.1, threshold_mode="rel", patience=0, min_lr=[0.01, 0.02]),
    dict(patience=1, factor=0.3, min_lr=0.004, eps=1e-3),
]


@pytest.mark.parametrize("kw", PLATEAU)
def test_reduce_lr_on_plateau_equals_pytorchs(kw):
    rng = numpy.random.default_rng(11)
    metrics = numpy.cumsum(rng.standard_normal(40) * 0.3 - 0.02)
    ours_opt, theirs_opt = _pair()
    ours = ttorch.optim.lr_scheduler.ReduceLROnPlateau(ours_opt, **kw)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **kw)
    for k, m in enumerate(metrics):
        ours_opt.step()
        theirs_opt.step()
        ours.step(ttorch.tensor(float(m)) if k % 3 == 0 else float(m))  # a 0-d float32 tensor or a float
        theirs.step(torch.tensor(float(m)) if k % 3 == 0 else float(m))
        assert ours.get_last_lr() == theirs.get_last_lr(), k
        assert (ours.num_bad_epochs, ours.cooldown_counter, ours.best) == \
            (theirs.num_bad_epochs, theirs.cooldown_counter, theirs.best)
    # its state dict round-trips through torch.save
    f = io.BytesIO()
    ttorch.save(ours.state_dict(), f)
    f.seek(0)
    fresh = ttorch.optim.lr_scheduler.ReduceLROnPlateau(ours_opt, **kw)
    fresh.load_state_dict(ttorch.load(f))
    assert {k: v for k, v in fresh.state_dict().items()} == ours.state_dict()


def test_scheduler_errors_and_warnings():
    opt = ttorch.optim.SGD([ttorch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        ttorch.optim.lr_scheduler.StepLR(object(), 3)
    with pytest.raises(KeyError, match="initial_lr"):
        ttorch.optim.lr_scheduler.StepLR(opt, 3, last_epoch=4)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        ttorch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode what is unknown"):
        ttorch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="what")
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        ttorch.optim.lr_scheduler.LambdaLR(opt, [_lambda, _lambda])
    sched = ttorch.optim.lr_scheduler.StepLR(opt, 3)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="use `get_last_lr\\(\\)`"):
        sched.get_lr()


# --- a short training, both frameworks ------------------------------------------------------------

def test_mlp_with_adam_and_cosine_schedule_trains_like_pytorch():
    """A 3-8-8-1 tanh MLP from the same float64 initial weights, trained by Adam with a cosine schedule on
    shuffled minibatches (DataLoader with a seeded generator in both): every loss agrees with PyTorch's."""
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((64, 3))
    y = numpy.sin(x @ numpy.array([1.0, -2.0, 0.5]))[:, None]
    weights = [rng.standard_normal(s) * 0.5 for s in [(8, 3), (8,), (8, 8), (8,), (1, 8), (1,)]]

    def train(lib):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(3, 8), lib.nn.Tanh(), lib.nn.Linear(8, 8), lib.nn.Tanh(),
                                lib.nn.Linear(8, 1)).double()
        with lib.no_grad():
            for p, w in zip(net.parameters(), weights):
                p.copy_(lib.tensor(w))
        opt = lib.optim.Adam(net.parameters(), lr=0.02)
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40, eta_min=1e-4)
        data = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.tensor(x), lib.tensor(y)),
                                         batch_size=16, shuffle=True, generator=lib.Generator().manual_seed(3))
        losses = []
        for _ in range(10):
            for xb, yb in data:
                opt.zero_grad()
                loss = lib.nn.functional.mse_loss(net(xb), yb)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(float(loss))
        return losses

    ours, theirs = train(ttorch), train(torch)
    assert len(ours) == len(theirs) == 40
    numpy.testing.assert_allclose(ours, theirs, rtol=1e-9)
    assert ours[-1] < 0.5 * ours[0]
    assert math.isclose(ours[-1], theirs[-1], rel_tol=1e-9)
