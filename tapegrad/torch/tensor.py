"""The PyTorch dialect's ``Tensor``: the engine's Array with PyTorch's autograd policy.

Recording is on unless grad mode is off; a tensor records when it requires grad; ``.grad`` is None
until a backward, then accumulates in place in the same tensor; a second backward fails only where
a freed saved value is needed; in-place writes to saved tensors are detected by version counters,
which a tensor shares with its views and its ``detach()`` copies (all of them see the same memory).
"""
from __future__ import annotations

import re
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Callable, SupportsIndex

import numpy
from numpy import ndarray as _ndarray

from .._core import engine
from .._core import events as _events
from .._core.explain import explain as _explain
from .._core.capture import derived
from .._core.array import OPS, Array, _any_traced, _value_read, refuse_traced, view_of
from .._core.errors import AutogradError
from .._core import mode as _mode
from .._core.mode import GRAD_ENABLED
from .._core import node as _node_mod
from .._core.node import Node, count_write
from ..backend import device_of, is_device_buffer, to_host
from . import _dtypes
from ._device import device as _device

__all__ = ["Tensor", "GradFn"]

_F64, _C128 = numpy.dtype(numpy.float64), numpy.dtype(numpy.complex128)

NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be "
    "populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf "
    "Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure "
    "you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more information.")
LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_LEAF_INPLACE = "a view of a leaf Variable that requires grad is being used in an in-place operation."

# PyTorch's names for the backward node of each op ("Mul" -> MulBackward0).
_TORCH_NAMES = {
    "add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div", "true_divide": "Div",
    "negative": "Neg", "power": "Pow", "exp": "Exp", "log": "Log", "sin": "Sin", "cos": "Cos", "tan": "Tan",
    "tanh": "Tanh", "sqrt": "Sqrt", "abs": "Abs", "sum": "Sum", "mean": "Mean", "prod": "Prod", "dot": "Dot",
    "matmul": "MatMul", "norm": "LinalgVectorNorm", "reshape": "View", "transpose": "Permute",
    "getitem": "Index", "setitem": "CopySlices", "maximum": "Maximum", "minimum": "Minimum", "relu": "Relu",
    "sigmoid": "Sigmoid", "softmax": "Softmax", "log_softmax": "LogSoftmax", "broadcast_to": "Expand",
    "astype": "ToCopy", "max": "Max", "min": "Min", "amax": "Amax", "amin": "Amin", "concatenate": "Cat",
    "stack": "Stack", "where": "Where", "clip": "Clamp", "expand_dims": "Unsqueeze", "squeeze": "Squeeze",
    "var": "Var", "std": "Std", "cumsum": "Cumsum", "cumprod": "Cumprod", "square": "Pow", "reciprocal": "Reciprocal",
    "log1p": "Log1P", "expm1": "Expm1", "sinh": "Sinh", "cosh": "Cosh", "arcsin": "Asin", "arccos": "Acos",
    "arctan": "Atan", "arctan2": "Atan2", "sign": "Sign", "floor": "Floor", "ceil": "Ceil", "round": "Round",
    "trunc": "Trunc", "flip": "Flip", "repeat": "RepeatInterleave", "tile": "Repeat", "swapaxes": "Transpose",
    "moveaxis": "Permute", "tensordot": "Tensordot", "outer": "Outer", "_einsum": "Einsum", "logsumexp": "Logsumexp",
    "pick": "Gather", "scatter_add": "ScatterAdd", "sum_to": "Sum", "ravel": "View", "flatten": "View",
    "tril": "Tril", "triu": "Triu", "diagonal": "Diagonal", "trace": "Trace", "inv": "LinalgInvEx",
    "det": "LinalgDet", "solve": "LinalgSolveEx", "cholesky": "LinalgCholeskyEx", "eigh": "LinalgEigh",
    "eigvalsh": "LinalgEigh", "qr": "LinalgQr", "svd": "LinalgSvd", "svdvals": "LinalgSvd", "_svd": "LinalgSvd",
    "slogdet": "LinalgSlogdet", "pinv": "LinalgPinv", "cross": "LinalgCross", "conj": "Conj", "sort": "Sort", "mod": "Remainder", "remainder": "Remainder",
    "pad": "ConstantPadNd", "hypot": "Hypot", "logaddexp": "Logaddexp", "vdot": "Dot", "inner": "Inner",
    "device_copy": "ToCopy", "softsign": "Div", "tanhshrink": "Sub",  # PyTorch composes these two
}


def _short(name: str) -> str:
    """``ExpBackward0`` -> ``Exp``, as PyTorch names a node inside its in-place error."""
    return re.sub(r"Backward\d+$", "", name)


def _index_kind(key: Any) -> str:
    """PyTorch's node for an indexing: Select (an int), Slice (slices), Index (advanced)."""
    keys = key if isinstance(key, tuple) else (key,)
    if len(keys) > 1 and keys[-1] is Ellipsis:
        keys = keys[:-1]
    if any(isinstance(k, (list, numpy.ndarray, Array)) or isinstance(k, bool) for k in keys):
        return "Index"
    if len(keys) == 1 and isinstance(keys[0], int):
        return "Select"
    return "Slice"


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.strip("_").split("_"))


class GradFn:
    """The backward node of a result, as PyTorch shows it (``grad_fn=<MulBackward0>``)."""

    __slots__ = ("_node",)

    def __init__(self, node: Any) -> None:
        self._node = node

    def name(self) -> str:
        node = self._node
        op = node.op
        if op is None:
            return "AccumulateGrad"
        if "torch_name" in node.__dict__:  # a view's history recomputed after an in-place write
            return node.torch_name
        if getattr(op, "user_rule", False):  # a custom Function: PyTorch names its node without a number
            return f"{op.name}Backward"
        name = op.name
        base = _TORCH_NAMES.get(name) or _camel(name)
        overload = 0
        params = node.params or {}
        if name in ("sum", "mean") and params.get("axis") is not None:
            overload = 1
        elif name in ("max", "min"):
            overload = 0 if params.get("axis") is not None else 1
        elif name == "squeeze":
            overload = 1 if params.get("axis") is not None else 0
        elif name == "clip":
            overload = 1
        elif name == "power" and node.parents[1] is not None:  # Tensor ** Tensor: 1; number ** Tensor: 2
            overload = 2 if node.dtypes is not None and node.dtypes[0] is None else 1  # (None: a Python number)
        elif name in ("matmul", "linear"):  # (linear: F.linear's product, without its bias)
            nd = (len(node.shapes[0]), len(node.shapes[1]))
            base = {(2, 2): "Mm", (2, 1): "Mv", (1, 1): "Dot"}.get(nd, "UnsafeView")
        elif name == "getitem":
            base = _index_kind(params.get("key"))
        elif name == "setitem":
            return "torch::autograd::CopySlices"
        return f"{base}Backward{overload}"

    @property
    def next_functions(self) -> tuple:
        node = self._node
        out = []
        for i, p in enumerate(node.parents):
            idx = node.pidx[i] if node.pidx is not None and node.pidx[i] is not None else 0
            out.append((None if p is None else GradFn(p), idx))
        return tuple(out)

    @property
    def variable(self) -> Any:
        """For an AccumulateGrad node, the leaf tensor it feeds."""
        return self._node.var() if self._node.var is not None else None

    def register_hook(self, fn: Callable) -> "_Handle":
        return _add_hook(self._node, None, lambda g: fn(g))

    #: ``(read, names)`` of the ``_saved_*`` attributes, bound by ``tapegrad.torch._saved`` (which builds
    #: tensors of this module's class, so it is bound from the outside, as the functions are onto Tensor).
    _reader: Any = None

    def __getattr__(self, name: str) -> Any:
        """``_saved_self``, ``_saved_result``, ``_saved_dim``...: what the node keeps, under PyTorch's names
        (see ``tapegrad.torch._saved``); any other name is an AttributeError."""
        if name.startswith("_saved_") and GradFn._reader is not None:
            return GradFn._reader[0](self, name[len("_saved_"):])
        raise AttributeError(f"'{self.name()}' object has no attribute '{name}'")

    def __dir__(self) -> list:
        extra = GradFn._reader[1](self) if GradFn._reader is not None else ()
        return sorted({*super().__dir__(), *extra})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GradFn) and other._node is self._node

    def __hash__(self) -> int:
        return id(self._node)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self._node))}>"


class _Handle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, node: Any, entry: tuple) -> None:
        self._node, self._entry = weakref.ref(node), entry

    def remove(self) -> None:
        node = self._node()
        if node is not None and node.hooks and self._entry in node.hooks:
            node.hooks.remove(self._entry)


class _ListHandle:
    """Returned by ``register_post_accumulate_grad_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list, fn: Callable) -> None:
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)
            _node_mod.EAGER_LEAVES[0] -= 1


def _add_hook(node: Any, idx: int | None, fn: Callable) -> _Handle:
    entry = (idx, fn)
    if node.hooks is None:
        node.hooks = []
    node.hooks.append(entry)
    return _Handle(node, entry)


class _Storage:
    """The tensors that share one memory and so one version counter (PyTorch's): a tensor, its views
    and its ``detach()`` copies. Each keeps its count in its own ``_version`` slot (so reading it costs
    nothing on the hot path); an in-place write moves all of them at once, and ``n``, the count itself,
    which outlives any one of them."""

    __slots__ = ("refs", "limit", "n", "since", "owner", "__weakref__")

    def __init__(self, t: "Tensor") -> None:
        self.refs = [weakref.ref(t)]
        self.limit = 8
        self.n = t._version
        # nodes recorded before now saved no member of this counter (see Tensor._saved_alias)
        self.since = next(_node_mod._seq)
        # kept alive with the entry, so that its id (the key) names no other buffer while the entry lives,
        # also once every member has let go of it (``t.data = ...``, ``module.double()``)
        self.owner = _owner(t._data)
        if "_untracked" in t.__dict__:  # ``.data``'s counter, PyTorch's own: not the memory's counter
            return
        key = id(self.owner)

        def forget(r: weakref.ref, key: int = key) -> None:
            if _BY_OWNER.get(key) is r:
                _BY_OWNER.pop(key)
        _BY_OWNER[key] = weakref.ref(self, forget)

    def live(self) -> list:
        """The member tensors still alive (dead references are dropped)."""
        out = [t for t in (r() for r in self.refs) if t is not None]
        self.refs = [weakref.ref(t) for t in out]
        self.limit = max(8, 2 * len(out))
        return out

    def add(self, t: "Tensor") -> None:
        if len(self.refs) >= self.limit:
            self.live()
        self.refs.append(weakref.ref(t))


#: A weak reference to the _Storage of each buffer that has one, by the id of the buffer owning the
#: memory (which the members keep alive as long as the entry lives; the entry goes with the _Storage).
#: A plain dict: the engine asks it for every saved tensor that is gone, and it is usually empty.
_BY_OWNER: dict = {}


def _owner(d: Any) -> Any:
    """The buffer that owns ``d``'s memory (NumPy and CuPy point a view's ``base`` at it)."""
    b = getattr(d, "base", None)
    return d if b is None else b


def _counter_of(owner: Any) -> "_Storage | None":
    """The shared version counter of the memory that buffer ``owner`` owns, if it has one."""
    ref = _BY_OWNER.get(id(owner))
    return None if ref is None else ref()


def _link(base: "Tensor", alias: "Tensor", view_fn: Callable | None) -> None:
    """Make ``alias`` share ``base``'s version counter: a view (``view_fn(base)`` recomputes it, kept so
    that an in-place write through either can update the other's history) or a detached copy (None)."""
    g = base._storage
    if g is None:
        g = base._storage = _Storage(base)
    g.add(alias)
    alias._storage = g
    alias._version = base._version
    if view_fn is not None:
        root = base._base_t
        if root is not None:  # a view of a view: recompute it from the first base, as PyTorch does
            inner = base._view_fn
            assert inner is not None  # (a view has its view function)
            alias._base_t, alias._view_fn = root, lambda b: view_fn(inner(b))
        else:
            alias._base_t, alias._view_fn = base, view_fn


def _link_views(base: "Tensor", res: Any, view_fn: Callable) -> Any:
    """``res`` (a tensor or a tuple of tensors computed from ``base`` by a view function) linked to
    ``base`` where it shares its memory; ``view_fn(b, i)`` recomputes output ``i`` from ``b``."""
    own = _owner(base._data)
    if isinstance(res, Tensor):
        linked = res._storage is not None and res._storage is base._storage  # (a view function calling another)
        if res is not base and not linked and _owner(res._data) is own:
            _link(base, res, lambda b: view_fn(b, None))
    elif isinstance(res, (tuple, list)):
        for i, r in enumerate(res):
            if isinstance(r, Tensor) and r is not base and _owner(r._data) is own and r._storage is None:
                _link(base, r, lambda b, i=i: view_fn(b, i))
    return res


def _part(t: "Tensor", op: Any, attr: str) -> "Tensor":
    """``op(t)`` (``OPS.real`` or ``OPS.imag``, which copy) over the part of ``t``'s memory it shows,
    linked to ``t`` as a view (the op's node keeps no buffer of its output)."""
    res = op(t)
    res._data = derived(_attr_of, t._data, getattr(t._data, attr), attr)
    return _link_views(t, res, lambda b, i: op(b))


def _attr_of(d: Any, attr: str) -> Any:
    return getattr(d, attr)


def _int_indices(key: Any) -> Any:
    """``key`` with its 0-d integer tensors as Python ints: PyTorch indexes with them as with ints (a
    view, ``SelectBackward0``), not as advanced indices (a copy)."""
    def one(k: Any) -> Any:
        if isinstance(k, Array) and k._data.ndim == 0 and k._data.dtype.kind in "iu":
            return int(to_host(k._data))
        return k
    return tuple(one(k) for k in key) if type(key) is tuple else one(key)


def _basic_key(key: Any, ndim: int) -> Any:
    """``key`` with an Ellipsis appended where it picks one element with integers, so that NumPy returns
    a 0-d view instead of a scalar (``x[0]`` of a vector is a view in PyTorch)."""
    keys = key if type(key) is tuple else (key,)
    if len(keys) != ndim:
        return key
    for k in keys:
        if isinstance(k, bool) or not isinstance(k, (int, numpy.integer)):
            return key
    return keys + (Ellipsis,)


def _to_torch_convention(g: Any) -> Any:
    """Complex gradients: the engine computes them in the HIPS/JAX convention (VJP of g through a
    holomorphic f is g·f'(z)); PyTorch's is its conjugate (g·conj(f'(z))). Conjugating what goes in
    (head gradients) and what comes out (.grad, autograd.grad) maps one onto the other."""
    if isinstance(g, Array) and g._data.dtype.kind == "c":
        return OPS.conj(g)
    return g


_ARR = numpy.ndarray
_NUMBERS = {bool: bool, int: int, float: float, complex: complex}
_BOOL = numpy.dtype(numpy.bool_)
#: The result dtype for each (result dtype NumPy gave, default dtype, operands' (dtype, group)...).
_RESULT_TYPES: dict = {}


def _promote(out: Any, datas: list | tuple, params: dict, _arr: type = _ARR, _numbers: dict = _NUMBERS,
             _type: type = type, _len: Any = len) -> Any:
    """An op's result in PyTorch's result type, where NumPy's differs (``_dtypes.result_type``: 0-d
    tensors and Python numbers count less than tensors of one or more dimensions; an integer meeting a
    float gives the float; Python floats are the default dtype); integer inputs to a floating function
    give the default dtype (unless a dtype was asked for)."""
    dt = out.dtype
    # the common cases: every array input of the result's dtype (a Python number then cannot change it),
    # or inputs of one dtype and a result of another category (comparisons) or floating from floating
    if _len(datas) == 2:
        a, b = datas
        if _type(a) is _arr:
            ad = a.dtype
            if _type(b) is _arr:
                if ad is b.dtype and (ad is dt or dt.kind not in "fc" or ad.kind in "fc"):
                    return out
            elif _type(b) in _numbers and (ad is dt or dt is _BOOL):
                return out
        elif _type(b) is _arr and _type(a) in _numbers and (b.dtype is dt or dt is _BOOL):
            return out
    elif _len(datas) == 1:
        a = datas[0]
        if _type(a) is _arr:
            ad = a.dtype
            if ad is dt or dt.kind not in "fc" or ad.kind in "fc":
                return out
    return _promote_slow(out, datas, params, dt)


def _promote_slow(out: Any, datas: list | tuple, params: dict, dt: numpy.dtype) -> Any:
    """``_promote`` for inputs of mixed dtypes, or not NumPy arrays: PyTorch's dtype for the result,
    cached by the inputs' dtypes and kinds (tensors of one or more dimensions, 0-d, Python numbers)."""
    if params.get("dtype") is not None or dt.kind not in "biufc":
        return out
    buffers = 0
    for d in datas:  # every input a buffer of the result's dtype (on a device too) or a Python number
        if d.__class__ not in _NUMBERS:
            if getattr(d, "dtype", None) is not dt:
                break
            buffers += 1
    else:
        if buffers:
            return out
    key = [dt, _dtypes._DEFAULT[0]]
    for d in datas:
        t = _NUMBERS.get(d.__class__)
        if t is not None:
            key.append((t, 2))
        elif isinstance(d, numpy.generic):
            key.append((_NUMBERS.get(type(d.item()), complex), 2))
        elif hasattr(d, "dtype") and hasattr(d, "ndim"):
            key.append((d.dtype, 0 if d.ndim else 1))
    k = tuple(key)
    rt = _RESULT_TYPES.get(k)
    if rt is None:
        if len(_RESULT_TYPES) > 4096:
            _RESULT_TYPES.clear()
        rt = _RESULT_TYPES[k] = _torch_result_type(k)
    return out if rt is dt else out.astype(rt)


def _torch_result_type(key: tuple) -> numpy.dtype:
    """PyTorch's dtype for a result NumPy computed in ``key[0]``: the elementwise result type where NumPy
    gave its own common type of the inputs; the default dtype where integer inputs gave a float."""
    dt, entries = key[0], key[2:]
    if not entries:
        return dt
    weak = {bool: False, int: 0, float: 0.0, complex: 0j}
    try:
        common = numpy.result_type(*(weak[d] if g == 2 else d for d, g in entries))
    except (TypeError, ValueError):
        common = None
    arrays = [d for d, g in entries if g != 2]
    if dt == common:
        rt = _dtypes.result_type(entries)
        return dt if rt is None else numpy.dtype(rt)
    if dt.kind == "f" and all(d.kind in "biu" for d in arrays):  # an int-to-float function (divide, sqrt...)
        return _dtypes.default_float()
    if dt == _F64 and not any(d.kind in "fc" and d.itemsize >= 8 for d in arrays):
        return _dtypes.default_float()
    return dt



def _grad_reset(t: "Tensor", what: str) -> None:
    """Note, for ``explain``, that ``t`` (some variable's ``.grad``) was reset in place by ``what``."""
    owner = t.__dict__.get("_grad_of")
    if owner is not None:
        _events.zeroed(owner, what)


def _grad_data(t: "Tensor") -> Any:
    """The buffer of ``t.grad`` (None without one): how a compiled replay finds it."""
    g = t._gradT
    return None if g is None else g._data

class Tensor(Array):
    """A PyTorch-style tensor over the tapegrad engine (``import tapegrad.torch as torch``)."""

    __slots__ = ("__dict__",)  # PyTorch tensors take attributes of their own

    _recording_flag = GRAD_ENABLED
    _strict_free = False
    _track_versions = True
    _promote = staticmethod(_promote)
    # defaults, set per instance only when they change (creating a tensor sets neither)
    _gradT = None  # .grad
    _retains = False  # retain_grad() was called
    _storage = None  # the _Storage shared with views and detached copies, once there are any
    _base_t: Tensor | None = None  # a view's base tensor (PyTorch's ``_base``)
    _view_fn: Callable | None = None  # a view's function of its base

    @classmethod
    def _coerce(cls, value: Any) -> Any:
        if isinstance(value, numpy.generic):  # PyTorch reads a NumPy scalar as the Python number it holds
            return value.item()  # (first: numpy.float64 and numpy.complex128 are Python floats and complexes)
        if isinstance(value, (int, float, complex, numpy.ndarray)):
            return value
        if is_device_buffer(value):  # a raw device buffer (inside a gradient rule)
            return value
        if value is None:
            raise TypeError("expected a tensor or a number, got None")
        refuse_traced(value)
        a = numpy.asarray(value)  # Python data: floats in the default dtype, complex in its counterpart
        if a.dtype == _F64:
            return a.astype(_dtypes.default_float())
        return a.astype(_dtypes.default_complex()) if a.dtype == _C128 else a

    # -- PyTorch's error texts -------------------------------------------------------------------
    @classmethod
    def _err_no_graph(cls, i: int) -> str:
        return f"element {i} of tensors does not require grad and does not have a grad_fn"

    @classmethod
    def _node_name(cls, node: Any) -> str:
        return GradFn(node).name()

    @classmethod
    def _err_custom_shape(cls, node: Any, i: int, got: tuple, want: tuple) -> str:
        return (f"Function {cls._node_name(node)} returned an invalid gradient at index {i} - got {list(got)} "
                f"but expected shape compatible with {list(want)}")

    @classmethod
    def _err_head_dtype(cls, i: int, gdtype: Any, hdtype: Any) -> str:
        g, h = _dtypes.from_numpy_dtype(gdtype), _dtypes.from_numpy_dtype(hdtype)
        return ("For complex Tensors, both grad_output and output are required to have the same dtype. Mismatch "
                f"in dtype: grad_output[{i}] has a dtype of {g} and output[{i}] has a dtype of {h}.")

    @classmethod
    def _err_head_shape(cls, i: int, gshape: tuple, hshape: tuple) -> str:
        return (f"Mismatch in shape: grad_output[{i}] has a shape of torch.Size({list(gshape)}) and output[{i}] "
                f"has a shape of torch.Size({list(hshape)}).")

    @classmethod
    def _err_modified(cls, a: Array, what: str, node: Any, version: int) -> str:
        kind = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "bool": "Bool"}.get(a.dtype.name, a.dtype.name)
        origin = ""  # (PyTorch: "[torch.FloatTensor [3]] is at version" for a leaf, no comma)
        shape = list(a.shape)
        if node.op is not None and node.op.name == "linear" and what == "input 1":
            # PyTorch's linear saves weight.t(), a view it reports as AsStrided, of the transposed shape
            shape, origin = shape[::-1], ", which is output 0 of AsStrided,"
        elif a.__dict__.get("_strided"):  # stands for a view, whose history PyTorch recomputes as AsStrided
            origin = ", which is output 0 of AsStrided,"
        elif what.startswith("output"):  # the op that saved its own output
            origin = f", which is {what} of {_short(GradFn(node).name())},"
        elif a._node is not None and a._node.op is not None:  # the tensor's history now (after the write)
            origin = f", which is output {a._idx or 0} of {_short(GradFn(a._node).name())},"
        return (f"one of the variables needed for gradient computation has been modified by an inplace operation: "
                f"[torch.{kind}Tensor {shape}]{origin} is at version {a._version}; expected version "
                f"{version} instead. Hint: enable anomaly detection to find the operation that failed to compute "
                "its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")

    #: ``explain``'s words in this dialect (see ``_core/explain.TERMS``).
    _explain_terms = {
        "mark": "create it with requires_grad=True (or call x.requires_grad_()) before the forward",
        "paused": "with grad mode off (under torch.no_grad() or torch.set_grad_enabled(False))",
        "record": "compute it outside torch.no_grad()",
        "retain": "pass retain_graph=True to the first backward (loss.backward(retain_graph=True)), or run "
                  "the forward again",
        "not_leaf": "call x.retain_grad() before backward(), or read the .grad of the leaf it was computed from",
        "zeroed": "reset gradients before loss.backward() (optimizer.zero_grad(); loss.backward(); "
                  "optimizer.step()), not between backward() and their use",
        "returned": "torch.autograd.grad returns the gradients and leaves .grad alone: use what it returned, "
                    "or call loss.backward() to accumulate them into .grad",
    }

    def explain(self, head: Any = None) -> Any:
        """Why this tensor's ``.grad`` is None or zero after the last backward (or ``head``'s graph), naming
        the lines responsible; see ``tapegrad.explain``."""
        return _explain(self, head=head)

    # -- autograd attributes -----------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._node is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Make this leaf record (or stop recording) operations on it; returns self."""
        if not self.is_leaf:
            if requires_grad:
                return self
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if requires_grad:
            if self.dtype.kind not in "fc":
                raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
            if self._node is None:
                self._grad_req = "add"
                self._node = Node.leaf(self)
        else:
            self._node = None
        return self

    @property
    def is_leaf(self) -> bool:
        return self._node is None or self._node.op is None

    @property
    def grad_fn(self) -> GradFn | None:
        n = self._node
        return None if n is None or n.op is None else GradFn(n)

    @property
    def grad(self) -> "Tensor | None":
        if not self.is_leaf and not self._retains:
            warnings.warn(NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
            return None
        if self._gradT is not None:
            rec = _mode.RECORDER.get()
            if rec is not None:
                rec.attr_ref(self, _grad_data)
        return self._gradT

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None and tuple(value.shape) != tuple(self.shape):
            raise RuntimeError("assigned grad has data of a different size")
        rec = _mode.RECORDER.get()
        if rec is not None:
            rec.effect(self, "_gradT", Tensor._make, None if value is None else value._data)
        if self._node is not None:  # (for ``explain``: the gradient was reset here)
            _events.zeroed(self._node, "x.grad = None" if value is None else "x.grad = ...")
        self._gradT = value

    @property
    def retains_grad(self) -> bool:
        return self._retains

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` during backward."""
        if self.is_leaf or self._retains:
            return
        if self._node is None:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        self._retains = True
        me = weakref.ref(self)

        def keep(g: "Tensor") -> None:
            t = me()
            if t is not None:
                t._accumulate(g, GRAD_ENABLED.get())
        self._keep = keep
        _add_hook(self._node, self._idx, keep)

    def _set_history(self, node: Any, idx: int | None) -> None:
        """Give this tensor a new history (after an in-place write); its ``retain_grad`` moves along, as in
        PyTorch (``.grad`` is then the gradient of the values the tensor holds now)."""
        old = self._node
        self._node, self._idx = node, idx
        keep = self.__dict__.get("_keep")
        if keep is not None and old is not node:
            if old is not None and old.hooks:
                old.hooks = [h for h in old.hooks if h[1] is not keep]
            if node is not None:
                _add_hook(node, idx, keep)

    def register_hook(self, hook: Callable) -> _Handle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if self._node is None:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        return _add_hook(self._node, self._idx, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable) -> "_ListHandle":
        """Call ``hook(self)`` after a backward has accumulated this leaf's ``.grad`` (DDP starts its
        reductions from such hooks)."""
        if self._node is None:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._node.op is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        hooks = self.__dict__.setdefault("_post_hooks", [])
        hooks.append(hook)
        self._node.eager = True
        _node_mod.EAGER_LEAVES[0] += 1
        return _ListHandle(hooks, hook)

    def _grad_value(self) -> Any:
        g = self._gradT
        return None if g is None else g._data

    def _write_grad(self, g: Any, create_graph: bool, owned: bool = False) -> None:
        if g is not None:
            self._accumulate(g, create_graph, owned)
            hooks = self.__dict__.get("_post_hooks")
            if hooks:
                for hook in list(hooks):
                    hook(self)

    def _accumulate(self, g: "Tensor", create_graph: bool, owned: bool = False) -> None:
        """``.grad += g``: in place in the same tensor, or as a recorded sum under create_graph. A first
        gradient is kept as it is when nothing else holds its buffer (``owned``) and its layout is this
        tensor's (PyTorch steals it then too, and otherwise copies it into this tensor's layout)."""
        g = _to_torch_convention(g)
        rec = _mode.RECORDER.get()
        if self._gradT is None:
            keep = create_graph or (owned and g._data.strides == self._data.strides)
            if keep:
                self._gradT = g
            else:
                self._gradT = Tensor._make(g._data.copy())
                if rec is not None:
                    rec.copy(g._data, self._gradT._data)
            self._gradT.__dict__["_grad_of"] = self._node  # (whose gradient it is: ``x.grad.zero_()`` is noted for explain)
            if rec is not None:
                rec.effect(self, "_gradT", Tensor._make, self._gradT._data)
        elif create_graph or self._gradT._node is not None:
            self._gradT = self._gradT + g
            if rec is not None:
                rec.effect(self, "_gradT", Tensor._make, self._gradT._data)
        else:
            buf = self._gradT._data
            if buf.shape == g.shape and getattr(buf.flags, "writeable", True):  # CuPy: always
                if rec is not None:
                    rec.write("iadd", rec.attr_ref(self, _grad_data), g._data)
                buf += g._data
            else:
                if rec is not None:
                    rec.refuse("a gradient accumulated into read-only memory")
                self._gradT._data = buf + g._data
            self._gradT._bump()

    def backward(self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs: Any = None) -> None:
        """Accumulate this tensor's gradient into the ``.grad`` of the leaves (or of ``inputs``)."""
        if retain_graph is None:
            retain_graph = create_graph
        if inputs is not None and isinstance(inputs, Array):
            inputs = [inputs]
        engine.backward([self], None if gradient is None else [_to_torch_convention(gradient)],
                        retain_graph=retain_graph, create_graph=create_graph, implicit_ones=False, inputs=inputs)

    def detach(self) -> "Tensor":
        """The same storage (and version counter) with no history and ``requires_grad=False``."""
        if self._node is not None:
            _events.detached(self._node)
        out = Tensor._make(view_of(self._data))
        _link(self, out, None)
        return out

    @property
    def _base(self) -> "Tensor | None":
        """The tensor this one is a view of (None when it is not a view)."""
        return self._base_t

    def _bump(self) -> None:
        """Count one in-place write, in this tensor and in every tensor sharing its memory."""
        g = self._storage
        n = self._version + 1
        count_write()
        if g is None:
            self._version = n
        else:
            g.n = n
            for t in g.live():
                t._version = n

    @classmethod
    def _saved_alias(cls, node: Any, what: str) -> "Tensor | None":
        """For a saved tensor that no longer exists: a tensor over the saved buffer that reads the version
        counter of that memory, where views or detached copies share it (they may have written to it)."""
        if not _BY_OWNER:  # no memory is shared: nothing but the saved tensor could have written to it
            return None
        k = int(what[what.index(" ") + 1:])  # "input 1", "output 0"
        inp = what[0] == "i"
        buf = node.saved[k] if inp else node.out if node.nout is None else node.out[k]
        if buf is None:
            return None
        b = buf.base
        g = _counter_of(buf if b is None else b)
        if g is None or (b is not None and g.since > node.seq):
            # an alias no view function linked, of memory whose counter is younger than the node: the
            # counter started from another tensor's version, not from the one this alias had when saved
            return None
        t = Tensor._make(buf)
        t._version = g.n
        if inp:  # its history when it was saved, for the error's "output i of ..."
            t._node, t._idx = node.parents[k], node.pidx[k] if node.pidx is not None else None
            t._strided = b is not None
        return t

    def _version_at_save(self) -> int:
        """This tensor's version, after joining the version counter of its memory if it is an alias that
        no view function linked (an op's own transpose, reshape... of a tensor with views): as in
        PyTorch, every tensor over one memory counts the writes to it."""
        if self._storage is None and _BY_OWNER:
            b = getattr(self._data, "base", None)  # (a tensor owning its memory would have been linked)
            g = None if b is None else _counter_of(b)
            if g is not None:
                g.add(self)
                self._storage = g
                self._version = g.n
        return self._version

    def __getitem__(self, key: Any) -> "Tensor":
        if isinstance(key, Array) or (type(key) is tuple and any(isinstance(k, Array) for k in key)):
            key = _int_indices(key)
        key = _basic_key(key, self._data.ndim)
        return _link_views(self, OPS.getitem(self, key), lambda b, i: OPS.getitem(b, key))

    def detach_(self) -> "Tensor":
        """Cut this tensor from its history in place; returns self."""
        if self._node is not None:
            _events.detached(self._node)
        self._node = None
        self._idx = None
        return self

    @property
    def real(self) -> "Tensor":
        """The real part: a view of a complex tensor (writes through it change the tensor); a real tensor itself."""
        return _part(self, OPS.real, "real") if self._data.dtype.kind == "c" else self

    @property
    def imag(self) -> "Tensor":
        """The imaginary part, a view of a complex tensor (writes through it change the tensor)."""
        if self._data.dtype.kind != "c":
            raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
        return _part(self, OPS.imag, "imag")

    @property
    def T(self) -> "Tensor":
        return _link_views(self, OPS.transpose(self), lambda b, i: OPS.transpose(b))

    @property
    def data(self) -> "Tensor":
        """The same memory with a version counter of its own (writes through it go unseen, as in PyTorch)."""
        t = Tensor._make(self._data)
        t._untracked = True
        return t

    @data.setter
    def data(self, value: "Tensor") -> None:
        rec = _mode.RECORDER.get()
        if rec is not None:
            rec.refuse("assigning Tensor.data")
        self._data = value._data if isinstance(value, Array) else numpy.asarray(value)

    # -- in-place policy ------------------------------------------------------------------------
    def _check_inplace(self) -> None:
        if GRAD_ENABLED.get():
            if self._node is not None and self._node.op is None:
                raise AutogradError(LEAF_INPLACE)
            b = self._base_t
            if b is not None and b._node is not None and b._node.op is None:
                raise AutogradError(VIEW_LEAF_INPLACE)

    def _records_update(self, inputs: tuple) -> bool:
        """Also where only the tensor this one is a view of is on the tape (its history changes too)."""
        b = self._base_t
        return self._node is not None or (b is not None and b._node is not None) or _any_traced(inputs)

    # -- conversions with PyTorch's errors ------------------------------------------------------
    def item(self) -> Any:
        """The single element as a Python number."""
        n = self._data.size
        if n != 1:
            raise RuntimeError(f"a Tensor with {n} elements cannot be converted to Scalar")
        v = numpy.asarray(to_host(self._data)).reshape(()).item()
        if _mode.RECORDER.get() is not None:  # Python read a value: a compiled replay checks it
            _value_read("scalar", self, v)
        return v

    def __index__(self) -> int:
        """An integer (or bool) tensor of one element as a Python int, as PyTorch allows (``range(t)``,
        ``lst[t]``, slices; any number of dimensions); floating tensors refuse with PyTorch's message."""
        d = self._data
        if d.size != 1 or d.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size > 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        if self._data.size == 0:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
        return bool(self.item())

    def numpy(self, *, force: bool = False) -> numpy.ndarray:
        """The values as a NumPy array sharing this tensor's memory: writes through either are seen by
        the other (writes through the NumPy array do not move the version counter, as in PyTorch).
        Refused for a tensor that requires grad, as in PyTorch; ``force=True`` gives the values
        anyway, copied to the host from a GPU."""
        if not force:
            if self.requires_grad:
                raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                                   "instead.")
            if self.is_cuda:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to "
                                "copy the tensor to host memory first.")
        d = self._data
        rec = _mode.RECORDER.get()
        if rec is not None:
            rec.refuse("Tensor.numpy() (Python code then reads and may write the tensor's memory)")
        return d.view() if isinstance(d, numpy.ndarray) else numpy.asarray(to_host(d))

    def __dlpack__(self, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> Any:
        """A DLPack capsule sharing this tensor's memory; refused for a tensor that requires grad, as
        in PyTorch (``torch.utils.dlpack.to_dlpack`` exports it all the same)."""
        if self.requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        return super().__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)

    def tolist(self) -> Any:
        h = numpy.asarray(to_host(self._data))
        if _mode.RECORDER.get() is not None:
            _value_read("array", self, h.copy())
        return h.tolist()

    @property
    def device(self) -> Any:
        d = device_of(self._data)
        return _device("cpu") if d.device_type == "cpu" else _device("cuda", d.device_id)

    @property
    def is_cuda(self) -> bool:
        return device_of(self._data).device_type == "gpu"

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        from ._format import format_tensor  # noqa: PLC0415
        suffixes = []
        if self.is_cuda:
            suffixes.append(f"device='{self.device}'")
        fn = self.grad_fn
        if fn is not None:
            suffixes.append(f"grad_fn=<{fn.name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        rec = _mode.RECORDER.get()
        if rec is not None:
            rec.print_seen()
        return format_tensor(numpy.asarray(to_host(self._data)), suffixes, default_dtype=_dtypes.default_float())

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self) if not spec else format(repr(self), spec)

    def __hash__(self) -> int:  # type: ignore[override]  # tensors hash by identity in PyTorch (dict keys, sets of parameters)
        return id(self)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __array__(self, dtype: Any = None, copy: Any = None) -> _ndarray:
        a = to_host(self._data)
        return a if dtype is None else a.astype(dtype, copy=False)

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple:
        return (_rebuild, (numpy.asarray(to_host(self._data)), self.requires_grad))

    if TYPE_CHECKING:  # for type checkers only
        # attributes a tensor takes when it stands for a view (``_strided``) or is ``.data`` (``_untracked``)
        _strided: bool
        _untracked: bool

        # PyTorch's methods and properties, bound onto the class from tables (``_functions.bindings``):
        # to a type checker, each is Any.
        def __getattr__(self, name: str) -> Any: ...


def _rebuild(data: numpy.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


_ = OPS  # the arithmetic dunders come from Array and route through the op registry
