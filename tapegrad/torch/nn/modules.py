"""``torch.nn.Module`` and the few layers and losses that D2L's first chapters use.

A Module registers Parameters and submodules when they are assigned as attributes; ``parameters()``,
``train()``/``eval()``, ``zero_grad()``, ``state_dict()`` walk that tree. Forward passes call
``torch.nn.functional``, which calls registry ops: no gradient is computed here.
"""
from __future__ import annotations

import math
import operator
from collections import OrderedDict, namedtuple
from typing import Any, Callable, Iterator, Mapping

import numpy

from ..._core import events as _events
from ..._core import mode as _mode
from ..._core.array import Array
from ..._core.capture import refuse as _refuse
from ..._core.node import count_write
from ...backend import device_of, to_device, to_host
from .._device import _backend_device, default_device
from .._dtypes import DTYPES, default_float, dtype as _torch_dtype, to_numpy_dtype
from ..tensor import Tensor
from . import functional as F
from . import init
from .parameter import Parameter

__all__ = ["Module", "Sequential", "ModuleList", "Linear", "ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
           "Flatten", "Identity", "Dropout", "CrossEntropyLoss", "NLLLoss", "MSELoss", "Conv2d", "MaxPool2d",
           "AvgPool2d", "Softplus", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "LeakyReLU", "Hardtanh", "ReLU6",
           "Hardsigmoid", "Hardswish", "LogSigmoid", "Softsign", "Tanhshrink", "Softshrink", "Hardshrink",
           "Threshold", "GLU"]


def typename(obj: Any) -> str:
    """``torch.typename``: ``torch.FloatTensor`` for a float32 tensor, the qualified class name otherwise."""
    if isinstance(obj, Array):
        kind = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
                "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}.get(obj._data.dtype.name, obj._data.dtype.name)
        return f"torch.{kind}Tensor"
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _addindent(s: str, spaces: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(spaces * " " + line for line in lines[1:])


def _zero_grad(p: Tensor, set_to_none: bool) -> None:
    """Reset ``p.grad``: drop it (PyTorch 2's default) or zero it in place in the same tensor."""
    g = p.grad
    if g is None:
        return
    if set_to_none:
        p.grad = None
        return
    if p._node is not None:  # (for ``explain``)
        _events.zeroed(p._node, "zero_grad(set_to_none=False)")
    if g._node is not None:
        g.detach_()
    if getattr(g._data.flags, "writeable", True):  # CuPy arrays have no such flag: always writable
        rec = _mode.RECORDER.get()
        if rec is not None:
            rec.write("set", g, 0)
        g._data[...] = 0
    else:
        _refuse("zero_grad on a read-only gradient")
        g._data = numpy.zeros_like(g._data)
    g._bump()


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class _Handle:
    """Returned by ``register_forward_hook``; ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self._hooks = hooks
        self.id = _Handle._next_id
        _Handle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


class Module:
    """Base class of every layer and model: subclass it, assign Parameters and submodules in
    ``__init__`` (after ``super().__init__()``) and define ``forward``."""

    training: bool
    _version = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        if args:
            raise TypeError(f"{type(self).__name__}.__init__() takes 1 positional argument but {len(args) + 1} "
                            "were given")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = {}
        d["_forward_hooks"] = {}
        d["_forward_pre_hooks"] = {}

    # -- forward -------------------------------------------------------------------------------
    def forward(self, *input: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for hook in list(self.__dict__.get("_forward_pre_hooks", {}).values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        for hook in list(self.__dict__.get("_forward_hooks", {}).values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        return out

    def register_forward_pre_hook(self, hook: Callable) -> _Handle:
        h = _Handle(self._forward_pre_hooks)
        self._forward_pre_hooks[h.id] = hook
        return h

    def register_forward_hook(self, hook: Callable) -> _Handle:
        h = _Handle(self._forward_hooks)
        self._forward_hooks[h.id] = hook
        return h

    # -- registration --------------------------------------------------------------------------
    def _check_name(self, name: Any, what: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string. Got {typename(name)}")
        if "." in name:
            raise KeyError(f'{what} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{what} name can\'t be empty string ""')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` (a Parameter, or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{typename(param)}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        elif param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be created "
                             f"explicitly. To express '{name}' as a function of another Tensor, compute the value in "
                             "the forward() method.")
        else:
            self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not a parameter (saved in ``state_dict`` when persistent)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{typename(tensor)}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Add a child module under ``name``."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{typename(module)} is not a Module subclass")
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__

        def remove_from(*containers: Any) -> None:
            for c in containers:
                if name in c:
                    if isinstance(c, dict):
                        del c[name]
                    else:
                        c.discard(name)

        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{typename(value)}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        else:
            modules = d.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign module before Module.__init__() call")
                remove_from(d, self._parameters, self._buffers, self._non_persistent_buffers_set)
                modules[name] = value
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(f"cannot assign '{typename(value)}' as child module '{name}' "
                                    "(torch.nn.Module or None expected)")
                modules[name] = value
            else:
                buffers = d.get("_buffers")
                if buffers is not None and name in buffers:
                    if value is not None and not isinstance(value, Tensor):
                        raise TypeError(f"cannot assign '{typename(value)}' as buffer '{name}' "
                                        "(torch.Tensor or None expected)")
                    buffers[name] = value
                else:
                    object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                del d[store][name]
                if store == "_buffers":
                    d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list:
        keys = list(object.__dir__(self))
        for store in ("_parameters", "_buffers", "_modules"):
            keys += list(self.__dict__.get(store, {}))
        return sorted(k for k in set(keys) if not k[:1].isdigit())

    # -- traversal -----------------------------------------------------------------------------
    def _named_members(self, get: Callable, prefix: str, recurse: bool, remove_duplicate: bool) -> Iterator:
        memo: set = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for k, v in get(mod):
                if v is None or (remove_duplicate and id(v) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (mod_prefix + ("." if mod_prefix else "") + k, v)

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator:
        """``(name, parameter)`` pairs, dotted names for submodules' parameters, each parameter once."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter of this module and (``recurse``) its submodules, each once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True) -> Iterator:
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self) -> Iterator:
        """``(name, module)`` for the immediate submodules, each once."""
        memo: set = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in memo:
                memo.add(id(m))
                yield name, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True) -> Iterator:
        """``(name, module)`` for this module (name ``''``) and every descendant, depth first."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def get_submodule(self, target: str) -> "Module":
        mod = self
        for item in target.split(".") if target else []:
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call ``fn`` on every submodule (children first) and on this module; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- modes and gradients ---------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set ``training`` on this module and every descendant; returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> "Module":
        """``train(False)``: dropout and similar layers switch to inference behaviour."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the parameters' gradients: ``None`` (default) or zeros in the same tensors."""
        for p in self.parameters():
            _zero_grad(p, set_to_none)

    # -- dtype and device ------------------------------------------------------------------------
    def _cast(self, dt: numpy.dtype) -> "Module":
        _refuse("casting a module's parameters")
        for t in list(self.parameters()) + list(self.buffers()):
            if t._data.dtype.kind in "fc":
                t._data = t._data.astype(dt)
                t._version += 1
                count_write()
                if isinstance(t, Parameter) and t.grad is not None:
                    t.grad._data = t.grad._data.astype(dt)
        return self

    def _move(self, device: Any) -> "Module":
        """Parameters, their gradients and buffers moved to ``device`` in place (same objects)."""
        dev = _backend_device(device)
        _refuse("moving a module to another device")
        for t in list(self.parameters()) + list(self.buffers()):
            if device_of(t._data) != dev:
                t._data = to_device(t._data, dev)
                t._version += 1
                count_write()
            g = t.grad if isinstance(t, Parameter) else None
            if g is not None and device_of(g._data) != dev:
                g._data = to_device(g._data, dev)
        return self

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """``to(dtype)`` casts floating parameters and buffers in place, ``to(device)`` ('cpu', 'cuda',
        'cuda:1', a torch.device) moves them in place; both may be given. Returns self."""
        dt = kwargs.get("dtype")
        device = None
        for a in list(args) + [kwargs.get("device")]:
            if isinstance(a, _torch_dtype):
                dt = a
            elif isinstance(a, Tensor):
                dt, device = DTYPES[a._data.dtype], a.device
            elif a is not None:
                device = a
        if dt is not None:
            if to_numpy_dtype(dt).kind not in "fc":
                raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                                f"dtype={dt}")
            self._cast(to_numpy_dtype(dt))
        if device is not None:
            self._move(device)
        return self

    def cpu(self) -> "Module":
        return self._move("cpu")

    def cuda(self, device: Any = None) -> "Module":
        return self._move("cuda" if device is None else device)  # an int is a CUDA index (_backend_device)

    def float(self) -> "Module":  # noqa: A003
        return self._cast(numpy.dtype(numpy.float32))

    def double(self) -> "Module":
        return self._cast(numpy.dtype(numpy.float64))

    def half(self) -> "Module":
        return self._cast(numpy.dtype(numpy.float16))

    # -- state -----------------------------------------------------------------------------------
    def state_dict(self, *, destination: Any = None, prefix: str = "", keep_vars: bool = False) -> "OrderedDict":
        """Parameters and persistent buffers by dotted name (detached unless ``keep_vars``)."""
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False) -> _IncompatibleKeys:
        """Copy values into the parameters and buffers in place (same tensors); report missing and
        unexpected keys (an error when ``strict``)."""
        _refuse("loading a state dict (do it outside the compiled function)")
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing: list = []
        unexpected: list = []
        errors: list = []

        def load(module: Module, prefix: str) -> None:
            local = {k: v for k, v in module._parameters.items() if v is not None}
            local.update({k: v for k, v in module._buffers.items()
                          if v is not None and k not in module._non_persistent_buffers_set})
            for name, t in local.items():
                key = prefix + name
                if key not in state_dict:
                    missing.append(key)
                    continue
                value = state_dict[key]
                if not isinstance(value, Array):
                    errors.append(f'While copying the parameter named "{key}", expected torch.Tensor or Tensor-like '
                                  f"object from checkpoint but received {type(value)}")
                    continue
                if tuple(value.shape) != tuple(t.shape):
                    errors.append(f"size mismatch for {key}: copying a param with shape torch.Size({list(value.shape)}) "
                                  f"from checkpoint, the shape in current model is torch.Size({list(t.shape)}).")
                    continue
                if assign:
                    t._data = numpy.array(to_host(value._data))
                else:
                    t._data[...] = to_host(value._data)
                t._bump()
            for key in state_dict:
                if key.startswith(prefix):
                    parts = key[len(prefix):].split(".", 1)
                    if parts[0] not in (module._modules if len(parts) > 1 else local):
                        unexpected.append(key)
            for name, child in module._modules.items():
                if child is not None:
                    load(child, prefix + name + ".")

        load(self, "")
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        return _IncompatibleKeys(missing, unexpected)

    # -- printing --------------------------------------------------------------------------------
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """Extra text inside this module's repr (override in layers)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(m), 2) for key, m in self._modules.items()]
        lines = extra_lines + child_lines
        s = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                s += extra_lines[0]
            else:
                s += "\n  " + "\n  ".join(lines) + "\n"
        return s + ")"


# --- containers -------------------------------------------------------------------------------


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: submodules kept in order, by position."""

    def _index(self, idx: Any) -> str:
        """The key of the submodule at position ``idx`` (negative counts from the end)."""
        size = len(self)
        idx = operator.index(idx)
        if not -size <= idx < size:
            raise IndexError(f"index {idx} is out of range")
        return list(self._modules)[idx % size]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Any:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Any) -> Any:
        for m in modules:
            self.append(m)
        return self


class Sequential(_ModuleSequence):
    """Modules applied in order: ``Sequential(nn.Linear(2, 1))`` or ``Sequential(OrderedDict(...))``."""

    def __init__(self, *args: Any) -> None:  # modules, or one OrderedDict of them
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

    def __getitem__(self, idx: Any) -> Module:
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, self._index(idx), module)

    def __delitem__(self, idx: Any) -> None:
        keys = list(self._modules)[idx] if isinstance(idx, slice) else [self._index(idx)]
        for k in keys:
            del self._modules[k]
        # renumber, as PyTorch does
        items = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def forward(self, input: Any) -> Any:
        for module in self:
            input = module(input)
        return input


class ModuleList(_ModuleSequence):
    """A list of submodules, registered so that ``parameters()`` sees them."""

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        if modules is not None:
            for m in modules:
                self.append(m)

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(str(operator.index(idx) % len(self)), module)


# --- layers -----------------------------------------------------------------------------------


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


def _place(module: Module, device: Any) -> None:
    """Move a new module's parameters (initialised on the host, from PyTorch's CPU stream) to ``device``, or
    to the default device (``torch.set_default_device``) when none is given, as PyTorch creates them there."""
    if device is None:
        device = default_device()
    if device is not None:
        module._move(device)


class Linear(Module):
    """``y = x @ weight.T + bias`` with weight (out_features, in_features), initialised like PyTorch
    (Kaiming-uniform with ``a = sqrt(5)``, bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))) from the default
    generator, so that a seeded program draws PyTorch's numbers."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        dt = to_numpy_dtype(dtype) if dtype is not None else default_float()
        self.weight = Parameter(Tensor._make(numpy.empty((out_features, in_features), dtype=dt)))
        if bias:
            self.bias = Parameter(Tensor._make(numpy.empty((out_features,), dtype=dt)))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        _place(self, device)

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """2-D convolution: weight (out_channels, in_channels // groups, kH, kW) and bias (out_channels,),
    initialised like PyTorch (Kaiming-uniform with ``a = sqrt(5)``, bias U(-1/sqrt(fan_in),
    1/sqrt(fan_in))) from the default generator. Only ``padding_mode='zeros'``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode={padding_mode!r} is not supported (only 'zeros')")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = F._pair(kernel_size, "kernel_size")
        self.stride = F._pair(stride, "stride")
        self.padding = padding if isinstance(padding, str) else F._pair(padding, "padding")
        self.dilation = F._pair(dilation, "dilation")
        self.groups = groups
        self.padding_mode = padding_mode
        dt = to_numpy_dtype(dtype) if dtype is not None else default_float()
        self.weight = Parameter(Tensor._make(numpy.empty((out_channels, in_channels // groups) + self.kernel_size,
                                                         dtype=dt)))
        if bias:
            self.bias = Parameter(Tensor._make(numpy.empty((out_channels,), dtype=dt)))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        _place(self, device)

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._fans(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class MaxPool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class ReLU(Module):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


def _activation(name: str, fn: Callable, fields: tuple = (), show: Callable | None = None) -> type:
    """A Module class ``name`` applying ``F.fn`` with its ``fields`` (``(name, default)`` pairs in
    PyTorch's argument order; no default: required) stored as attributes; ``show(self)`` is its
    ``extra_repr`` (PyTorch's text for the layer)."""
    names = [f for f, _ in fields]
    defaults = {f: d for f, d in fields if d is not _REQUIRED}

    def __init__(self, *args: Any, **kw: Any) -> None:
        Module.__init__(self)
        if len(args) > len(names):
            raise TypeError(f"{name}.__init__() takes {len(names) + 1} positional arguments but "
                            f"{len(args) + 1} were given")
        values = dict(defaults, **dict(zip(names, args)))
        for k, v in kw.items():
            if k not in names:
                raise TypeError(f"{name}.__init__() got an unexpected keyword argument '{k}'")
            values[k] = v
        missing = [f for f in names if f not in values]
        if missing:
            raise TypeError(f"{name}.__init__() missing {len(missing)} required positional argument(s): "
                            + ", ".join(f"'{f}'" for f in missing))
        for f in names:
            setattr(self, f, values[f])

    def forward(self, input: Tensor) -> Tensor:
        return fn(input, **{f: getattr(self, f) for f in names})

    body = {"__init__": __init__, "forward": forward, "__module__": __name__,
            "__doc__": f"Applies ``torch.nn.functional.{fn.__name__}`` elementwise (see there)."}
    if show is not None:
        body["extra_repr"] = show
    return type(name, (Module,), body)


_REQUIRED = object()
_INPLACE = ("inplace", False)


def _inplace_text(m: Module) -> str:
    return ", inplace=True" if m.inplace else ""


def _only_inplace(m: Module) -> str:
    return "inplace=True" if m.inplace else ""


Softplus = _activation("Softplus", F.softplus, (("beta", 1.0), ("threshold", 20.0)),
                       lambda m: f"beta={m.beta}, threshold={m.threshold}")
ELU = _activation("ELU", F.elu, (("alpha", 1.0), _INPLACE), lambda m: f"alpha={m.alpha}{_inplace_text(m)}")
CELU = _activation("CELU", F.celu, (("alpha", 1.0), _INPLACE), lambda m: f"alpha={m.alpha}{_inplace_text(m)}")
SELU = _activation("SELU", F.selu, (_INPLACE,), _only_inplace)
GELU = _activation("GELU", F.gelu, (("approximate", "none"),), lambda m: f"approximate={m.approximate!r}")
SiLU = _activation("SiLU", F.silu, (_INPLACE,), _only_inplace)
Mish = _activation("Mish", F.mish, (_INPLACE,), _only_inplace)
LeakyReLU = _activation("LeakyReLU", F.leaky_relu, (("negative_slope", 0.01), _INPLACE),
                        lambda m: f"negative_slope={m.negative_slope}{_inplace_text(m)}")
Hardtanh = _activation("Hardtanh", F.hardtanh, (("min_val", -1.0), ("max_val", 1.0), _INPLACE),
                       lambda m: f"min_val={m.min_val}, max_val={m.max_val}{_inplace_text(m)}")
ReLU6 = _activation("ReLU6", F.relu6, (_INPLACE,), _only_inplace)
Hardsigmoid = _activation("Hardsigmoid", F.hardsigmoid, (_INPLACE,))
Hardswish = _activation("Hardswish", F.hardswish, (_INPLACE,))
LogSigmoid = _activation("LogSigmoid", F.logsigmoid)
Softsign = _activation("Softsign", F.softsign)
Tanhshrink = _activation("Tanhshrink", F.tanhshrink)
Softshrink = _activation("Softshrink", F.softshrink, (("lambd", 0.5),), lambda m: str(m.lambd))
Hardshrink = _activation("Hardshrink", F.hardshrink, (("lambd", 0.5),), lambda m: str(m.lambd))
Threshold = _activation("Threshold", F.threshold, (("threshold", _REQUIRED), ("value", _REQUIRED), _INPLACE),
                        lambda m: f"threshold={m.threshold}, value={m.value}{_inplace_text(m)}")
GLU = _activation("GLU", F.glu, (("dim", -1),), lambda m: f"dim={m.dim}")


class Softmax(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


# --- losses -----------------------------------------------------------------------------------


class _Loss(Module):
    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F._legacy(size_average, reduce) if size_average is not None or reduce is not None \
            else reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """``F.cross_entropy(input, target)``: logits of shape (N, C) against class indices (or probabilities)."""

    def __init__(self, weight: Tensor | None = None, size_average: Any = None, ignore_index: int = -100,
                 reduce: Any = None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """``F.nll_loss(input, target)``: log-probabilities against class indices."""

    def __init__(self, weight: Tensor | None = None, size_average: Any = None, ignore_index: int = -100,
                 reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class MSELoss(_Loss):
    """``F.mse_loss(input, target)``: the mean (or sum, or each) of the squared differences."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)
