"""PyTorch's CPU random number generator, reproduced over NumPy.

``torch.manual_seed(s)`` followed by ``torch.randn``/``rand``/``randint``/``randperm``/``bernoulli``/
``multinomial``/``dropout`` on the CPU draws from one ``at::CPUGeneratorImpl``: a 32-bit Mersenne Twister
seeded like ``std::mt19937(s & 0xffffffff)`` plus a one-value cache for the scalar Box-Muller normal. This
module replays that generator word for word (NumPy's ``MT19937`` with its legacy seeding *is* that engine)
and re-implements the ATen CPU kernels that consume it, so the same seed gives the same numbers, bit for
bit, as PyTorch 2.13's x86-64 CPU build.

Each draw names the ATen code it follows (paths under ``aten/src/ATen``):

* ``random()`` is one 32-bit word, ``random64()`` is ``(word1 << 32) | word2`` (``CPUGeneratorImpl.cpp``).
* ``uniform_real_distribution<T>`` (``core/DistributionsHelper.h``, ``core/TransformationHelper.h``):
  float ``(random() & (2**24-1)) * 2**-24``, double ``(random64() & (2**53-1)) * 2**-53``; then
  ``x * (to - from) + from``, which the compiler fuses into one FMA. float16 draws in float (its "opmath"
  type), rounds to half, and a value that rounds up to ``to`` becomes ``from`` (``uniform_kernel``).
* ``normal_distribution<double>``: Box-Muller from two uniform doubles, ``r = sqrt(-2 log1p(-u2))``,
  ``theta = 2 pi u1``; returns ``r cos(theta)`` and caches ``r sin(theta)`` on the generator for the next
  scalar normal (``manual_seed`` clears the cache).
* ``normal_kernel`` (``native/cpu/DistributionTemplates.h``): fewer than 16 elements take one
  ``normal_distribution<double>`` draw per element (row-major), cast to the dtype. 16 or more take
  ``normal_fill``: one uniform per element, Box-Muller over blocks of 16 pairing element ``j`` with
  ``j + 8``, and, when ``numel % 16 != 0``, 16 fresh uniforms for the last 16 elements. float32 on x86-64
  runs ``NormalFill16<float>``'s AVX2 code, whose ``log``/``sin``/``cos`` are the float32 Cephes polynomials
  of ``native/cpu/avx_mathfun.h``; the released binary evaluates them with the fused multiply-adds GCC
  contracted them into (read from its disassembly), and so does this module (``simd="avx2"``, default).
  ``simd="scalar"`` follows the portable ``NormalFill16`` instead (builds without AVX2, e.g. ARM). float64
  always takes the portable kernel; float16 draws float uniforms per block of 16 into a buffer, transforms
  them as float32 and rounds to half.
* ``random_from_to_kernel`` (``randint``): ``(random() % range) + low``, or ``random64()`` once
  ``range >= 2**28`` (the public build's threshold), for every dtype.
* ``random_kernel`` (``random_()`` without bounds, e.g. the seed a DataLoader's ``RandomSampler`` draws):
  int64 ``random64() % 2**63``, others per ``transformation::uniform_int``.
* ``randperm_cpu`` (``native/TensorFactories.cpp``): for ``n < 2**32 // 20`` a Fisher-Yates that swaps
  ``i`` with ``i + random() % (n - i)`` for ``i = 0 .. n-2``; larger ``n`` the inside-out variant with
  ``random64() % (i + 1)``.
* ``bernoulli``: a scalar ``p`` (``Tensor.bernoulli_(p)``; ``torch.nn.functional.dropout`` on the CPU is
  ``input * empty_like(input).bernoulli_(1 - p) / (1 - p)``) compares one uniform double per element with
  ``p``; a tensor ``p`` (``torch.bernoulli(p)``) compares a float uniform with float/half ``p`` and a double
  uniform with double ``p``. (MKL's VSL Bernoulli stream is compiled out of the public build.)
* ``multinomial`` (``native/Distributions.cpp``, ``native/cpu/MultinomialKernel.cpp``): without
  replacement, or for one sample, ``q = exponential_(1)`` (``-log1p(-u)`` from a uniform double per
  element, cast to the dtype), then ``argmax``/``topk`` of ``p / q``; with replacement, a cumulative sum in
  the input dtype, normalised, and a binary search per uniform double.

``torch.normal(mean_tensor, std_tensor)`` is ``normal(shape) * std + mean`` and ``torch.randn_like``/
``rand_like`` are the plain draws of the same shape, so they need nothing beyond this module.

Everything above was checked bit for bit against PyTorch 2.13.0's x86-64 CPU wheel (AVX2 dispatch).
Known limits: float64 ``normal_fill`` and the ``simd="scalar"`` kernel use NumPy's ``log``/``sin``/``cos``
for the C library's (they can differ in the last bit), and ``simd="scalar"`` was not checked against an
ARM build; float16 multinomial is computed in float32; bfloat16 has no NumPy dtype. Non-contiguous
outputs (which take the scalar path in ATen) do not arise here.
"""
from __future__ import annotations

import math
import os
import threading
from typing import Any, Optional, Sequence, Tuple, Union

import numpy

from .._core.capture import refuse as _refuse
from ._device import device as _torch_device

__all__ = ["Generator", "default_generator", "manual_seed", "initial_seed", "seed", "get_rng_state",
           "set_rng_state", "DEFAULT_SEED"]

#: ``default_rng_seed_val`` in ``c10/core/GeneratorImpl.h``: the seed of a fresh ``torch.Generator()``.
DEFAULT_SEED = 67280421310721

_U64 = numpy.uint64
_F16 = numpy.dtype(numpy.float16)
_F32 = numpy.dtype(numpy.float32)
_F64 = numpy.dtype(numpy.float64)
_f32 = numpy.float32
_f64 = numpy.float64
_MASK24 = _U64((1 << 24) - 1)
_MASK53 = _U64((1 << 53) - 1)
_TWO_M24 = _f32(2.0 ** -24)
_TWO_M53 = 2.0 ** -53
_TWO_PI = 2.0 * math.pi                       # 2.0f * c10::pi<double>, a double
_RANDPERM_SMALL = 0xFFFFFFFF // 20            # randperm_cpu keeps the 32-bit Fisher-Yates below this n
_RANDINT_WIDE = 1 << 28                       # uniform_int_from_to_distribution switches to random64()
_DIGITS = {_F16: 11, _F32: 24, _F64: 53}

ShapeLike = Union[int, Sequence[int], Tuple[int, ...]]


def _shape(shape: Optional[ShapeLike]) -> Tuple[int, ...]:
    if shape is None:
        return ()
    if isinstance(shape, (int, numpy.integer)):
        out: Tuple[int, ...] = (int(shape),)
    else:
        out = tuple(int(s) for s in shape)
    if any(s < 0 for s in out):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(out)}")
    return out


def _numel(shape: Tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _float_dtype(dtype: Any) -> numpy.dtype:
    dt = numpy.dtype(dtype)
    if dt not in (_F16, _F32, _F64):
        raise TypeError(f"expected a floating point dtype (float16, float32 or float64), got {dt}")
    return dt


def _seed_to_u64(seed: Any) -> int:
    """``torch.Generator.manual_seed``: an unsigned 64-bit value; negative seeds wrap (two's complement)."""
    s = int(seed)
    if s < -(1 << 63) or s >= (1 << 64):
        raise RuntimeError("Overflow when unpacking long")
    return s & 0xFFFFFFFFFFFFFFFF


def _to_half(x: Any) -> numpy.ndarray:
    """``static_cast<c10::Half>`` of a double or int64: through float, as c10::Half's constructor takes one."""
    return numpy.asarray(x).astype(_F32).astype(_F16)


# ---------------------------------------------------------------------------------------------------
# fused multiply-add
# ---------------------------------------------------------------------------------------------------

def _fma32(a: Any, b: Any, c: Any) -> numpy.ndarray:
    """Correctly rounded float32 ``a * b + c`` (``vfmadd``), via float64 plus a tie fix-up."""
    p = numpy.asarray(a, dtype=_F64) * numpy.asarray(b, dtype=_F64)   # exact: 24 + 24 bits fit in 53
    c64 = numpy.asarray(c, dtype=_F64)
    p, c64 = numpy.broadcast_arrays(p, c64)
    s = p + c64
    bb = s - p                                   # two-sum: err is the exact rounding error of s
    err = (p - (s - bb)) + (c64 - bb)
    r = numpy.array(s, dtype=_F32)
    # Rounding s (rather than p + c) to float32 only goes wrong when s lies exactly halfway between two
    # float32 values and the discarded err decides the direction.
    cand = (err != 0) & (r.astype(_F64) != s)
    if cand.any():
        rc, sc, ec = r[cand], s[cand], err[cand]
        nb = numpy.nextafter(rc, numpy.where(sc > rc.astype(_F64), _f32(numpy.inf), _f32(-numpy.inf)))
        tie = sc == (rc.astype(_F64) + nb.astype(_F64)) * 0.5
        if tie.any():
            r[cand] = numpy.where(tie, numpy.where(ec > 0, numpy.maximum(rc, nb), numpy.minimum(rc, nb)), rc)
    return r


def _two_prod(a: numpy.ndarray, b: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """``a * b = p + e`` exactly (Dekker's product with Veltkamp splitting)."""
    p = a * b
    split = 134217729.0  # 2**27 + 1

    def halves(x: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
        t = split * x
        hi = t - (t - x)
        return hi, x - hi

    ah, al = halves(a)
    bh, bl = halves(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def _fma64(a: Any, b: Any, c: Any) -> numpy.ndarray:
    """float64 ``a * b + c`` with one rounding (error-free transforms; exact but for double-rounding ties)."""
    a64 = numpy.asarray(a, dtype=_F64)
    b64 = numpy.asarray(b, dtype=_F64)
    c64 = numpy.asarray(c, dtype=_F64)
    a64, b64, c64 = numpy.broadcast_arrays(a64, b64, c64)
    with numpy.errstate(over="ignore", invalid="ignore"):
        p, pe = _two_prod(a64, b64)
        s = p + c64
        bb = s - p
        se = (p - (s - bb)) + (c64 - bb)
        r = s + (pe + se)
    # non-finite intermediates (inf/nan inputs, overflow): the plain expression is what the FMA gives
    bad = ~numpy.isfinite(r) | ~numpy.isfinite(p)
    if bad.any():
        r = numpy.where(bad, a64 * b64 + c64, r)
    return r


# ---------------------------------------------------------------------------------------------------
# float32 emulation of ATen's AVX2 Box-Muller (native/cpu/avx_mathfun.h), one instruction at a time
# ---------------------------------------------------------------------------------------------------

_ONE = _f32(1.0)
_HALF = _f32(0.5)
_MIN_NORM_POS = numpy.array([0x00800000], dtype=numpy.uint32).view(_F32)[0]
_SQRTHF = _f32(0.707106781186547524)
_LOG_P = [_f32(v) for v in (7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
                            1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
                            3.3333331174E-1)]
_LOG_Q1 = _f32(-2.12194440e-4)
_LOG_Q2 = _f32(0.693359375)
_MINUS_DP = [_f32(-0.78515625), _f32(-2.4187564849853515625e-4), _f32(-3.77489497744594108e-8)]
_SINCOF = [_f32(-1.9515295891E-4), _f32(8.3321608736E-3), _f32(-1.6666654611E-1)]
_COSCOF = [_f32(2.443315711809948E-005), _f32(-1.388731625493765E-003), _f32(4.166664568298827E-002)]
_FOPI = _f32(1.27323954473516)


def _madd(a: numpy.ndarray, b: Any, c: Any, fused: bool) -> numpy.ndarray:
    """``a * b + c`` in float32: one rounding where the compiler emitted an FMA, two where it did not."""
    return _fma32(a, b, c) if fused else (a * b) + c


def _log256_ps(x: numpy.ndarray, fused: bool = True) -> numpy.ndarray:
    """``log256_ps`` (Cephes ``logf``) for float32 ``x``."""
    invalid = x <= 0
    x = numpy.maximum(x, _MIN_NORM_POS)
    xi = x.view(numpy.uint32)
    imm0 = (xi >> numpy.uint32(23)).astype(numpy.int32) - numpy.int32(0x7F)
    x = ((xi & numpy.uint32(0x807FFFFF)) | _HALF.view(numpy.uint32)).view(_F32)
    e = imm0.astype(_F32) + _ONE
    mask = x < _SQRTHF
    tmp = numpy.where(mask, x, _f32(0.0))
    x = x - _ONE
    e = e - numpy.where(mask, _ONE, _f32(0.0))
    x = x + tmp
    z = x * x
    y = numpy.full_like(x, _LOG_P[0])
    for p in _LOG_P[1:]:
        y = _madd(y, x, p, fused)
    y = y * x
    if fused:  # the released binary: fma(y, z, e*q1); fnmadd(z, 0.5, y); fma(e, q2, x + y)
        y = _fma32(y, z, e * _LOG_Q1)
        y = _fma32(-z, _HALF, y)
        x = _fma32(e, _LOG_Q2, x + y)
    else:
        y = y * z
        y = y + e * _LOG_Q1
        y = y - z * _HALF
        x = x + y
        x = x + e * _LOG_Q2
    return numpy.where(invalid, _f32(numpy.nan), x)


def _sincos256_ps(x: numpy.ndarray, fused: bool = True) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """``sincos256_ps`` (Cephes ``sinf``/``cosf``) for float32 ``x``; returns ``(sin, cos)``."""
    xb = x.view(numpy.uint32)
    sign_bit_sin = xb & numpy.uint32(0x80000000)
    x = (xb & numpy.uint32(0x7FFFFFFF)).view(_F32)
    y = x * _FOPI
    imm2 = y.astype(numpy.int32)                      # cvttps2dq truncates
    imm2 = (imm2 + numpy.int32(1)) & numpy.int32(~1)
    y = imm2.astype(_F32)
    swap_sign_bit_sin = (imm2 & numpy.int32(4)).astype(numpy.uint32) << numpy.uint32(29)
    poly_mask = (imm2 & numpy.int32(2)) == 0
    for dp in _MINUS_DP:                              # x = ((x - y*DP1) - y*DP2) - y*DP3
        x = _madd(y, dp, x, fused)
    sign_bit_cos = ((~(imm2 - numpy.int32(2))) & numpy.int32(4)).astype(numpy.uint32) << numpy.uint32(29)
    sign_bit_sin = sign_bit_sin ^ swap_sign_bit_sin
    z = x * x
    y = numpy.full_like(x, _COSCOF[0])
    y = _madd(y, z, _COSCOF[1], fused)
    y = _madd(y, z, _COSCOF[2], fused)
    y = y * z
    if fused:  # the released binary: vfmsub(y, z, z * 0.5)
        y = _fma32(y, z, -(z * _HALF))
    else:
        y = y * z
        y = y - z * _HALF
    y = y + _ONE
    y2 = numpy.full_like(x, _SINCOF[0])
    y2 = _madd(y2, z, _SINCOF[1], fused)
    y2 = _madd(y2, z, _SINCOF[2], fused)
    y2 = y2 * z
    y2 = _madd(y2, x, x, fused)
    zero = _f32(0.0)
    ysin2 = numpy.where(poly_mask, y2, zero)
    ysin1 = numpy.where(poly_mask, zero, y)
    y2 = y2 - ysin2
    y = y - ysin1
    s = (ysin1 + ysin2).view(numpy.uint32) ^ sign_bit_sin
    c = (y + y2).view(numpy.uint32) ^ sign_bit_cos
    return s.view(_F32), c.view(_F32)


def _normal_fill_16_avx2(u: numpy.ndarray, mean: Any, std: Any, fused: bool = True) -> numpy.ndarray:
    """``NormalFill16<float>`` (AVX2) over ``u`` of shape ``(blocks, 16)`` (float32 uniforms in [0, 1))."""
    u1 = numpy.ascontiguousarray(_ONE - u[:, :8])
    theta = numpy.ascontiguousarray(_f32(_TWO_PI) * u[:, 8:])
    radius = numpy.sqrt(_log256_ps(u1, fused) * _f32(-2.0))
    sin_t, cos_t = _sincos256_ps(theta, fused)
    out = numpy.empty_like(u)
    out[:, :8] = _fma32(radius * cos_t, _f32(std), _f32(mean))
    out[:, 8:] = _fma32(radius * sin_t, _f32(std), _f32(mean))
    return out


def _normal_fill_16_scalar(u: numpy.ndarray, mean: Any, std: Any) -> numpy.ndarray:
    """Portable ``NormalFill16<opmath_t>`` over ``u`` of shape ``(blocks, 16)`` (float32 or float64)."""
    out = numpy.empty_like(u)
    if u.dtype == _F64:
        radius = numpy.sqrt(-2.0 * numpy.log(1.0 - u[:, :8]))
        theta = _TWO_PI * u[:, 8:]
        out[:, :8] = _fma64(radius * numpy.cos(theta), std, mean)
        out[:, 8:] = _fma64(radius * numpy.sin(theta), std, mean)
        return out
    # float: logf/cosf/sinf taken as correctly rounded (computed in double, rounded once)
    u1 = _ONE - u[:, :8]
    lg = numpy.log(u1.astype(_F64)).astype(_F32)
    radius = numpy.sqrt(_f32(-2.0) * lg)
    theta = (_TWO_PI * u[:, 8:].astype(_F64)).astype(_F32)
    cos_t = numpy.cos(theta.astype(_F64)).astype(_F32)
    sin_t = numpy.sin(theta.astype(_F64)).astype(_F32)
    out[:, :8] = _fma32(radius * cos_t, _f32(std), _f32(mean))
    out[:, 8:] = _fma32(radius * sin_t, _f32(std), _f32(mean))
    return out


def _update_from(frm: int, dt: numpy.dtype) -> int:
    """``update_from<scalar_t>`` (native/DistributionTemplates.h) for a floating dtype."""
    cast = _to_half if dt == _F16 else (lambda v: numpy.asarray(v).astype(dt))
    from_plus_1 = int(numpy.trunc(cast(frm + 1).astype(_F64)))
    if from_plus_1 < frm:
        n = abs(frm + 1).bit_length() - 1
        frm = from_plus_1 + (1 << (n - _DIGITS[dt] + 1))
    return frm


def _update_to(to: int, dt: numpy.dtype) -> int:
    """``update_to<scalar_t>`` for a floating dtype."""
    cast = _to_half if dt == _F16 else (lambda v: numpy.asarray(v).astype(dt))
    to_minus_1 = int(numpy.trunc(cast(to - 1).astype(_F64)))
    if to_minus_1 >= to:
        n = abs(to - 1).bit_length() - 1
        to = to_minus_1 - (1 << (n - _DIGITS[dt] + 1))
    return to


class Generator:
    """``torch.Generator`` for the CPU: an mt19937 engine plus the cached second Box-Muller normal.

    Sampling methods take a shape and return fresh NumPy arrays; every method consumes the stream exactly
    as the matching ATen CPU kernel does, so calls interleave with the same results as in PyTorch.
    """

    def __init__(self, seed: Any = DEFAULT_SEED, *, device: Any = None) -> None:
        # torch.Generator(device='cpu') (or torch.Generator('cpu')) is PyTorch's form; an int is a seed
        if isinstance(seed, str) or hasattr(seed, "type"):
            seed, device = DEFAULT_SEED, seed
        if device is not None and str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"torch.Generator(device={str(device)!r}): tapegrad reproduces PyTorch's CPU "
                               "generator only; use a CPU generator (random numbers for GPU tensors are drawn "
                               "on the CPU stream and moved)")
        self._lock = threading.RLock()
        self.manual_seed(seed)

    @property
    def device(self) -> Any:
        """``torch.device('cpu')``: the generator's device."""
        return _torch_device("cpu")

    # -- seeding and state ------------------------------------------------------------------------
    def manual_seed(self, seed: int) -> "Generator":
        """Reseed (``std::mt19937(seed & 0xffffffff)``), clear the cached normal, return ``self``."""
        _refuse("seeding a random generator inside a compiled function (seed before calling it)")
        s = _seed_to_u64(seed)
        bits = numpy.random.MT19937()
        bits._legacy_seeding(s & 0xFFFFFFFF)
        with self._lock:
            self._seed = s
            self._bits = bits
            self._next_double_normal: Optional[float] = None
        return self

    def initial_seed(self) -> int:
        """The seed last given to :meth:`manual_seed` (as an unsigned 64-bit value)."""
        return self._seed

    def seed(self) -> int:
        """Reseed from ``/dev/urandom`` (64 bits, as ``c10::detail::getNonDeterministicRandom`` on the CPU)."""
        _refuse("seeding a random generator inside a compiled function (seed before calling it)")
        s = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(s)
        return s

    def get_state(self) -> Tuple[int, Any, Optional[float]]:
        """A snapshot for :meth:`set_state` (not torch's byte-tensor layout)."""
        with self._lock:
            return (self._seed, self._bits.state, self._next_double_normal)

    def set_state(self, state: Tuple[int, Any, Optional[float]]) -> "Generator":
        """Restore a snapshot taken by :meth:`get_state`."""
        _refuse("seeding a random generator inside a compiled function (seed before calling it)")
        seed, bits_state, cached = state
        bits = numpy.random.MT19937()
        bits.state = bits_state
        with self._lock:
            self._seed = int(seed)
            self._bits = bits
            self._next_double_normal = cached
        return self

    # -- raw words --------------------------------------------------------------------------------
    def _words(self, n: int) -> numpy.ndarray:
        """``n`` successive ``random()`` values (a uint64 array holding 32-bit words)."""
        if n <= 0:
            return numpy.empty(0, dtype=_U64)
        return self._bits.random_raw(int(n))

    def _words64(self, n: int) -> numpy.ndarray:
        """``n`` successive ``random64()`` values: first word high, second word low."""
        w = self._words(2 * n)
        return (w[0::2] << _U64(32)) | w[1::2]

    def random(self) -> int:
        """``CPUGeneratorImpl::random()``: one 32-bit word."""
        with self._lock:
            return int(self._words(1)[0])

    def random64(self) -> int:
        """``CPUGeneratorImpl::random64()``."""
        with self._lock:
            return int(self._words64(1)[0])

    def _uniform01(self, n: int, dt: numpy.dtype) -> numpy.ndarray:
        """``n`` draws of ``uniform_real_distribution<float or double>(0, 1)``."""
        if dt == _F64:
            return (self._words64(n) & _MASK53).astype(_F64) * _TWO_M53
        return (self._words(n) & _MASK24).astype(_F32) * _TWO_M24

    # -- normal -----------------------------------------------------------------------------------
    def _normal_double(self) -> float:
        """One standard ``at::normal_distribution<double>`` draw, using and refilling the cache."""
        if self._next_double_normal is not None:
            ret = self._next_double_normal
            self._next_double_normal = None
            return ret
        w = self._words64(2)
        u1 = float(int(w[0]) & ((1 << 53) - 1)) * _TWO_M53
        u2 = float(int(w[1]) & ((1 << 53) - 1)) * _TWO_M53
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self._next_double_normal = r * math.sin(theta)
        return r * math.cos(theta)

    def normal(self, shape: ShapeLike = (), mean: float = 0.0, std: float = 1.0, dtype: Any = _F32, *,
               simd: str = "avx2", fma_contract: bool = True) -> numpy.ndarray:
        """``torch.empty(shape, dtype=dtype).normal_(mean, std)``; ``torch.randn`` is ``mean=0, std=1``.

        ``simd`` picks the float32/float16 kernel for 16 or more elements: ``"avx2"`` (x86-64 builds) or
        ``"scalar"`` (portable code, e.g. ARM builds). ``fma_contract=False`` evaluates the AVX2 polynomials
        with the separate multiplies and adds written in ``avx_mathfun.h`` (a build without contraction).
        """
        mean, std = float(mean), float(std)
        if not std >= 0.0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        if simd not in ("avx2", "scalar"):
            raise ValueError("simd must be 'avx2' or 'scalar'")
        shp = _shape(shape)
        dt = _float_dtype(dtype)
        n = _numel(shp)
        with self._lock:
            if n < 16:
                vals = numpy.array([self._normal_double() for _ in range(n)], dtype=_F64)
                vals = _fma64(vals, std, mean) if n else vals
                out = _to_half(vals) if dt == _F16 else vals.astype(dt)
                return out.reshape(shp)
            return self._normal_fill(n, mean, std, dt, simd, fma_contract).reshape(shp)

    def _normal_fill(self, n: int, mean: float, std: float, dt: numpy.dtype, simd: str,
                     fused: bool) -> numpy.ndarray:
        full = (n // 16) * 16
        rem = n - full
        opmath = _F64 if dt == _F64 else _F32

        def transform(block: numpy.ndarray) -> numpy.ndarray:
            if opmath == _F32 and simd == "avx2":
                return _normal_fill_16_avx2(block, mean, std, fused)
            return _normal_fill_16_scalar(block, mean, std)

        if dt == _F16:
            # bf16/fp16: 16 float uniforms per block into a buffer, tail from 16 fresh ones
            u = self._uniform01(full, _F32)
            tail = self._uniform01(16, _F32) if rem else None
        else:
            u = self._uniform01(n, opmath)
            tail = self._uniform01(16, opmath) if rem else None
        out = numpy.empty(n, dtype=opmath)
        if full:
            out[:full] = transform(u[:full].reshape(-1, 16)).reshape(-1)
        if tail is not None:
            out[n - 16:] = transform(tail.reshape(1, 16)).reshape(-1)
        return out.astype(_F16) if dt == _F16 else out

    # -- uniform ----------------------------------------------------------------------------------
    def uniform(self, shape: ShapeLike = (), low: float = 0.0, high: float = 1.0,
                dtype: Any = _F32) -> numpy.ndarray:
        """``torch.empty(shape, dtype=dtype).uniform_(low, high)``; ``torch.rand`` is ``low=0, high=1``."""
        shp = _shape(shape)
        dt = _float_dtype(dtype)
        low, high = float(low), float(high)
        finfo = numpy.finfo(dt)
        lo_lim, hi_lim = float(finfo.min), float(finfo.max)
        if not lo_lim <= low <= hi_lim:
            raise RuntimeError(f"from is out of bounds for {dt}")
        if not lo_lim <= high <= hi_lim:
            raise RuntimeError(f"to is out of bounds for {dt}")
        if not low <= high:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={low} > to={high}")
        if high - low > hi_lim:
            raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<{dt}>::max(), but found "
                               f"to={high} and from={low} which result in to-from to exceed the limit")
        n = _numel(shp)
        with self._lock:
            x = self._uniform01(n, _F64 if dt == _F64 else _F32)
        if dt == _F64:
            val = _fma64(x, high - low, low)
            return numpy.where(val == high, low, val).reshape(shp)
        frm, to = _f32(low), _f32(high)
        val = _fma32(x, to - frm, frm)
        if dt == _F32:
            return numpy.where(val == to, frm, val).reshape(shp)
        val16 = val.astype(_F16)
        to16, frm16 = _to_half(high)[()], _to_half(low)[()]
        return numpy.where(val16 == to16, frm16, val16).reshape(shp)

    # -- integers ---------------------------------------------------------------------------------
    def randint(self, low: int, high: Optional[int] = None, shape: ShapeLike = (),
                dtype: Any = numpy.int64) -> numpy.ndarray:
        """``torch.randint(low, high, shape)`` (``random_(low, high)``); ``randint(high, shape=...)`` too."""
        if high is None:
            low, high = 0, low
        frm, to = int(low), int(high)
        if not frm < to:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={frm} >= to={to}")
        shp = _shape(shape)
        dt = numpy.dtype(dtype)
        if dt.kind == "f":
            dt = _float_dtype(dt)
            frm, to = _update_from(frm, dt), _update_to(to, dt)
            if not frm < to:
                raise RuntimeError("random_ expects 'from' casted to dtype to be less than 'to' casted to "
                                   f"dtype, but got from={frm} >= to={to}")
            top = float(numpy.finfo(dt).max)
            lims = (-top, top)
        elif dt == numpy.dtype(bool):
            lims = (0, 1)
        elif dt.kind in "iu":
            lims = (int(numpy.iinfo(dt).min), int(numpy.iinfo(dt).max))
        else:
            raise TypeError(f"randint does not support dtype {dt}")
        if not lims[0] <= frm <= lims[1]:
            raise RuntimeError(f"from is out of bounds for {dt}")
        if not lims[0] <= to - 1 <= lims[1]:
            raise RuntimeError(f"to - 1 is out of bounds for {dt}")
        rng = (to - frm) & 0xFFFFFFFFFFFFFFFF
        n = _numel(shp)
        with self._lock:
            val = self._words64(n) if rng >= _RANDINT_WIDE else self._words(n)
        # static_cast<int64_t>((val % range) + base), computed in uint64 arithmetic
        res = ((val % _U64(rng)) + _U64(frm & 0xFFFFFFFFFFFFFFFF)).view(numpy.int64)
        if dt == numpy.dtype(bool):
            return (res != 0).reshape(shp)
        if dt == _F16:
            return _to_half(res).reshape(shp)
        return res.astype(dt).reshape(shp)

    def random_(self, shape: ShapeLike = (), dtype: Any = numpy.int64) -> numpy.ndarray:
        """``torch.empty(shape, dtype=dtype).random_()``: ``[0, 2**63)`` for int64, ``[0, max]`` for others."""
        shp = _shape(shape)
        dt = numpy.dtype(dtype)
        n = _numel(shp)
        wide = dt in (numpy.dtype(numpy.int64), _F64)
        with self._lock:
            w = self._words64(n) if wide else self._words(n)
        if dt == numpy.dtype(numpy.int64):
            out = (w % _U64(1 << 63)).astype(numpy.int64)
        elif dt == _F64:
            out = (w % _U64((1 << 53) + 1)).astype(_F64)
        elif dt == _F32:
            out = (w % _U64((1 << 24) + 1)).astype(_F32)
        elif dt == _F16:
            out = (w % _U64((1 << 11) + 1)).astype(_F16)
        elif dt == numpy.dtype(bool):
            out = (w & _U64(1)).astype(bool)
        elif dt.kind in "iu":
            out = (w % _U64(int(numpy.iinfo(dt).max) + 1)).astype(dt)
        else:
            raise TypeError(f"random_ does not support dtype {dt}")
        return out.reshape(shp)

    def randperm(self, n: int, dtype: Any = numpy.int64) -> numpy.ndarray:
        """``torch.randperm(n)`` (``randperm_cpu``)."""
        n = int(n)
        if n < 0:
            raise RuntimeError(f"n must be non-negative, got{n}")
        if n < _RANDPERM_SMALL:
            with self._lock:
                w = self._words(n - 1)
            z = (w % numpy.arange(n, 1, -1, dtype=_U64)).tolist() if n > 1 else []
            perm = list(range(n))
            for i, zi in enumerate(z):
                j = i + zi
                perm[i], perm[j] = perm[j], perm[i]
            return numpy.array(perm, dtype=numpy.int64).astype(dtype)
        # inside-out Fisher-Yates with random64() % (i + 1)
        with self._lock:
            w = self._words64(n)
        z = (w % numpy.arange(1, n + 1, dtype=_U64)).tolist()
        r = [0] * n
        for i, zi in enumerate(z):
            r[i] = r[zi]
            r[zi] = i
        return numpy.array(r, dtype=numpy.int64).astype(dtype)

    # -- bernoulli --------------------------------------------------------------------------------
    def bernoulli(self, p: Any, shape: Optional[ShapeLike] = None, dtype: Any = None) -> numpy.ndarray:
        """Bernoulli draws: 1 where a uniform is ``< p``.

        A scalar ``p`` is ``torch.empty(shape, dtype).bernoulli_(p)`` (dropout's mask is
        ``bernoulli(1 - p_drop, shape)``); an array ``p`` is ``torch.bernoulli(p)`` (or, with ``shape``,
        ``torch.empty(shape).bernoulli_(p)`` with ``p`` broadcast). ``dtype`` defaults to float32 for a
        scalar ``p`` and to ``p``'s dtype for an array.
        """
        if isinstance(p, (list, tuple)) or (isinstance(p, numpy.ndarray) and p.ndim > 0):
            parr = numpy.asarray(p)
            if parr.dtype.kind != "f":
                raise RuntimeError(f"bernoulli expects a floating point probability tensor, got {parr.dtype}")
            shp = parr.shape if shape is None else _shape(shape)
            pb = numpy.broadcast_to(parr, shp).reshape(-1)
            if not ((pb >= 0) & (pb <= 1)).all():
                raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true")
            n = _numel(shp)
            with self._lock:
                if parr.dtype == _F64:
                    hit = self._uniform01(n, _F64) < pb
                else:  # bernoulli_distribution<float>: a float uniform against float(p)
                    hit = self._uniform01(n, _F32) < pb.astype(_F32)
            out_dt = numpy.dtype(dtype) if dtype is not None else parr.dtype
            return hit.reshape(shp).astype(out_dt)
        pf = float(p)
        if not 0.0 <= pf <= 1.0:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={pf}")
        shp = _shape(shape)
        with self._lock:
            u = self._uniform01(_numel(shp), _F64)
        out_dt = numpy.dtype(dtype) if dtype is not None else _F32
        return (u < pf).reshape(shp).astype(out_dt)

    # -- exponential / multinomial ----------------------------------------------------------------
    def exponential(self, shape: ShapeLike = (), lambd: float = 1.0, dtype: Any = _F32) -> numpy.ndarray:
        """``torch.empty(shape, dtype).exponential_(lambd)``: ``-1/lambd * log1p(-u)`` from a uniform double."""
        shp = _shape(shape)
        dt = _float_dtype(dtype)
        lambd = float(lambd)
        if not lambd > 0.0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
        with self._lock:
            u = self._uniform01(_numel(shp), _F64)
        with numpy.errstate(divide="ignore"):
            q = (-1.0 / lambd) * numpy.log1p(-u)
        return (_to_half(q) if dt == _F16 else q.astype(dt)).reshape(shp)

    def multinomial(self, probs: Any, num_samples: int, replacement: bool = False) -> numpy.ndarray:
        """``torch.multinomial(probs, num_samples, replacement)`` for a 1-D or 2-D float array (int64 out)."""
        p = numpy.asarray(probs)
        if p.ndim not in (1, 2):
            raise RuntimeError("prob_dist must be 1 or 2 dim")
        if p.dtype.kind != "f":
            raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {p.dtype}")
        num_samples = int(num_samples)
        if num_samples <= 0:
            raise RuntimeError("cannot sample n_sample <= 0 samples")
        n_cat = p.shape[-1]
        if not replacement and num_samples > n_cat:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        if n_cat > (1 << 24):
            raise RuntimeError("number of categories cannot exceed 2^24")
        dt = _F64 if p.dtype == _F64 else _F32
        p2 = p.reshape(-1, n_cat).astype(dt)
        out_shape = (num_samples,) if p.ndim == 1 else (p2.shape[0], num_samples)
        if p2.size == 0:
            return numpy.empty(out_shape, dtype=numpy.int64)
        if not numpy.isfinite(p2).all() or (numpy.asarray(p2) < 0).any():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if (p2.sum(axis=1) == 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement or num_samples == 1:
            # the Gumbel trick: argmax / topk of p / q with q ~ Exp(1), drawn row-major
            q = self.exponential(p2.shape, 1.0, dt)
            with numpy.errstate(divide="ignore", invalid="ignore"):
                s = p2 / q
            if num_samples == 1:
                idx = numpy.argmax(s, axis=-1)[:, None]
            else:
                idx = numpy.argsort(-s, axis=-1, kind="stable")[:, :num_samples]
            return idx.astype(numpy.int64).reshape(out_shape)
        out = numpy.empty((p2.shape[0], num_samples), dtype=numpy.int64)
        with self._lock:
            for i in range(p2.shape[0]):
                cum = numpy.cumsum(p2[i], dtype=dt)          # sequential running sum in the input dtype
                cum = cum / cum[-1]
                cum[-1] = 1
                u = self._uniform01(num_samples, _F64)
                out[i] = numpy.searchsorted(cum.astype(_F64), u, side="left")
        return out.reshape(out_shape)


#: The generator behind ``manual_seed``. Seeded with :data:`DEFAULT_SEED` so that an unseeded program is
#: reproducible; PyTorch itself seeds its default CPU generator from ``/dev/urandom`` at start-up (only a
#: fresh ``torch.Generator()`` starts from ``DEFAULT_SEED``), so unseeded draws cannot match PyTorch anyway.
default_generator = Generator(DEFAULT_SEED)


def manual_seed(seed: int) -> Generator:
    """``torch.manual_seed``: reseed :data:`default_generator` and return it."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    """``torch.initial_seed``."""
    return default_generator.initial_seed()


def seed() -> int:
    """``torch.seed``: reseed :data:`default_generator` non-deterministically and return the seed."""
    return default_generator.seed()


def get_rng_state() -> Tuple[int, dict, Optional[float]]:
    """A snapshot of :data:`default_generator` (see :meth:`Generator.get_state`)."""
    return default_generator.get_state()


def set_rng_state(state: Tuple[int, dict, Optional[float]]) -> None:
    """Restore a snapshot taken by :func:`get_rng_state`."""
    default_generator.set_state(state)
