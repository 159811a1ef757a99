"""The PyTorch dialect's functions and Tensor methods (tapegrad.torch._functions): values against NumPy,
PyTorch's argument spellings, named tuples, errors, in-place semantics, and second derivatives through
``torch.autograd.grad(..., create_graph=True)`` for every differentiable function exposed."""
import warnings

import numpy as np
import pytest

import tapegrad.torch as torch
from tapegrad.testing import check_grads
from tapegrad.torch import _functions as fns
from tapegrad.torch._functions import elementwise, inplace

F64 = torch.float64
rng = np.random.default_rng(1234)


def T(a, dtype=F64):
    return torch.tensor(np.asarray(a), dtype=dtype)


def N(t):
    return np.asarray(t.detach().numpy())


def draw(*shape, lo=-2.0, hi=2.0, avoid=()):
    x = rng.uniform(lo, hi, size=shape)
    for p in avoid:
        x = np.where(np.abs(x - p) < 0.15, p + 0.3, x)
    return x


A = draw(3, 4)
B = draw(3, 4)


# ----------------------------------------------------------------------------------------------
# size, shape and dtype information
# ----------------------------------------------------------------------------------------------

def test_size_shape_dim_numel():
    x = torch.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and repr(x.shape) == "torch.Size([2, 3, 4])"
    assert repr(x.size()) == "torch.Size([2, 3, 4])"
    assert x.size(1) == 3 and x.size(-1) == 4 and x.size(dim=0) == 2
    assert x.dim() == 3 and x.ndimension() == 3 and x.ndim == 3
    assert x.numel() == 24 and x.nelement() == 24 and torch.numel(x) == 24
    assert x.dtype == torch.float32 and repr(x.dtype) == "torch.float32"
    assert x.element_size() == 4 and x.is_floating_point() and not x.long().is_floating_point()
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(3)
    assert str(x.device) == "cpu"


def test_conversions():
    x = torch.tensor([1.5, -2.0, 0.0])
    assert x.double().dtype == torch.float64
    assert x.long().dtype == torch.int64 and x.long().tolist() == [1, -2, 0]
    assert x.int().dtype == torch.int32 and x.half().dtype == torch.float16
    assert x.bool().tolist() == [True, True, False]
    assert x.float() is x and x.to(torch.float32) is x and x.to("cpu") is x
    assert x.to(torch.float64).dtype == torch.float64
    assert x.to("cpu", torch.float64).dtype == torch.float64
    assert x.to(torch.zeros(1, dtype=torch.int64)).dtype == torch.int64
    assert x.type() == "torch.FloatTensor" and x.long().type() == "torch.LongTensor"
    assert x.type(torch.float64).dtype == torch.float64
    assert x.type("torch.DoubleTensor").dtype == torch.float64
    assert x.type_as(torch.zeros(1, dtype=torch.int32)).dtype == torch.int32
    assert x.contiguous() is x and x.cpu() is x
    c = x.to(torch.float32, copy=True)
    assert c is not x and c.tolist() == x.tolist()
    assert x.new_zeros(2, 2).dtype == torch.float32 and x.new_ones((3,)).tolist() == [1, 1, 1]
    assert x.new_full((2,), 7).tolist() == [7, 7] and x.new_tensor([1, 2]).dtype == torch.float32


def test_casts_are_differentiable_between_floats_only():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.requires_grad and y.grad_fn.name() == "ToCopyBackward0"
    (y * y).sum().backward()
    assert x.grad.dtype == torch.float32 and x.grad.tolist() == [2.0, 4.0]
    z = x.long()
    assert not z.requires_grad and z.dtype == torch.int64
    (g,) = torch.autograd.grad((x.double() ** 3).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    assert h.tolist() == [6.0, 12.0]


# ----------------------------------------------------------------------------------------------
# values against NumPy
# ----------------------------------------------------------------------------------------------

POS = np.abs(A) + 0.5
UNIT = np.tanh(A) * 0.9

VALUE_CASES = [
    ("abs", lambda x: x.abs(), np.abs, A),
    ("exp", lambda x: torch.exp(x), np.exp, A),
    ("log", lambda x: x.log(), np.log, POS),
    ("log2", lambda x: torch.log2(x), np.log2, POS),
    ("log1p", lambda x: x.log1p(), np.log1p, POS),
    ("sqrt", lambda x: torch.sqrt(x), np.sqrt, POS),
    ("rsqrt", lambda x: x.rsqrt(), lambda a: 1 / np.sqrt(a), POS),
    ("sin", lambda x: x.sin(), np.sin, A),
    ("cos", lambda x: torch.cos(x), np.cos, A),
    ("tan", lambda x: x.tan(), np.tan, UNIT),
    ("asin", lambda x: torch.asin(x), np.arcsin, UNIT),
    ("atan", lambda x: x.atan(), np.arctan, A),
    ("tanh", lambda x: x.tanh(), np.tanh, A),
    ("sigmoid", lambda x: torch.sigmoid(x), lambda a: 1 / (1 + np.exp(-a)), A),
    ("relu", lambda x: x.relu(), lambda a: np.maximum(a, 0), A),
    ("neg", lambda x: -x.neg(), lambda a: a, A),
    ("reciprocal", lambda x: x.reciprocal(), lambda a: 1 / a, POS),
    ("square", lambda x: torch.square(x), np.square, A),
    ("exp2", lambda x: x.exp2(), np.exp2, A),
    ("sign", lambda x: x.sign(), np.sign, A),
    ("floor", lambda x: x.floor(), np.floor, A * 3),
    ("ceil", lambda x: x.ceil(), np.ceil, A * 3),
    ("round", lambda x: x.round(), np.round, A * 3),
    ("round-decimals", lambda x: torch.round(x, decimals=1), lambda a: np.round(a, 1), A * 3),
    ("trunc", lambda x: x.trunc(), np.trunc, A * 3),
    ("frac", lambda x: x.frac(), lambda a: a - np.trunc(a), A * 3),
    ("clamp", lambda x: x.clamp(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), A),
    ("clamp-min", lambda x: x.clamp(min=0), lambda a: np.maximum(a, 0), A),
    ("clip-max", lambda x: torch.clip(x, max=0.3), lambda a: np.minimum(a, 0.3), A),
    ("clamp-tensor", lambda x: x.clamp(T(B), T(B) + 1), lambda a: np.minimum(np.maximum(a, B), B + 1), A),
    ("pow", lambda x: x.pow(3), lambda a: a ** 3, A),
    ("pow-scalar-base", lambda x: torch.pow(2, x), lambda a: 2.0 ** a, A),
    ("add-alpha", lambda x: x.add(T(B), alpha=2), lambda a: a + 2 * B, A),
    ("sub-alpha", lambda x: torch.sub(x, T(B), alpha=3), lambda a: a - 3 * B, A),
    ("rsub", lambda x: torch.rsub(x, 1.0), lambda a: 1.0 - a, A),
    ("mul", lambda x: x.mul(T(B)), lambda a: a * B, A),
    ("div", lambda x: x.div(T(POS)), lambda a: a / POS, A),
    ("div-floor", lambda x: x.div(0.7, rounding_mode="floor"), lambda a: np.floor(a / 0.7), A),
    ("div-trunc", lambda x: torch.div(x, 0.7, rounding_mode="trunc"), lambda a: np.trunc(a / 0.7), A),
    ("remainder", lambda x: x.remainder(0.7), lambda a: np.remainder(a, 0.7), A),
    ("fmod", lambda x: torch.fmod(x, 0.7), lambda a: np.fmod(a, 0.7), A),
    ("maximum", lambda x: torch.maximum(x, T(B)), lambda a: np.maximum(a, B), A),
    ("max-elementwise", lambda x: torch.max(x, T(B)), lambda a: np.maximum(a, B), A),
    ("min-elementwise", lambda x: x.min(T(B)), lambda a: np.minimum(a, B), A),
    ("atan2", lambda x: torch.atan2(x, T(B)), lambda a: np.arctan2(a, B), A),
    ("hypot", lambda x: x.hypot(T(B)), lambda a: np.hypot(a, B), A),
    ("logaddexp", lambda x: x.logaddexp(T(B)), lambda a: np.logaddexp(a, B), A),
    ("lerp", lambda x: x.lerp(T(B), 0.3), lambda a: a + 0.3 * (B - a), A),
    ("sum", lambda x: x.sum(), np.sum, A),
    ("sum-dim", lambda x: x.sum(dim=1), lambda a: a.sum(1), A),
    ("sum-dim-list", lambda x: x.sum(dim=[0, 1]), lambda a: a.sum((0, 1)), A),
    ("sum-axis-list", lambda x: x.sum(axis=[0, 1]), lambda a: a.sum((0, 1)), A),
    ("sum-keepdim", lambda x: torch.sum(x, 1, keepdim=True), lambda a: a.sum(1, keepdims=True), A),
    ("sum-keepdims", lambda x: x.sum(axis=1, keepdims=True), lambda a: a.sum(1, keepdims=True), A),
    ("mean", lambda x: x.mean(), np.mean, A),
    ("mean-dim", lambda x: x.mean(dim=0, keepdim=True), lambda a: a.mean(0, keepdims=True), A),
    ("mean-axis", lambda x: x.mean(axis=0), lambda a: a.mean(0), A),
    ("prod", lambda x: x.prod(1), lambda a: a.prod(1), A),
    ("std-unbiased", lambda x: x.std(), lambda a: a.std(ddof=1), A),
    ("std-biased", lambda x: x.std(unbiased=False), lambda a: a.std(), A),
    ("std-legacy-bool", lambda x: x.std(False), lambda a: a.std(), A),
    ("var-dim", lambda x: x.var(dim=1), lambda a: a.var(1, ddof=1), A),
    ("var-correction", lambda x: torch.var(x, 0, correction=0, keepdim=True), lambda a: a.var(0, keepdims=True), A),
    ("var-axis", lambda x: x.var(axis=1), lambda a: a.var(1, ddof=1), A),
    ("norm", lambda x: x.norm(), np.linalg.norm, A),
    ("norm-p1", lambda x: x.norm(p=1), lambda a: np.abs(a).sum(), A),
    ("norm-dim", lambda x: torch.norm(x, dim=1), lambda a: np.linalg.norm(a, axis=1), A),
    ("norm-inf-keepdim", lambda x: x.norm(p=float("inf"), dim=0, keepdim=True),
     lambda a: np.abs(a).max(0, keepdims=True), A),
    ("norm-fro-dims", lambda x: x.norm(p="fro", dim=(0, 1)), np.linalg.norm, A),
    ("dist", lambda x: torch.dist(x, T(B)), lambda a: np.linalg.norm(a - B), A),
    ("max", lambda x: x.max(), np.max, A),
    ("min", lambda x: torch.min(x), np.min, A),
    ("max-dim-values", lambda x: x.max(dim=1).values, lambda a: a.max(1), A),
    ("max-axis-values", lambda x: x.max(axis=1, keepdims=True)[0], lambda a: a.max(1, keepdims=True), A),
    ("min-dim-indices", lambda x: torch.min(x, 0).indices, lambda a: a.argmin(0), A),
    ("amax", lambda x: x.amax(dim=(0, 1)), np.max, A),
    ("amin", lambda x: torch.amin(x, 1), lambda a: a.min(1), A),
    ("argmax", lambda x: x.argmax(), np.argmax, A),
    ("argmax-dim", lambda x: torch.argmax(x, dim=1), lambda a: a.argmax(1), A),
    ("argmin-keepdim", lambda x: x.argmin(dim=0, keepdim=True), lambda a: a.argmin(0, keepdims=True), A),
    ("all", lambda x: (x > -5).all(), np.all, A),
    ("any-dim", lambda x: (x > 1).any(dim=1), lambda a: (a > 1).any(1), A),
    ("logsumexp", lambda x: x.logsumexp(1), lambda a: np.log(np.exp(a).sum(1)), A),
    ("cumsum", lambda x: x.cumsum(dim=1), lambda a: a.cumsum(1), A),
    ("cumprod", lambda x: torch.cumprod(x, 0), lambda a: a.cumprod(0), A),
    ("softmax", lambda x: x.softmax(dim=1), lambda a: np.exp(a) / np.exp(a).sum(1, keepdims=True), A),
    ("log_softmax", lambda x: torch.log_softmax(x, 0), lambda a: a - np.log(np.exp(a).sum(0)), A),
    ("sort", lambda x: x.sort(dim=1).values, lambda a: np.sort(a, 1), A),
    ("sort-desc", lambda x: torch.sort(x, descending=True)[0], lambda a: -np.sort(-a, -1), A),
    ("argsort", lambda x: x.argsort(dim=0), lambda a: a.argsort(0), A),
    ("topk", lambda x: x.topk(2).values, lambda a: -np.sort(-a, 1)[:, :2], A),
    ("median", lambda x: x.median(), lambda a: np.sort(a.ravel())[(a.size - 1) // 2], A),
    ("kthvalue", lambda x: x.kthvalue(2, dim=1).values, lambda a: np.sort(a, 1)[:, 1], A),
    ("matmul", lambda x: x.matmul(T(B.T)), lambda a: a @ B.T, A),
    ("mm", lambda x: torch.mm(x, T(B).t()), lambda a: a @ B.T, A),
    ("mv", lambda x: x.mv(T(B[0])), lambda a: a @ B[0], A),
    ("bmm", lambda x: torch.bmm(x.reshape(1, 3, 4), T(B.T).reshape(1, 4, 3)), lambda a: (a @ B.T)[None], A),
    ("dot", lambda x: torch.dot(x[0], T(B[0])), lambda a: a[0] @ B[0], A),
    ("outer", lambda x: torch.outer(x[0], T(B[1])), lambda a: np.outer(a[0], B[1]), A),
    ("addmm", lambda x: torch.addmm(T(B[:, :3]), x, T(B.T), beta=0.5, alpha=2),
     lambda a: 0.5 * B[:, :3] + 2 * (a @ B.T), A),
    ("tensordot", lambda x: torch.tensordot(x, T(B), dims=([1], [1])), lambda a: np.tensordot(a, B, ([1], [1])), A),
    ("einsum", lambda x: torch.einsum("ij,kj->ik", x, T(B)), lambda a: a @ B.T, A),
    ("einsum-list", lambda x: torch.einsum("ij->j", [x]), lambda a: a.sum(0), A),
    ("trace", lambda x: x[:, :3].trace(), lambda a: np.trace(a[:, :3]), A),
    ("diag", lambda x: torch.diag(x[0]), lambda a: np.diag(a[0]), A),
    ("tril", lambda x: x.tril(), np.tril, A),
    ("triu", lambda x: torch.triu(x, 1), lambda a: np.triu(a, 1), A),
    ("reshape", lambda x: x.reshape(4, 3), lambda a: a.reshape(4, 3), A),
    ("reshape-tuple", lambda x: torch.reshape(x, (-1,)), lambda a: a.reshape(-1), A),
    ("view", lambda x: x.view(2, -1), lambda a: a.reshape(2, -1), A),
    ("view_as", lambda x: x.view_as(T(np.zeros((6, 2)))), lambda a: a.reshape(6, 2), A),
    ("flatten", lambda x: x.reshape(3, 2, 2).flatten(1), lambda a: a.reshape(3, 4), A),
    ("flatten-all", lambda x: torch.flatten(x), lambda a: a.ravel(), A),
    ("unflatten", lambda x: x.unflatten(1, (2, 2)), lambda a: a.reshape(3, 2, 2), A),
    ("T", lambda x: x.T, lambda a: a.T, A),
    ("mT", lambda x: x.reshape(1, 3, 4).mT, lambda a: a.T[None], A),
    ("t", lambda x: x.t(), lambda a: a.T, A),
    ("transpose", lambda x: x.reshape(3, 2, 2).transpose(0, 2), lambda a: a.reshape(3, 2, 2).swapaxes(0, 2), A),
    ("permute", lambda x: x.reshape(3, 2, 2).permute(2, 0, 1), lambda a: a.reshape(3, 2, 2).transpose(2, 0, 1), A),
    ("permute-tuple", lambda x: torch.permute(x, (1, 0)), lambda a: a.T, A),
    ("unsqueeze", lambda x: x.unsqueeze(1), lambda a: a[:, None], A),
    ("unsqueeze-neg", lambda x: torch.unsqueeze(x, -1), lambda a: a[..., None], A),
    ("squeeze", lambda x: x.reshape(3, 1, 4, 1).squeeze(), lambda a: a, A),
    ("squeeze-dim", lambda x: x.reshape(3, 1, 4, 1).squeeze(1), lambda a: a[..., None], A),
    ("squeeze-not-1", lambda x: x.squeeze(0), lambda a: a, A),
    ("expand", lambda x: x[:, :1].expand(3, 5), lambda a: np.broadcast_to(a[:, :1], (3, 5)), A),
    ("expand-keep", lambda x: x[0].expand(2, -1), lambda a: np.broadcast_to(a[0], (2, 4)), A),
    ("expand_as", lambda x: x[0].expand_as(T(B)), lambda a: np.broadcast_to(a[0], (3, 4)), A),
    ("repeat", lambda x: x.repeat(2, 1), lambda a: np.tile(a, (2, 1)), A),
    ("repeat-more-dims", lambda x: x[0].repeat(2, 2), lambda a: np.tile(a[0], (2, 2)), A),
    ("repeat_interleave", lambda x: x.repeat_interleave(2, dim=0), lambda a: np.repeat(a, 2, 0), A),
    ("repeat_interleave-flat", lambda x: torch.repeat_interleave(x, 2), lambda a: np.repeat(a, 2), A),
    ("flip", lambda x: x.flip(0), lambda a: a[::-1], A),
    ("roll", lambda x: x.roll(1, 1), lambda a: np.roll(a, 1, 1), A),
    ("roll-flat", lambda x: torch.roll(x, -2), lambda a: np.roll(a, -2), A),
    ("clone", lambda x: x.clone(), lambda a: a, A),
    ("cat", lambda x: torch.cat((x, T(B)), dim=1), lambda a: np.concatenate([a, B], 1), A),
    ("cat-axis", lambda x: torch.cat([x, T(B)], axis=0), lambda a: np.concatenate([a, B], 0), A),
    ("stack", lambda x: torch.stack([x, T(B)], 1), lambda a: np.stack([a, B], 1), A),
    ("hstack", lambda x: torch.hstack([x, T(B)]), lambda a: np.hstack([a, B]), A),
    ("split-int", lambda x: torch.split(x, 3, dim=1)[1], lambda a: a[:, 3:], A),
    ("split-list", lambda x: x.split([1, 2])[1], lambda a: a[1:], A),
    ("chunk", lambda x: x.chunk(2, 1)[0], lambda a: a[:, :2], A),
    ("unbind", lambda x: x.unbind(1)[2], lambda a: a[:, 2], A),
    ("narrow", lambda x: x.narrow(1, 1, 2), lambda a: a[:, 1:3], A),
    ("select", lambda x: x.select(1, -1), lambda a: a[:, -1], A),
    ("gather", lambda x: x.gather(1, torch.tensor([[0, 0], [3, 1], [2, 2]])),
     lambda a: np.take_along_axis(a, np.array([[0, 0], [3, 1], [2, 2]]), 1), A),
    ("take_along_dim", lambda x: torch.take_along_dim(x, torch.tensor([[1], [0], [3]]), 1),
     lambda a: np.take_along_axis(a, np.array([[1], [0], [3]]), 1), A),
    ("index_select", lambda x: x.index_select(1, torch.tensor([3, 0, 0])), lambda a: a[:, [3, 0, 0]], A),
    ("masked_fill", lambda x: x.masked_fill(x > 0, -1.0), lambda a: np.where(a > 0, -1.0, a), A),
    ("masked_select", lambda x: x.masked_select(x > 0), lambda a: a[a > 0], A),
    ("scatter", lambda x: x.scatter(0, torch.tensor([[2, 1, 0, 0]]), T(B)),
     lambda a: _np_scatter0(a, [2, 1, 0, 0], B[0]), A),
    ("scatter-value", lambda x: torch.scatter(x, 1, torch.tensor([[1], [0], [3]]), 5.0),
     lambda a: _np_scatter_val(a), A),
    ("where", lambda x: torch.where(x > 0, x, T(B)), lambda a: np.where(a > 0, a, B), A),
    ("where-scalars", lambda x: torch.where(x > 0, x, 0.0), lambda a: np.where(a > 0, a, 0.0), A),
    ("where-method", lambda x: x.where(x > 0, T(B)), lambda a: np.where(a > 0, a, B), A),
    ("index-range", lambda x: x[range(3), torch.tensor([0, 3, 1])], lambda a: a[range(3), [0, 3, 1]], A),
    ("index-bool", lambda x: x[x > 0], lambda a: a[a > 0], A),
    ("eq", lambda x: x.eq(T(B)), lambda a: a == B, A),
    ("ge", lambda x: torch.ge(x, 0.0), lambda a: a >= 0, A),
    ("lt", lambda x: x.lt(T(B)), lambda a: a < B, A),
    ("ne", lambda x: torch.ne(x, x), lambda a: a != a, A),
    ("isnan", lambda x: x.log().isnan(), lambda a: np.isnan(np.log(a)), A),
    ("nonzero", lambda x: (x > 0).nonzero(), lambda a: np.argwhere(a > 0), A),
]


def _np_scatter0(a, idx, src):
    out = a.copy()
    for j, i in enumerate(idx):
        out[i, j] = src[j]
    return out


def _np_scatter_val(a):
    out = a.copy()
    for r, c in enumerate([1, 0, 3]):
        out[r, c] = 5.0
    return out


@pytest.mark.parametrize("name,f,ref,x", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_match_numpy(name, f, ref, x):
    with np.errstate(all="ignore"):
        expected = np.asarray(ref(x))
        got = f(T(x))
    assert isinstance(got, torch.Tensor)
    assert tuple(got.shape) == expected.shape
    np.testing.assert_allclose(N(got), expected, rtol=1e-12, atol=1e-12)


def test_float32_stays_float32_and_ints_give_int64():
    x = torch.arange(6.0).reshape(2, 3)
    for y in (x.exp(), x.sum(1), x.mean(), x.std(), x.norm(), x.max(1).values, x.clamp(0, 1), x.sqrt(),
              x @ x.T, x.softmax(1), torch.where(x > 1, x, 0.0)):
        assert y.dtype == torch.float32, y
    i = torch.arange(6).reshape(2, 3)
    assert i.sum().dtype == torch.int64 and int(i.sum()) == 15
    assert (i > 2).sum().dtype == torch.int64 and int((i > 2).sum()) == 3
    assert i.int().sum(0).dtype == torch.int64 and i.prod().dtype == torch.int64
    assert x.argmax().dtype == torch.int64 and x.argmax(1).tolist() == [2, 2]
    assert x.max(1).indices.dtype == torch.int64
    assert i.cumsum(0).dtype == torch.int64
    assert (x > 1).all().dtype == torch.bool and (x > 1).any(1).tolist() == [True, True]
    assert i.sum(dtype=torch.float32).dtype == torch.float32
    assert torch.sqrt(i).dtype == torch.float32 and i.max().dtype == torch.int64


def test_dim_keepdim_and_axis_keepdims_agree():
    x = T(draw(2, 3, 4))
    for fn in ("sum", "mean", "prod", "amax", "amin", "logsumexp", "std", "var", "all", "any", "norm"):
        for d in (0, 1, -1, (0, 2), [0, 1]):
            if fn in ("logsumexp",) and isinstance(d, list):
                continue
            for kd in (False, True):
                a = getattr(x, fn)(dim=d, keepdim=kd)
                b = getattr(x, fn)(axis=d, keepdims=kd)
                c = getattr(torch, fn)(x, d, kd) if fn not in ("std", "var", "norm") else a
                np.testing.assert_allclose(N(a), N(b))
                np.testing.assert_allclose(N(a), N(c))
                assert a.ndim == (3 if kd else 3 - (len(d) if isinstance(d, (tuple, list)) else 1))
    m1, m2 = x.max(dim=1, keepdim=True), x.max(axis=1, keepdims=True)
    assert m1.values.shape == (2, 1, 4) and (N(m1.indices) == N(m2.indices)).all()


def test_max_dim_returns_a_named_tuple():
    x = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    r = x.max(dim=1)
    values, indices = r
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert r.values is r[0] and r.indices is r[1] and isinstance(r, tuple)
    assert repr(r) == "torch.return_types.max(\nvalues=tensor([5., 7.]),\nindices=tensor([1, 0]))"
    assert str(r) == repr(r)
    assert type(r) is torch.return_types.max
    m = torch.min(x, 0)
    assert repr(m) == "torch.return_types.min(\nvalues=tensor([1., 0., 2.]),\nindices=tensor([0, 1, 0]))"
    w = x.clone().requires_grad_()
    r = w.max(1)
    assert repr(r.values) == "tensor([5., 7.], grad_fn=<MaxBackward0>)"
    r.values.sum().backward()
    assert w.grad.tolist() == [[0, 1, 0], [1, 0, 0]]
    s = x.sort(dim=1, descending=True)
    assert s.values.tolist() == [[5, 2, 1], [7, 3, 0]] and s.indices.tolist() == [[1, 2, 0], [0, 2, 1]]
    assert x.topk(1, dim=0).indices.tolist() == [[1, 0, 1]]


def test_torch_max_elementwise_and_maximum():
    x, y = torch.tensor([1.0, 5.0]), torch.tensor([3.0, 2.0])
    assert torch.max(x, y).tolist() == [3.0, 5.0] and torch.min(x, y).tolist() == [1.0, 2.0]
    assert torch.maximum(x, y).tolist() == [3.0, 5.0] and x.max(y).tolist() == [3.0, 5.0]


def test_std_var_default_unbiased():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert abs(float(x.var()) - np.var([1, 2, 3, 4], ddof=1)) < 1e-6
    assert abs(float(torch.std(x)) - np.std([1, 2, 3, 4], ddof=1)) < 1e-6
    assert abs(float(x.var(unbiased=False)) - 1.25) < 1e-6
    assert abs(float(x.var(correction=0)) - 1.25) < 1e-6


def test_split_and_chunk_follow_pytorch():
    x = torch.arange(10)
    assert [p.tolist() for p in x.split(4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [p.tolist() for p in torch.split(x, [2, 8])] == [[0, 1], list(range(2, 10))]
    assert [len(p) for p in x.chunk(3)] == [4, 4, 2]
    assert [len(p) for p in torch.arange(6).chunk(4)] == [2, 2, 2]
    assert isinstance(x.split(5), tuple)
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 10"):
        x.split([3, 3])
    assert [p.tolist() for p in torch.tensor_split(x, 3)] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_meshgrid():
    x, y = torch.tensor([1, 2, 3]), torch.tensor([4, 5])
    gx, gy = torch.meshgrid(x, y, indexing="ij")
    ex, ey = np.meshgrid([1, 2, 3], [4, 5], indexing="ij")
    assert (N(gx) == ex).all() and (N(gy) == ey).all() and gx.shape == (3, 2)
    gx, gy = torch.meshgrid([x, y], indexing="xy")
    ex, ey = np.meshgrid([1, 2, 3], [4, 5], indexing="xy")
    assert (N(gx) == ex).all() and (N(gy) == ey).all() and gx.shape == (2, 3)
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        gx, _ = torch.meshgrid(x, y)
    assert gx.shape == (3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.meshgrid(x, y, indexing="ij")


def test_indexing_functions_and_repeat():
    x = torch.arange(12.0).reshape(3, 4)
    assert x.gather(0, torch.tensor([[2, 1, 0, 0]])).tolist() == [[8.0, 5.0, 2.0, 3.0]]
    assert x.index_select(0, torch.tensor([2, 0])).tolist() == [[8, 9, 10, 11], [0, 1, 2, 3]]
    assert torch.tensor([1, 2]).repeat(2, 2).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert torch.repeat_interleave(torch.tensor([2, 0, 1])).tolist() == [0, 0, 2]
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    assert y_hat[[0, 1], torch.tensor([0, 2])].tolist() == pytest.approx([0.1, 0.5])
    assert torch.where(torch.tensor([True, False, True]))[0].tolist() == [0, 2]


def test_clone_is_a_copy_on_the_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c._data is not x._data and repr(c) == "tensor([1., 2.], grad_fn=<CloneBackward0>)"
    (c * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_view_shares_memory():
    x = torch.arange(6.0)
    v = x.view(2, 3)
    with torch.no_grad():
        v.add_(1)
    assert x.tolist() == [1, 2, 3, 4, 5, 6]


# ----------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call,exc,msg", [
    (lambda: torch.mm(torch.ones(3), torch.ones(3, 3)), RuntimeError, "self must be a matrix"),
    (lambda: torch.ones(3, 3).mm(torch.ones(3)), RuntimeError, "mat2 must be a matrix"),
    (lambda: torch.mm(torch.ones(2, 3), torch.ones(2, 3)), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"),
    (lambda: torch.ones(2, 3).matmul(torch.ones(2, 3)), RuntimeError, r"cannot be multiplied \(2x3 and 2x3\)"),
    (lambda: torch.matmul(torch.ones(2, 2, dtype=torch.int64), torch.ones(2, 2)), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: long int != float"),
    (lambda: torch.mv(torch.ones(3), torch.ones(3)), RuntimeError, "vector \\+ matrix @ vector expected, got 1, 1, 1"),
    (lambda: torch.bmm(torch.ones(2, 2), torch.ones(2, 2, 2)), RuntimeError, "batch1 must be a 3D tensor"),
    (lambda: torch.dot(torch.ones(2, 2), torch.ones(2, 2)), RuntimeError, "1D tensors expected, but got 2D and 2D"),
    (lambda: torch.dot(torch.arange(4), torch.arange(4.0)), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Long and Float"),
    (lambda: torch.arange(4).norm(), RuntimeError,
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: torch.arange(4).mean(), RuntimeError, "mean\\(\\): could not infer output dtype.*Got: Long"),
    (lambda: torch.arange(4).std(), RuntimeError, "std and var only support floating point"),
    (lambda: torch.arange(6).view(4, -1), RuntimeError, r"shape '\[4, -1\]' is invalid for input of size 6"),
    (lambda: torch.arange(6).reshape(-1, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda: torch.ones(3).expand(2, 4), RuntimeError,
     r"The expanded size of the tensor \(4\) must match the existing size \(3\) at non-singleton dimension 1"),
    (lambda: torch.ones(2, 3).repeat(2), RuntimeError, "Number of dimensions of repeat dims can not be smaller"),
    (lambda: torch.ones(2, 3).t().t().reshape(1, 2, 3).t(), RuntimeError, "t\\(\\) expects a tensor with <= 2"),
    (lambda: torch.ones(2, 3).gather(1, torch.tensor([[3]])), RuntimeError,
     "index 3 is out of bounds for dimension 1 with size 3"),
    (lambda: torch.ones(2, 3).gather(1, torch.tensor([0, 1])), RuntimeError, "Index tensor must have the same"),
    (lambda: torch.ones(2, 3).masked_fill(torch.ones(2, 3), 0.0), RuntimeError,
     "masked_fill_ only supports boolean masks, but got mask with dtype float"),
    (lambda: torch.where(torch.ones(2), torch.ones(2), torch.zeros(2)), RuntimeError,
     "where expected condition to be a boolean tensor, but got a tensor with dtype Float"),
    (lambda: torch.cat([torch.ones(2, 3), torch.ones(2, 2)]), RuntimeError,
     "Sizes of tensors must match except in dimension 0"),
    (lambda: torch.stack([torch.ones(2), torch.ones(3)]), RuntimeError, "stack expects each tensor to be equal size"),
    (lambda: torch.ones(2).size(1), IndexError, "Dimension out of range"),
    (lambda: torch.ones(2, 3).permute(1, 0, 2), RuntimeError, "number of dimensions in the tensor input does not"),
    (lambda: torch.exp(2.0), TypeError, "exp\\(\\): argument 'input' \\(position 1\\) must be Tensor, not float"),
    (lambda: torch.clamp(torch.ones(2)), RuntimeError, "At least one of 'min' or 'max' must not be None"),
    (lambda: torch.ones(0).max(), RuntimeError, "Expected reduction dim to be specified"),
])
def test_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


# ----------------------------------------------------------------------------------------------
# in-place semantics
# ----------------------------------------------------------------------------------------------

LEAF_MSG = "a leaf Variable that requires grad is being used in an in-place operation."

INPLACE = [
    ("add_", lambda x: x.add_(1.0)), ("add_alpha", lambda x: x.add_(torch.ones(3), alpha=2)),
    ("sub_", lambda x: x.sub_(0.5)), ("mul_", lambda x: x.mul_(2)), ("div_", lambda x: x.div_(2)),
    ("pow_", lambda x: x.pow_(2)), ("zero_", lambda x: x.zero_()), ("fill_", lambda x: x.fill_(3)),
    ("copy_", lambda x: x.copy_(torch.tensor([7.0, 8.0, 9.0]))), ("clamp_", lambda x: x.clamp_(0, 1)),
    ("normal_", lambda x: x.normal_(0, 0.01)), ("uniform_", lambda x: x.uniform_(-1, 1)),
    ("exp_", lambda x: x.exp_()), ("neg_", lambda x: x.neg_()), ("relu_", lambda x: x.relu_()),
    ("masked_fill_", lambda x: x.masked_fill_(torch.tensor([True, False, True]), 0.0)),
    ("sigmoid_", lambda x: x.sigmoid_()), ("abs_", lambda x: x.abs_()), ("sqrt_", lambda x: x.abs_().sqrt_()),
]


@pytest.mark.parametrize("name,op", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_on_a_leaf_requiring_grad_raises(name, op):
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=LEAF_MSG):
        op(x)
    assert x.tolist() == [1.0, -2.0, 3.0] and x._version == 0


@pytest.mark.parametrize("name,op", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_under_no_grad_keeps_object_and_buffer(name, op):
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    expected = op(torch.tensor([1.0, -2.0, 3.0])) if name not in ("normal_", "uniform_") else None
    buf = x._data
    with torch.no_grad():
        out = op(x)
    assert out is x and x._data is buf and x.requires_grad and x.is_leaf
    assert x._version >= 1
    if expected is not None:
        np.testing.assert_allclose(N(x), N(expected))


def test_inplace_returns_self_and_bumps_version():
    x = torch.zeros(3)
    assert x.add_(1) is x and x._version == 1
    assert x.mul_(3) is x and x._version == 2 and x.tolist() == [3, 3, 3]
    assert x.zero_() is x and x._version == 3 and x.tolist() == [0, 0, 0]


def test_modified_saved_tensor_makes_backward_raise():
    x = torch.arange(4.0, requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    x2 = torch.arange(4.0, requires_grad=True)
    z = x2 * 1.0
    w = z * z  # saves z
    z.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        w.sum().backward()


def test_recorded_inplace_on_a_non_leaf_gives_the_right_gradient():
    x = torch.ones(3, requires_grad=True)
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x + 0
    y.mul_(3).add_(w, alpha=2).exp_()
    y.sum().backward()
    expected = np.exp(3 + 2 * np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(N(x.grad), 3 * expected, rtol=1e-6)
    np.testing.assert_allclose(N(w.grad), 2 * expected, rtol=1e-6)
    a = torch.zeros(3)
    a.add_(w)  # a constant takes on history
    assert a.requires_grad and not a.is_leaf


def test_zero_on_grad_keeps_the_same_object():
    x = torch.arange(4.0, requires_grad=True)
    (2 * x).sum().backward()
    g = x.grad
    assert x.grad.zero_() is g and x.grad is g and g.tolist() == [0, 0, 0, 0]
    (3 * x).sum().backward()
    assert x.grad is g and g.tolist() == [3, 3, 3, 3]
    x.grad.data.zero_()
    assert g.tolist() == [0, 0, 0, 0]


def test_sgd_step_under_no_grad():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        w.sub_(0.1 * w.grad)
        w.grad.zero_()
    assert w.tolist() == pytest.approx([0.6, 1.2]) and w.is_leaf and w.requires_grad


def test_random_inplace_draws_follow_the_generator():
    torch.manual_seed(3)
    a = torch.randn(5, 4)
    torch.manual_seed(3)
    b = torch.empty(5, 4).normal_()
    assert (N(a) == N(b)).all()
    torch.manual_seed(3)
    a = torch.rand(20, dtype=torch.float64) * 2 - 1
    torch.manual_seed(3)
    b = torch.empty(20, dtype=torch.float64).uniform_(-1, 1)
    np.testing.assert_allclose(N(a), N(b))
    torch.manual_seed(3)
    c = torch.empty(20, dtype=torch.float64).uniform_(**{"from": -1, "to": 1})
    assert (N(c) == N(b)).all()
    w = torch.zeros(3, 2)
    assert w.normal_(0, 0.01) is w and float(w.abs().max()) < 0.1


def test_inplace_type_and_shape_errors():
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        torch.tensor([1, 2]).mul_(torch.tensor([0.5, 0.5]))
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        torch.zeros(3).add_(torch.ones(2, 3))
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        torch.ones(3).expand(2, 3).add_(1)
    x = torch.zeros(2, 3)
    x.copy_(torch.tensor([1, 2, 3]))
    assert x.tolist() == [[1, 2, 3], [1, 2, 3]] and x.dtype == torch.float32


# ----------------------------------------------------------------------------------------------
# second derivatives through torch.autograd.grad(create_graph=True), for every differentiable function
# ----------------------------------------------------------------------------------------------

I_ROW = torch.tensor([[0, 0, 2], [3, 1, 1], [2, 2, 0]])


def _inplace_chain(a):
    b = a * 1.0
    b.mul_(a).add_(a, alpha=0.5).sub_(0.25).div_(1.5)
    b.clamp_(-3, 3)
    return b.tanh_()


def _inplace_fill(a):
    b = a * 2.0
    b.masked_fill_(a > 0, 1.0)
    c = a + 0.0
    c.copy_(b * a)
    return c.exp_()


def _pow_inplace(a):
    b = a.abs() + 0.5
    return b.pow_(1.5).sqrt_().log()  # (log_ would overwrite the output sqrt_'s rule reads: PyTorch refuses it)


SECOND_ORDER = [
    # elementwise
    ("abs", lambda a: a.abs(), A), ("exp", torch.exp, A), ("expm1", lambda a: a.expm1(), A),
    ("log", torch.log, POS), ("log2", lambda a: a.log2(), POS), ("log10", torch.log10, POS),
    ("log1p", lambda a: a.log1p(), POS), ("sqrt", torch.sqrt, POS), ("rsqrt", lambda a: a.rsqrt(), POS),
    ("sin", torch.sin, A), ("cos", lambda a: a.cos(), A), ("tan", torch.tan, UNIT), ("asin", torch.asin, UNIT),
    ("acos", lambda a: a.acos(), UNIT), ("atan", torch.atan, A), ("sinh", lambda a: a.sinh(), A),
    ("cosh", torch.cosh, A), ("tanh", lambda a: a.tanh(), A), ("sigmoid", torch.sigmoid, A),
    ("erf", lambda a: a.erf(), A), ("relu", lambda a: a.relu() * a, A), ("neg", torch.neg, A), ("reciprocal", lambda a: a.reciprocal(), POS),
    ("square", torch.square, A), ("exp2", lambda a: a.exp2(), A), ("frac", lambda a: a.frac() * a, A * 3),
    ("sign-floor-ceil-round-trunc", lambda a: a * (a.sign() + a.floor() + a.ceil() + a.round() + a.trunc()), A),
    ("clamp", lambda a: a.clamp(-1, 1) * a, A), ("clamp-tensor", lambda a: torch.clamp(a, min=a * 0.5) ** 2, A),
    ("clamp_min", lambda a: a.clamp_min(0.2) ** 2, A), ("clip", lambda a: torch.clip(a, max=0.5) ** 2, A),
    ("pow", lambda a: a.pow(3), A), ("pow-tensor", lambda a: torch.pow(a.abs() + 0.5, a), A),
    ("pow-scalar-base", lambda a: torch.pow(1.5, a), A),
    # binary
    ("add", lambda a: torch.add(a, a * a, alpha=2), A), ("sub", lambda a: a.sub(a ** 2, alpha=0.5), A),
    ("rsub", lambda a: torch.rsub(a ** 2, 2.0), A), ("mul", lambda a: torch.mul(a, a.sin()), A),
    ("div", lambda a: a.div(a.exp()), A), ("div-floor", lambda a: a * a.div(0.7, rounding_mode="floor"), A),
    ("remainder", lambda a: a.remainder(0.7) * a, A), ("fmod", lambda a: torch.fmod(a, 0.7) * a, A),
    ("atan2", lambda a: torch.atan2(a, a.exp()), A), ("maximum", lambda a: torch.maximum(a, a.sin()) ** 2, A),
    ("minimum", lambda a: a.minimum(a.cos()) ** 2, A), ("max-elementwise", lambda a: torch.max(a, a.cos()) ** 2, A),
    ("fmax", lambda a: torch.fmax(a, a.cos()) ** 2, A), ("fmin", lambda a: a.fmin(a.sin()) ** 2, A),
    ("hypot", lambda a: torch.hypot(a, a.exp()), A), ("logaddexp", lambda a: a.logaddexp(a ** 2), A),
    ("lerp", lambda a: a.lerp(a.exp(), 0.3) ** 2, A),
    # reductions
    ("sum", lambda a: (a ** 2).sum(), A), ("sum-dim", lambda a: (a ** 3).sum(dim=1, keepdim=True), A),
    ("sum-axis-list", lambda a: (a ** 3).sum(axis=[0, 1]), A), ("nansum", lambda a: (a ** 3).nansum(0), A),
    ("mean", lambda a: (a ** 3).mean(0), A), ("prod", lambda a: a.prod(1), A),
    ("std", lambda a: a.std(), A), ("std-dim", lambda a: torch.std(a, dim=1, keepdim=True), A),
    ("var", lambda a: a.var(0, unbiased=False), A), ("var_mean", lambda a: torch.var_mean(a, 1)[0], A),
    ("norm", lambda a: a.norm(), A), ("norm-dim", lambda a: torch.norm(a, dim=1), A),
    ("norm-p3-dims", lambda a: a.norm(p=3, dim=(0, 1), keepdim=True), A), ("dist", lambda a: torch.dist(a, a ** 2), A),
    ("max", lambda a: (a ** 2).max(), A), ("max-dim", lambda a: (a ** 2).max(dim=1).values, A),
    ("min-dim", lambda a: torch.min(a ** 2, 0, keepdim=True)[0], A), ("min", lambda a: torch.min(a ** 3), A),
    ("amax", lambda a: (a ** 2).amax(1), A), ("amin", lambda a: torch.amin(a ** 2, 0), A),
    ("logsumexp", lambda a: a.logsumexp(1), A), ("cumsum", lambda a: (a ** 2).cumsum(1), A),
    ("cumprod", lambda a: torch.cumprod(a, 0), A), ("softmax", lambda a: a.softmax(1), A),
    ("log_softmax", lambda a: torch.log_softmax(a, dim=0), A), ("sort", lambda a: (a ** 2).sort(1).values, A),
    ("topk", lambda a: torch.topk(a ** 2, 2, dim=0).values, A), ("median", lambda a: (a ** 2).median(), A),
    ("median-dim", lambda a: (a ** 2).median(1).values, A), ("kthvalue", lambda a: (a ** 2).kthvalue(2).values, A),
    # linear algebra
    ("matmul", lambda a: a.matmul(a.T) ** 2, A), ("mm", lambda a: torch.mm(a, a.t()).sin(), A),
    ("mv", lambda a: a.mv(a[0]) ** 2, A), ("bmm", lambda a: torch.bmm(a.reshape(3, 2, 2), a.reshape(3, 2, 2)) ** 2, A),
    ("dot", lambda a: torch.dot(a[0], a[1] ** 2), A), ("vdot", lambda a: torch.vdot(a[0], a[1] ** 2), A),
    ("inner", lambda a: torch.inner(a, a) ** 2, A), ("outer", lambda a: torch.outer(a[0], a[1]) ** 2, A),
    ("addmm", lambda a: torch.addmm(a[:, :3], a, a.T, beta=0.5, alpha=2) ** 2, A),
    ("tensordot", lambda a: torch.tensordot(a, a ** 2, dims=2), A),
    ("einsum", lambda a: torch.einsum("ij,kj->ik", a, a) ** 2, A), ("trace", lambda a: (a[:, :3] ** 2).trace(), A),
    ("diag", lambda a: torch.diag(a[0] ** 2), A), ("diagonal", lambda a: (a ** 2).diagonal(1), A),
    ("tril", lambda a: (a ** 2).tril(), A), ("triu", lambda a: torch.triu(a ** 2, -1), A),
    # shape
    ("reshape", lambda a: (a ** 2).reshape(4, 3), A), ("view", lambda a: (a ** 2).view(-1), A),
    ("view_as", lambda a: (a ** 2).view_as(a.T), A), ("reshape_as", lambda a: (a ** 2).reshape_as(a.T), A),
    ("flatten", lambda a: (a ** 2).reshape(3, 2, 2).flatten(1), A),
    ("unflatten", lambda a: (a ** 2).unflatten(1, (2, 2)), A), ("squeeze", lambda a: (a ** 2)[:, None].squeeze(1), A),
    ("unsqueeze", lambda a: torch.unsqueeze(a ** 2, 0), A), ("transpose", lambda a: (a ** 2).transpose(0, 1), A),
    ("T", lambda a: (a ** 2).T, A), ("mT", lambda a: (a ** 2).mT, A), ("t", lambda a: torch.t(a ** 2), A),
    ("permute", lambda a: (a ** 2).reshape(3, 2, 2).permute(2, 0, 1), A),
    ("movedim", lambda a: torch.movedim((a ** 2).reshape(3, 2, 2), 0, 2), A),
    ("expand", lambda a: (a ** 2)[:, :1].expand(3, 5), A), ("expand_as", lambda a: (a[0] ** 2).expand_as(a), A),
    ("broadcast_to", lambda a: torch.broadcast_to(a[0] ** 2, (2, 4)), A),
    ("broadcast_tensors", lambda a: torch.broadcast_tensors(a[0] ** 2, a[:, :1])[1] * a, A),
    ("repeat", lambda a: (a ** 2).repeat(2, 1, 2), A), ("tile", lambda a: torch.tile(a ** 2, (2,)), A),
    ("repeat_interleave", lambda a: (a ** 2).repeat_interleave(2, dim=1), A),
    ("flip", lambda a: (a ** 2).flip(0) * a, A), ("roll", lambda a: (a ** 2).roll(1, 1) * a, A),
    ("clone", lambda a: (a ** 2).clone(), A), ("contiguous", lambda a: (a ** 2).contiguous(), A),
    ("cat", lambda a: torch.cat([a ** 2, a], dim=1), A), ("stack", lambda a: torch.stack([a, a ** 2], 2), A),
    ("hstack", lambda a: torch.hstack([a, a ** 2]), A), ("vstack", lambda a: torch.vstack([a, a ** 2]), A),
    ("split", lambda a: (a ** 2).split(3, 1)[1] * a[:, :1], A), ("chunk", lambda a: torch.chunk(a ** 2, 2)[1], A),
    ("tensor_split", lambda a: torch.tensor_split(a ** 2, 3, dim=1)[0], A),
    ("unbind", lambda a: (a ** 2).unbind(1)[3] * a[:, 0], A), ("narrow", lambda a: (a ** 2).narrow(1, 1, 2), A),
    ("select", lambda a: (a ** 2).select(0, 1), A), ("getitem", lambda a: (a ** 2)[range(3), [0, 3, 1]], A),
    # indexing
    ("gather", lambda a: (a ** 2).gather(1, I_ROW), A),
    ("take_along_dim", lambda a: torch.take_along_dim(a ** 2, I_ROW, 1), A),
    ("index_select", lambda a: torch.index_select(a ** 2, 1, torch.tensor([3, 0, 0])), A),
    ("masked_fill", lambda a: (a ** 2).masked_fill(a > 0, 1.0), A),
    ("masked_fill-tensor-value", lambda a: (a ** 2).masked_fill(a > 0, a[0, 0] ** 2), A),
    ("masked_select", lambda a: (a ** 2).masked_select(a > 0), A),
    ("scatter", lambda a: (a ** 2).scatter(0, torch.tensor([[2, 1, 0, 0]]), a.exp()), A),
    ("where", lambda a: torch.where(a > 0, a ** 2, a.exp()), A),
    ("meshgrid", lambda a: torch.meshgrid(a[0] ** 2, a[1], indexing="ij")[0] * a[2], A),
    ("cast-float64", lambda a: a.double() ** 2 + a.to(torch.float64) + a.type(torch.float64), A),
    # aliases and the remaining spellings
    ("absolute", torch.absolute, A), ("arcsin", torch.arcsin, UNIT), ("arccos", torch.arccos, UNIT),
    ("arctan", torch.arctan, A), ("negative", torch.negative, A), ("positive", lambda a: torch.positive(a) ** 2, A),
    ("sgn", lambda a: torch.sgn(a) * a ** 2, A), ("fix", lambda a: torch.fix(a) * a, A * 3),
    ("sign", lambda a: a.sign() * a ** 2, A), ("floor", lambda a: torch.floor(a) * a, A * 3),
    ("ceil", lambda a: a.ceil() * a, A * 3), ("trunc", lambda a: a.trunc() * a, A * 3),
    ("round", lambda a: torch.round(a, decimals=1) * a, A * 3),
    ("clamp_max", lambda a: torch.clamp_max(a, 0.5) ** 2, A), ("subtract", lambda a: torch.subtract(a, a ** 2), A),
    ("multiply", lambda a: torch.multiply(a, a), A), ("divide", lambda a: torch.divide(a, POS), A),
    ("true_divide", lambda a: a.true_divide(a.exp()), A),
    ("floor_divide", lambda a: torch.floor_divide(a, 0.7) * a, A),
    ("float_power", lambda a: torch.float_power(a, 3), A), ("arctan2", lambda a: torch.arctan2(a.exp(), a), A),
    ("std_mean", lambda a: torch.std_mean(a, 0)[0] * torch.std_mean(a, 0)[1], A),
    ("swapaxes", lambda a: torch.swapaxes(a ** 2, 0, 1), A), ("swapdims", lambda a: (a ** 2).swapdims(1, 0), A),
    ("moveaxis", lambda a: torch.moveaxis((a ** 2).reshape(3, 2, 2), 2, 0), A),
    ("concat", lambda a: torch.concat([a, a ** 2]), A), ("concatenate", lambda a: torch.concatenate([a, a ** 2], 1), A),
    ("fliplr", lambda a: torch.fliplr(a ** 2), A), ("flipud", lambda a: (a ** 2).flipud(), A),
    ("ger", lambda a: torch.ger(a[0], a[1] ** 2), A),
    ("softmax-dtype", lambda a: torch.softmax(a, 1, dtype=torch.float64), A),
    ("conj", lambda a: (torch.conj(a * (1 + 2j)) * a.exp()).imag + torch.conj(a) * a, A),
    ("resolve_conj", lambda a: torch.resolve_conj(torch.conj(a * (1 - 1j)) ** 2).real, A),
    # in place, on tensors that are on the tape
    ("inplace-chain", _inplace_chain, A), ("inplace-fill-copy", _inplace_fill, A), ("inplace-pow", _pow_inplace, A),
    ("inplace-index_fill_", lambda a: (a * 1.0).index_fill_(1, torch.tensor([0, 2]), 0.5) * a, A),
    ("inplace-scatter_", lambda a: (a * 1.0).scatter_(0, torch.tensor([[2, 1, 0, 0]]), a.exp()), A),
    ("inplace-round_", lambda a: (a * 1.0).round_() * a, A * 3),
    ("inplace-binary", lambda a: (a * 1.0).maximum_(a.sin()).minimum_(a.cos()).atan2_(a.exp()).fmod_(0.7), A),
    ("inplace-remainder_", lambda a: (a * 1.0).remainder_(0.7) * a, A),
    ("inplace-clamp_min_max", lambda a: (a * 1.0).clamp_min_(-1.0).clamp_max_(1.0) * a, A),
]


@pytest.mark.parametrize("name,f,x", SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_second_derivatives(name, f, x):
    check_grads(f, [T(x)], order=2)


INPLACE_UNARY_DOMAIN = rng.uniform(0.2, 0.9, size=(2, 3))


@pytest.mark.parametrize("name", inplace._INPLACE_UNARY)
def test_inplace_unary_variants(name):
    x = T(INPLACE_UNARY_DOMAIN)
    y = x * 1.0
    assert getattr(y, name + "_")() is y
    np.testing.assert_allclose(N(y), N(getattr(x, name)()), rtol=1e-12)
    check_grads(lambda a: getattr(a * 1.0, name + "_")() * a, [x], order=2)


NONDIFF = {"return_types", "numel", "is_floating_point", "is_complex", "is_nonzero", "isnan", "isinf", "isfinite",
           "logical_not", "bitwise_not", "signbit", "equal", "isclose", "allclose", "argmax", "argmin", "all", "any",
           "count_nonzero", "argsort", "nonzero", "argwhere", "is_conj", *elementwise._COMPARE}


def test_every_differentiable_function_has_a_second_order_check():
    checked = {c[0].split("-")[0] for c in SECOND_ORDER}
    exported = set(fns.__all__)
    missing = sorted(exported - NONDIFF - checked)
    assert not missing, f"exported differentiable functions without a second-order check: {missing}"
    for name in exported:
        assert hasattr(torch, name), name
    methods = {n for n in fns.METHODS if not n.endswith("_")}
    unchecked = sorted(methods - NONDIFF - checked - {
        "size", "dim", "ndimension", "nelement", "element_size", "stride", "is_contiguous", "type", "to",
        "type_as", "cpu", "cuda", "float", "double", "half", "long", "int", "short", "char", "byte", "bool",
        "new_zeros", "new_ones", "new_empty", "new_full", "new_tensor"})
    assert not unchecked, f"differentiable methods without a second-order check: {unchecked}"


def test_autograd_grad_create_graph_on_functions():
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    y = (x.exp() * x.sin()).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    (h,) = torch.autograd.grad(g.sum(), x)
    a = N(x)
    np.testing.assert_allclose(N(g), np.exp(a) * (np.sin(a) + np.cos(a)))
    np.testing.assert_allclose(N(h), 2 * np.exp(a) * np.cos(a))
    w = torch.tensor(draw(3, 2), requires_grad=True)
    X = torch.tensor(draw(4, 3))
    loss = torch.mm(X, w).relu().pow(2).mean()
    (gw,) = torch.autograd.grad(loss, w, create_graph=True)
    (hw,) = torch.autograd.grad(gw.pow(2).sum(), w)
    assert hw.shape == (3, 2)


def test_grad_fn_names_of_common_functions():
    x = torch.ones(2, 3, requires_grad=True)
    names = {
        "sum": x.sum(), "sum-dim": x.sum(dim=1), "mean": x.mean(), "exp": x.exp(), "view": x.view(3, 2),
        "mm": torch.mm(x, x.t()), "t": x.t(), "permute": x.permute(1, 0), "transpose": x.transpose(0, 1),
        "unsqueeze": x.unsqueeze(0), "expand": x[:1].expand(2, 3), "cat": torch.cat([x, x]),
        "stack": torch.stack([x, x]), "norm": x.norm(), "clone": x.clone(),
        "gather": x.gather(1, torch.tensor([[0, 2], [1, 1]])),
        "index_select": x.index_select(0, torch.tensor([1])), "masked_fill": x.masked_fill(x > 0, 0.0),
        "relu": x.relu(), "sigmoid": x.sigmoid(), "where": torch.where(x > 0, x, 0.0),
        "repeat": x.repeat(2, 1),
    }
    expected = {
        "sum": "SumBackward0", "sum-dim": "SumBackward1", "mean": "MeanBackward0", "exp": "ExpBackward0",
        "view": "ViewBackward0", "mm": "MmBackward0", "t": "TBackward0", "permute": "PermuteBackward0",
        "transpose": "TransposeBackward0", "unsqueeze": "UnsqueezeBackward0", "expand": "ExpandBackward0",
        "cat": "CatBackward0", "stack": "StackBackward0", "norm": "LinalgVectorNormBackward0",
        "clone": "CloneBackward0", "gather": "GatherBackward0", "index_select": "IndexSelectBackward0",
        "masked_fill": "MaskedFillBackward0", "relu": "ReluBackward0", "sigmoid": "SigmoidBackward0",
        "where": "WhereBackward0", "repeat": "RepeatBackward0",
    }
    for k, v in names.items():
        assert v.grad_fn.name() == expected[k], k
