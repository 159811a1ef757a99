"""torch.nn, torch.nn.functional, torch.optim and torch.distributions of the PyTorch dialect.

Losses are compared with NumPy formulas, their gradients with central differences (float64), and
module/optimizer behaviour with PyTorch's documented semantics. Nothing here needs PyTorch.
"""
import copy
import math
import pickle
import warnings

import numpy
import pytest

import tapegrad.torch as torch
import tapegrad.torch.distributions as distributions
import tapegrad.torch.nn as nn
import tapegrad.torch.nn.functional as F
import tapegrad.torch.optim as optim
from tapegrad._core.array import OPS
from tapegrad.testing import check_grads
from tapegrad.torch import _random
from tapegrad.torch.distributions import multinomial


def t64(a):
    return torch.tensor(numpy.asarray(a, dtype=numpy.float64), dtype=torch.float64)


def np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - numpy.log(numpy.exp(x - m).sum(axis=axis, keepdims=True))


# --- Parameter --------------------------------------------------------------------------------


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    data = torch.tensor([1.0, 2.0])
    p = nn.Parameter(data)
    assert isinstance(p, torch.Tensor) and isinstance(p, nn.Parameter)
    assert p.is_leaf and p.requires_grad and p.grad is None and p.grad_fn is None
    assert p._data is data._data  # shares the storage, as PyTorch does
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert str(p) == repr(p)
    assert repr(nn.Parameter(torch.tensor([1.0]), requires_grad=False)) == "Parameter containing:\ntensor([1.])"


def test_results_and_gradients_of_parameters_are_plain_tensors():
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    y = (p * p).sum()
    assert type(y) is torch.Tensor and y.grad_fn.name() == "SumBackward0"
    y.backward()
    assert type(p.grad) is torch.Tensor
    numpy.testing.assert_array_equal(p.grad._data, [2.0, 4.0])


def test_parameter_needs_a_floating_tensor():
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype can require gradients"):
        nn.Parameter(torch.tensor([1, 2]))


def test_parameter_survives_copy_and_pickle():
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(q) is nn.Parameter and q.requires_grad and q._data is not p._data
        numpy.testing.assert_array_equal(q._data, p._data)


# --- Module -----------------------------------------------------------------------------------


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        self.hidden = nn.Linear(2, 3)
        self.out = nn.Sequential(nn.ReLU(), nn.Linear(3, 1))
        self.note = "not registered"

    def forward(self, x):
        return self.out(self.hidden(x @ self.w))


def test_setattr_registers_parameters_and_submodules():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["w", "hidden.weight", "hidden.bias", "out.1.weight", "out.1.bias"]
    assert [p.shape for p in net.parameters()] == [(2, 2), (3, 2), (3,), (1, 3), (1,)]
    assert list(net.children()) == [net.hidden, net.out]
    assert [type(m).__name__ for m in net.modules()] == ["Net", "Linear", "Sequential", "ReLU", "Linear"]
    assert net.note == "not registered" and "note" not in net._parameters
    assert net.out[1] is net._modules["out"]._modules["1"]


def test_module_attribute_errors():
    net = Net()
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'w' "
                                        r"\(torch.nn.Parameter or None expected\)"):
        net.w = torch.tensor([1.0])
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'missing'"):
        net.missing  # noqa: B018

    class Early(nn.Module):
        def __init__(self):
            self.p = nn.Parameter(torch.tensor([1.0]))

    with pytest.raises(AttributeError, match=r"cannot assign parameters before Module.__init__\(\) call"):
        Early()
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward" function'):
        nn.Module()(1)


def test_shared_parameters_are_listed_once_and_deleted_attributes_unregistered():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    net = Net()
    del net.hidden
    assert "hidden.weight" not in dict(net.named_parameters())


def test_call_runs_forward_and_hooks():
    torch.manual_seed(0)
    net = Net()
    x = torch.tensor([[1.0, -1.0]])
    seen = []
    h = net.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    y = net(x)
    assert y.shape == (1, 1) and y.grad_fn is not None and seen == [(1, 1)]
    h.remove()
    net(x)
    assert len(seen) == 1


def test_train_and_eval_flip_training_recursively():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net and all(m.training for m in net.modules())
    net.out.eval()
    assert net.training and net.hidden.training and not net.out[0].training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("yes")


def test_zero_grad_sets_none_by_default_or_zeros_in_place():
    torch.manual_seed(0)
    net = Net()
    net(torch.tensor([[1.0, 2.0]])).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    grads = [p.grad for p in net.parameters()]
    net.zero_grad(set_to_none=False)
    for p, g in zip(net.parameters(), grads):
        assert p.grad is g and not g._data.any()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_round_trip_copies_in_place():
    torch.manual_seed(0)
    a, b = Net(), Net()
    sd = a.state_dict()
    assert list(sd) == ["w", "hidden.weight", "hidden.bias", "out.1.weight", "out.1.bias"]
    assert all(not v.requires_grad for v in sd.values())
    before = [(p, p._data) for p in b.parameters()]
    res = b.load_state_dict(sd)
    assert repr(res) == "<All keys matched successfully>"
    for (p, buf), q in zip(before, a.parameters()):
        assert p._data is buf
        numpy.testing.assert_array_equal(buf, q._data)


def test_load_state_dict_reports_keys_and_sizes():
    lin = nn.Linear(2, 3)
    with pytest.raises(RuntimeError) as e:
        lin.load_state_dict({"weight": torch.zeros(3, 2), "extra": torch.zeros(1)})
    assert str(e.value) == ('Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". '
                            '\n\tUnexpected key(s) in state_dict: "extra". ')
    res = lin.load_state_dict({"weight": torch.zeros(3, 2), "extra": torch.zeros(1)}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["extra"]
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a param with shape "
                                           r"torch.Size\(\[2, 2\]\) from checkpoint, the shape in current model is "
                                           r"torch.Size\(\[3, 2\]\)."):
        lin.load_state_dict({"weight": torch.zeros(2, 2), "bias": torch.zeros(3)})


def test_module_reprs():
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Dropout(0.5), nn.Linear(3, 2, bias=False),
                        nn.Softmax(dim=1))
    assert repr(net) == ("Sequential(\n"
                         "  (0): Flatten(start_dim=1, end_dim=-1)\n"
                         "  (1): Linear(in_features=4, out_features=3, bias=True)\n"
                         "  (2): ReLU()\n"
                         "  (3): Dropout(p=0.5, inplace=False)\n"
                         "  (4): Linear(in_features=3, out_features=2, bias=False)\n"
                         "  (5): Softmax(dim=1)\n"
                         ")")
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()" and repr(nn.MSELoss()) == "MSELoss()"
    # a slice keeps the names, as PyTorch's does
    assert repr(net[1:3]) == ("Sequential(\n  (1): Linear(in_features=4, out_features=3, bias=True)\n"
                              "  (2): ReLU()\n)")
    assert len(net) == 6 and net[-1] is net[5]
    with pytest.raises(IndexError, match="index 6 is out of range"):
        net[6]  # noqa: B018


def test_linear_initialisation_follows_pytorch():
    torch.manual_seed(0)
    lin = nn.Linear(4, 3)
    # torch.manual_seed(0); torch.rand(4) is [0.4963, 0.7682, 0.0885, 0.1320]; the bound is 1/sqrt(4)
    numpy.testing.assert_allclose(lin.weight._data[0], [-0.0037, 0.2682, -0.4115, -0.3680], atol=1e-4)
    assert lin.weight.dtype == torch.float32 and lin.weight.shape == (3, 4) and lin.bias.shape == (3,)
    gen = _random.Generator()
    gen.manual_seed(0)
    bound = math.sqrt(3.0) * (math.sqrt(2.0 / 6) / math.sqrt(4))
    numpy.testing.assert_array_equal(lin.weight._data, gen.uniform((3, 4), -bound, bound))
    numpy.testing.assert_array_equal(lin.bias._data, gen.uniform((3,), -0.5, 0.5))
    big = nn.Linear(100, 50, dtype=torch.float64)
    assert big.weight.dtype == torch.float64
    assert numpy.abs(big.weight._data).max() <= 0.1 and numpy.abs(big.bias._data).max() <= 0.1


def test_linear_forward_and_shape_error():
    lin = nn.Linear(2, 3)
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    expected = x._data @ lin.weight._data.T + lin.bias._data
    numpy.testing.assert_allclose(lin(x)._data, expected, rtol=1e-6)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"):
        lin(torch.zeros(2, 3))


def test_flatten_relu_softmax_modules():
    x = torch.tensor(numpy.arange(24, dtype=numpy.float32).reshape(2, 3, 4) - 12)
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    numpy.testing.assert_array_equal(nn.ReLU()(x)._data, numpy.maximum(x._data, 0))
    s = nn.Softmax(dim=-1)(x)
    numpy.testing.assert_allclose(s._data.sum(-1), 1, rtol=1e-6)


# --- functional activations -------------------------------------------------------------------


def test_activations_match_numpy():
    x = numpy.array([[-2.0, -0.5, 0.3], [1.0, 2.5, -3.0]])
    tx = t64(x)
    numpy.testing.assert_allclose(F.relu(tx)._data, numpy.maximum(x, 0))
    numpy.testing.assert_allclose(F.sigmoid(tx)._data, 1 / (1 + numpy.exp(-x)))
    numpy.testing.assert_allclose(F.tanh(tx)._data, numpy.tanh(x))
    for dim in (0, 1, -1):
        e = numpy.exp(x - x.max(dim, keepdims=True))
        numpy.testing.assert_allclose(F.softmax(tx, dim)._data, e / e.sum(dim, keepdims=True))
        numpy.testing.assert_allclose(F.log_softmax(tx, dim=dim)._data, np_log_softmax(x, dim))
    assert F.softmax(tx, 1).grad_fn is None
    tx.requires_grad_()
    assert F.softmax(tx, 1).grad_fn.name() == "SoftmaxBackward0"
    assert F.log_softmax(tx, 1).grad_fn.name() == "LogSoftmaxBackward0"


def test_softmax_without_dim_warns_and_picks_pytorchs_dim():
    x = t64([[1.0, 2.0], [3.0, 5.0]])
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax has been deprecated"):
        s = F.softmax(x)
    numpy.testing.assert_allclose(s._data.sum(1), 1)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        F.softmax(x, 2)


def test_relu_inplace():
    x = torch.tensor([-1.0, 2.0])
    assert F.relu(x, inplace=True) is x
    numpy.testing.assert_array_equal(x._data, [0.0, 2.0])
    leaf = torch.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        F.relu(leaf, inplace=True)


# --- losses -----------------------------------------------------------------------------------

LOGITS = numpy.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0], [-1.5, 0.0, 0.7]])
TARGET = numpy.array([1, 2, 0, 0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_numpy(reduction):
    per = -np_log_softmax(LOGITS, 1)[numpy.arange(4), TARGET]
    expected = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    got = F.cross_entropy(t64(LOGITS), torch.tensor(TARGET), reduction=reduction)
    assert got.dtype == torch.float64
    numpy.testing.assert_allclose(got._data, expected, rtol=1e-12)
    mod = nn.CrossEntropyLoss(reduction=reduction)
    numpy.testing.assert_allclose(mod(t64(LOGITS), torch.tensor(TARGET))._data, expected, rtol=1e-12)
    got32 = F.cross_entropy(torch.tensor(LOGITS.astype(numpy.float32)), torch.tensor(TARGET), reduction=reduction)
    assert got32.dtype == torch.float32
    numpy.testing.assert_allclose(got32._data, expected, rtol=1e-6)


def test_cross_entropy_weight_ignore_index_and_extra_dims():
    w = numpy.array([0.2, 1.0, 3.0])
    target = numpy.array([1, -100, 0, 2])
    logp = np_log_softmax(LOGITS, 1)
    keep = target != -100
    per = numpy.where(keep, -logp[numpy.arange(4), numpy.where(keep, target, 0)] * w[numpy.where(keep, target, 0)], 0)
    got = F.cross_entropy(t64(LOGITS), torch.tensor(target), weight=t64(w))
    numpy.testing.assert_allclose(got._data, per.sum() / w[target[keep]].sum(), rtol=1e-12)
    got = F.cross_entropy(t64(LOGITS), torch.tensor(target), weight=t64(w), reduction="none")
    numpy.testing.assert_allclose(got._data, per, rtol=1e-12)
    # (N, C, d): the class axis is 1
    x = numpy.random.default_rng(0).normal(size=(2, 3, 4))
    t = numpy.array([[0, 1, 2, 1], [2, 2, 0, 0]])
    lp = np_log_softmax(x, 1)
    per = -numpy.take_along_axis(lp, t[:, None], 1)[:, 0]
    numpy.testing.assert_allclose(F.cross_entropy(t64(x), torch.tensor(t), reduction="none")._data, per)
    numpy.testing.assert_allclose(F.cross_entropy(t64(x), torch.tensor(t))._data, per.mean())
    # no batch axis: (C,) logits and a 0-d target
    numpy.testing.assert_allclose(F.cross_entropy(t64(LOGITS[0]), torch.tensor(1))._data,
                                  -np_log_softmax(LOGITS[0], 0)[1])


def test_cross_entropy_with_probabilities_and_label_smoothing():
    probs = numpy.array([[0.2, 0.8, 0.0], [0.1, 0.1, 0.8], [1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]])
    logp = np_log_softmax(LOGITS, 1)
    per = -(probs * logp).sum(1)
    numpy.testing.assert_allclose(F.cross_entropy(t64(LOGITS), t64(probs))._data, per.mean())
    numpy.testing.assert_allclose(F.cross_entropy(t64(LOGITS), t64(probs), reduction="none")._data, per)
    eps = 0.1
    per_nll = -logp[numpy.arange(4), TARGET]
    smooth = -logp.sum(1)
    expected = (1 - eps) * per_nll.mean() + smooth.mean() * eps / 3
    numpy.testing.assert_allclose(F.cross_entropy(t64(LOGITS), torch.tensor(TARGET), label_smoothing=eps)._data,
                                  expected)
    soft = (1 - eps) * numpy.eye(3)[TARGET] + eps / 3
    numpy.testing.assert_allclose(expected, -(soft * logp).sum(1).mean())


def test_cross_entropy_errors_are_pytorchs():
    x = t64(LOGITS)
    with pytest.raises(ValueError, match=r"Expected input batch_size \(4\) to match target batch_size \(2\)\."):
        F.cross_entropy(x, torch.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not supported"):
        F.cross_entropy(x, torch.tensor([[0, 1], [1, 0], [0, 0], [1, 1]]))
    with pytest.raises(IndexError, match="Target 3 is out of bounds."):
        F.cross_entropy(x, torch.tensor([0, 3, 1, 0]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds."):
        F.cross_entropy(x, torch.tensor([0, -1, 1, 0]))
    with pytest.raises(RuntimeError, match="expected scalar type Long but found Float"):
        F.cross_entropy(x, torch.tensor([0.0, 1.0, 1.0, 0.0]))
    with pytest.raises(RuntimeError, match="expected scalar type Long but found Int"):
        F.cross_entropy(x, torch.tensor([0, 1, 1, 0], dtype=torch.int32))
    with pytest.raises(RuntimeError, match="Expected floating point type for target with class probabilities, "
                                           "got Long"):
        F.cross_entropy(x, torch.tensor(numpy.zeros((4, 3), dtype=numpy.int64)))
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.cross_entropy(x, torch.tensor(TARGET), reduction="avg")
    with pytest.raises(ValueError, match=r"Expected 1 or more dimensions \(got 0\)"):
        F.cross_entropy(t64(1.0), torch.tensor([0]))
    with pytest.raises(RuntimeError, match=r"Expected target size \[2, 4\], got \[2, 3\]"):
        F.cross_entropy(t64(numpy.zeros((2, 3, 4))), torch.tensor(numpy.zeros((2, 3), dtype=numpy.int64)))
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 3 classes or no classes "
                                           r"but got weight tensor of shape: \[2\]"):
        F.cross_entropy(x, torch.tensor(TARGET), weight=t64([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"cross_entropy\(\): argument 'target' \(position 2\) must be Tensor, "
                                        "not list"):
        F.cross_entropy(x, [1, 2, 0, 0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_gradients_match_finite_differences(reduction):
    target = torch.tensor(TARGET)
    check_grads(lambda x: F.cross_entropy(x, target, reduction=reduction), [t64(LOGITS)], order=2)
    w = t64([0.5, 2.0, 1.0])
    ignored = torch.tensor([1, -100, 0, 2])
    check_grads(lambda x: F.cross_entropy(x, ignored, weight=w, reduction=reduction), [t64(LOGITS)], order=2)
    check_grads(lambda x: F.cross_entropy(x, target, reduction=reduction, label_smoothing=0.2), [t64(LOGITS)])
    probs = t64(numpy.full((4, 3), 1 / 3))
    check_grads(lambda x, p: F.cross_entropy(x, p, reduction=reduction), [t64(LOGITS), probs])


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    x = t64(LOGITS).requires_grad_()
    loss = F.cross_entropy(x, torch.tensor(TARGET))
    assert loss.grad_fn.name() == "NllLossBackward0"
    loss.backward()
    e = numpy.exp(LOGITS - LOGITS.max(1, keepdims=True))
    sm = e / e.sum(1, keepdims=True)
    numpy.testing.assert_allclose(x.grad._data, (sm - numpy.eye(3)[TARGET]) / 4, rtol=1e-12)


def test_nll_loss_matches_numpy():
    logp = np_log_softmax(LOGITS, 1)
    for reduction, f in (("mean", numpy.mean), ("sum", numpy.sum), ("none", lambda v: v)):
        got = F.nll_loss(t64(logp), torch.tensor(TARGET), reduction=reduction)
        numpy.testing.assert_allclose(got._data, f(-logp[numpy.arange(4), TARGET]))
    numpy.testing.assert_allclose(nn.NLLLoss()(t64(logp), torch.tensor(TARGET))._data,
                                  -logp[numpy.arange(4), TARGET].mean())
    check_grads(lambda x: F.nll_loss(x, torch.tensor(TARGET)), [t64(logp)])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_numpy_and_finite_differences(reduction):
    rng = numpy.random.default_rng(1)
    a, b = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    sq = (a - b) ** 2
    expected = {"mean": sq.mean(), "sum": sq.sum(), "none": sq}[reduction]
    numpy.testing.assert_allclose(F.mse_loss(t64(a), t64(b), reduction=reduction)._data, expected)
    numpy.testing.assert_allclose(nn.MSELoss(reduction=reduction)(t64(a), t64(b))._data, expected)
    check_grads(lambda x, y: F.mse_loss(x, y, reduction=reduction), [t64(a), t64(b)])


def test_mse_loss_grad_fn_and_broadcast_warning():
    x = torch.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    loss = nn.MSELoss()(x, torch.tensor([[1.0], [1.0], [1.0]]))
    assert repr(loss) == "tensor(1.6667, grad_fn=<MseLossBackward0>)"
    with pytest.warns(UserWarning, match=r"Using a target size \(torch.Size\(\[3\]\)\) that is different to the "
                                         r"input size \(torch.Size\(\[3, 1\]\)\)"):
        loss = F.mse_loss(x, torch.tensor([1.0, 1.0, 1.0]))
    numpy.testing.assert_allclose(loss._data, 5 / 3, rtol=1e-6)  # (3, 3) after broadcasting


def test_legacy_reduction_arguments():
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        loss = F.mse_loss(t64([1.0, 3.0]), t64([0.0, 0.0]), size_average=False)
    numpy.testing.assert_allclose(loss._data, 10.0)


# --- dropout ----------------------------------------------------------------------------------


def test_dropout_in_training_zeroes_and_rescales():
    torch.manual_seed(0)
    x = torch.ones(200, 50)
    y = F.dropout(x, p=0.3)
    vals = numpy.unique(y._data)
    numpy.testing.assert_allclose(vals, [0.0, numpy.float32(1) / numpy.float32(0.7)], rtol=1e-7)
    assert abs((y._data == 0).mean() - 0.3) < 0.02
    torch.manual_seed(0)
    numpy.testing.assert_array_equal(F.dropout(x, p=0.3)._data, y._data)  # the default generator's stream
    gen = _random.Generator()
    gen.manual_seed(0)
    mask = gen.bernoulli(0.7, (200, 50))
    numpy.testing.assert_array_equal(y._data, mask / numpy.float32(0.7))


def test_dropout_gradient_is_the_mask():
    torch.manual_seed(1)
    x = torch.tensor(numpy.linspace(-1, 1, 40, dtype=numpy.float32), requires_grad=True)
    y = F.dropout(x, 0.5)
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    numpy.testing.assert_array_equal(x.grad._data, numpy.where(y._data != 0, 2.0, 0.0))


def test_dropout_outside_training_is_the_identity():
    x = torch.ones(3, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0)._data.any()
    layer = nn.Dropout(0.5)
    assert layer.training and layer.eval().training is False and layer(x) is x
    layer.train()
    assert (layer(torch.ones(100))._data == 0).any()
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got -0.1"):
        nn.Dropout(-0.1)


# --- optim ------------------------------------------------------------------------------------


def _grads_for(params):
    loss = None
    for i, p in enumerate(params):
        term = (p * p * (i + 1)).sum()
        loss = term if loss is None else loss + term
    loss.backward()


def test_sgd_updates_parameters_in_place():
    w = nn.Parameter(torch.tensor([1.0, -2.0]))
    b = torch.tensor([0.5], requires_grad=True)
    ids, bufs = (id(w), id(b)), (w._data, b._data)
    opt = optim.SGD([w, b], lr=0.1)
    _grads_for([w, b])
    opt.step()
    assert (id(w), id(b)) == ids and (w._data, b._data) == bufs
    assert w._data is bufs[0] and b._data is bufs[1]
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    numpy.testing.assert_allclose(w._data, [1.0 - 0.1 * 2.0, -2.0 + 0.1 * 4.0], rtol=1e-6)
    numpy.testing.assert_allclose(b._data, [0.5 - 0.1 * 2.0], rtol=1e-6)
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and not grad._data.any()
    opt.zero_grad()
    assert w.grad is None and b.grad is None
    opt.step()  # parameters without gradients are skipped
    numpy.testing.assert_allclose(w._data, [0.8, -1.6], rtol=1e-6)


def test_sgd_momentum_and_weight_decay_follow_pytorchs_formulas():
    x0 = numpy.array([1.0, -2.0, 0.5])
    p = t64(x0).requires_grad_()
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01, dampening=0.1)
    ref, buf = x0.copy(), None
    for _ in range(3):
        opt.zero_grad()
        (p * p * p).sum().backward()
        opt.step()
        d = 3 * ref ** 2 + 0.01 * ref
        buf = d.copy() if buf is None else 0.9 * buf + 0.9 * d
        ref = ref - 0.1 * buf
        numpy.testing.assert_allclose(p._data, ref, rtol=1e-12)
    nest = t64(x0).requires_grad_()
    opt = optim.SGD([nest], lr=0.1, momentum=0.5, nesterov=True)
    ref, buf = x0.copy(), None
    for _ in range(2):
        opt.zero_grad()
        (nest * nest).sum().backward()
        opt.step()
        d = 2 * ref
        buf = d.copy() if buf is None else 0.5 * buf + d
        ref = ref - 0.1 * (d + 0.5 * buf)
        numpy.testing.assert_allclose(nest._data, ref, rtol=1e-12)


def test_sgd_with_a_module_and_param_groups():
    torch.manual_seed(0)
    net = Net()
    opt = optim.SGD([{"params": [net.w]}, {"params": net.hidden.parameters(), "lr": 0.5}], lr=0.01)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.5]
    assert opt.param_groups[0]["momentum"] == 0
    before = net.hidden.weight._data.copy()
    net(torch.tensor([[1.0, 2.0]])).sum().backward()
    g = net.hidden.weight.grad._data.copy()
    opt.step()
    numpy.testing.assert_allclose(net.hidden.weight._data, before - 0.5 * g, rtol=1e-6)
    assert repr(opt).startswith("SGD (\nParameter Group 0\n    dampening: 0\n")


def test_optimizer_errors():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.SGD([nn.Parameter(torch.zeros(1))], lr=-1)
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an iterable of Tensors"):
        optim.SGD(nn.Parameter(torch.zeros(1)), lr=0.1)
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([x * 2], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([x], lr=0.1, nesterov=True)
    assert isinstance(optim.SGD([x], lr=0.1), optim.Optimizer)


# --- nn.init ----------------------------------------------------------------------------------


def test_init_functions_fill_in_place():
    w = nn.Parameter(torch.zeros(3, 4))
    buf = w._data
    nn.init.normal_(w, std=0.01)
    assert w._data is buf and 0 < numpy.abs(buf).max() < 0.1
    nn.init.zeros_(w)
    assert not buf.any()
    nn.init.constant_(w, 2.5)
    assert (buf == 2.5).all()
    nn.init.xavier_uniform_(w)
    assert numpy.abs(buf).max() <= math.sqrt(6 / 7)
    assert nn.init.calculate_gain("relu") == math.sqrt(2)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(nn.Parameter(torch.zeros(3)))


# --- distributions ----------------------------------------------------------------------------


def test_multinomial_counts_like_pytorch():
    fair_probs = torch.ones([6]) / 6
    torch.manual_seed(0)
    one = multinomial.Multinomial(1, fair_probs).sample()
    assert one.shape == (6,) and one.dtype == torch.float32 and one._data.sum() == 1
    counts = multinomial.Multinomial(10, fair_probs).sample((500,))
    assert counts.shape == (500, 6) and counts.dtype == torch.float32
    assert (counts._data.sum(1) == 10).all()
    freq = counts._data.sum(0) / 5000
    assert numpy.abs(freq - 1 / 6).max() < 0.03
    torch.manual_seed(0)
    numpy.testing.assert_array_equal(multinomial.Multinomial(1, fair_probs).sample()._data, one._data)


def test_multinomial_uses_the_default_generator_like_categorical():
    probs = numpy.array([0.1, 0.2, 0.3, 0.4], dtype=numpy.float32)
    torch.manual_seed(3)
    counts = distributions.Multinomial(7, torch.tensor(probs)).sample((2,))
    gen = _random.Generator()
    gen.manual_seed(3)
    draws = gen.multinomial(probs[None] / probs.sum(), 14, True).T.reshape(7, 2)  # (total_count, sample)
    expected = numpy.stack([numpy.bincount(draws[:, j], minlength=4) for j in range(2)]).astype(numpy.float32)
    numpy.testing.assert_array_equal(counts._data, expected)


def test_multinomial_batches_and_validation():
    probs = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 5.0]])  # rows are normalised
    d = distributions.Multinomial(4, probs)
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    s = d.sample((3,))
    assert s.shape == (3, 2, 3)
    assert (s._data[:, 0, 2] == 0).all() and (s._data[:, 1] == [0, 0, 4]).all()
    numpy.testing.assert_allclose(d.mean._data, [[2, 2, 0], [0, 0, 4]])
    with pytest.raises(ValueError, match="to satisfy the constraint Simplex()"):
        distributions.Multinomial(3, torch.tensor([0.5, -0.1, 0.6]))
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count is not supported"):
        distributions.Multinomial(torch.tensor([3.0]), probs)
    cat = distributions.Categorical(torch.tensor([0.0, 1.0]))
    assert cat.sample((4,))._data.tolist() == [1, 1, 1, 1]


def test_no_gradient_machinery_outside_the_registry():
    """The fused losses are registry ops with rules (checked by the op sweep)."""
    from tapegrad.ops.registry import REGISTRY
    for name in ("nll_loss", "mse_loss"):
        assert REGISTRY[name].vjp_fn is not None and REGISTRY[name].samples is not None
        assert getattr(OPS, name) is REGISTRY[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.cross_entropy(t64(LOGITS), torch.tensor(TARGET))


def test_module_dtype_casts_and_data_writes_reach_the_parameters():
    net = nn.Sequential(nn.Linear(2, 1))
    net[0].weight.data.fill_(0.5)  # D2L's concise chapter initialises through .data
    net[0].bias.data.zero_()
    numpy.testing.assert_array_equal(net[0].weight._data, [[0.5, 0.5]])
    w = net[0].weight
    assert net.double() is net and net[0].weight is w and w.dtype == torch.float64
    out = net(t64([[1.0, 2.0]]))
    assert out.dtype == torch.float64 and float(out) == 1.5
    assert net.to(torch.float32) is net and w.dtype == torch.float32
