"""PyTorch-exact tensor reprs (tapegrad.torch._format).

The first group of strings was measured on PyTorch 2.13.0; the others follow
PyTorch's torch/_tensor_str.py algorithm (and match its well-known outputs).
"""

import numpy as np
import pytest

from tapegrad.torch._format import (
    format_tensor,
    get_printoptions,
    printoptions,
    set_printoptions,
    torch_dtype_name,
)

f32 = np.float32


@pytest.fixture(autouse=True)
def _default_printoptions():
    set_printoptions(profile="default")
    yield
    set_printoptions(profile="default")


def a(values, dtype=f32):
    return np.array(values, dtype=dtype)


MEASURED = [
    (np.arange(4.0, dtype=f32), ["requires_grad=True"], "tensor([0., 1., 2., 3.], requires_grad=True)"),
    (a(28.0), ["grad_fn=<MulBackward0>"], "tensor(28., grad_fn=<MulBackward0>)"),
    (a([0, 4, 8, 12]), [], "tensor([ 0.,  4.,  8., 12.])"),
    (a([True] * 4, bool), [], "tensor([True, True, True, True])"),
    (a([False, False, True, True], bool), [], "tensor([False, False,  True,  True])"),
    (np.ones((2, 2), bool), [], "tensor([[True, True],\n        [True, True]])"),
    (a([True], bool), [], "tensor([True])"),
    (a([0, 1, 2, 3], np.int64), [], "tensor([0, 1, 2, 3])"),
    (a([1.5, 2]), [], "tensor([1.5000, 2.0000])"),
    (a(True, bool), [], "tensor(True)"),
    (a(3.0), [], "tensor(3.)"),
    (a([1.5410]), [], "tensor([1.5410])"),
    (np.arange(4, dtype=np.float64), [], "tensor([0., 1., 2., 3.], dtype=torch.float64)"),
    (np.arange(6, dtype=f32).reshape(2, 3), [], "tensor([[0., 1., 2.],\n        [3., 4., 5.]])"),
    (
        np.arange(2000.0, dtype=f32),
        [],
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
        "        1.9990e+03])",
    ),
    (a([0.1, 1e-8]), [], "tensor([1.0000e-01, 1.0000e-08])"),
    (a([-0.3, 0.1, 0.05]), [], "tensor([-0.3000,  0.1000,  0.0500])"),
    (
        a([-0.3, 0.1, 0.05]),
        ["requires_grad=True"],
        "tensor([-0.3000,  0.1000,  0.0500], requires_grad=True)",
    ),
    (
        a([[-1.5, 0.25], [0.5, -0.125]]),
        ["requires_grad=True"],
        "tensor([[-1.5000,  0.2500],\n        [ 0.5000, -0.1250]], requires_grad=True)",
    ),
    (
        a([51200, 51200, 51200]),
        ["grad_fn=<DivBackward0>"],
        "tensor([51200., 51200., 51200.], grad_fn=<DivBackward0>)",
    ),
    (np.full((2, 2), 102400.0, f32), [], "tensor([[102400., 102400.],\n        [102400., 102400.]])"),
    (a([0.0, 2.0, 4.0, 6.0]), [], "tensor([0., 2., 4., 6.])"),
    (
        a([100.0, 1.0, 4.0, 9.0]),
        ["grad_fn=<MulBackward0>"],
        "tensor([100.,   1.,   4.,   9.], grad_fn=<MulBackward0>)",
    ),
    (
        a([-0.1, 0.9, 1.9, 2.9]),
        ["requires_grad=True"],
        "tensor([-0.1000,  0.9000,  1.9000,  2.9000], requires_grad=True)",
    ),
    (a(6.0), ["grad_fn=<LinalgVectorNormBackward0>"], "tensor(6., grad_fn=<LinalgVectorNormBackward0>)"),
    (np.sqrt(a(14.0)), [], "tensor(3.7417)"),
    (a([7], np.int64), [], "tensor([7])"),
]


@pytest.mark.parametrize("data, suffixes, expected", MEASURED)
def test_measured_on_pytorch(data, suffixes, expected):
    assert format_tensor(data, suffixes) == expected


# --- non-finite values and signed zeros -------------------------------------


def test_nan_inf_fixed_mode():
    data = a([np.nan, np.inf, -np.inf, 1.5])
    assert format_tensor(data, []) == "tensor([   nan,    inf,   -inf, 1.5000])"


def test_nan_inf_int_mode_have_no_dot():
    assert format_tensor(a([np.nan, 1.0, np.inf]), []) == "tensor([nan, 1., inf])"


def test_nan_inf_sci_mode_are_padded_to_width():
    data = a([np.nan, 1e-5, 1.0])
    assert format_tensor(data, []) == "tensor([       nan, 1.0000e-05, 1.0000e+00])"


def test_only_nonfinite_and_zero():
    assert format_tensor(a(np.nan), []) == "tensor(nan)"
    assert format_tensor(a([np.inf, -np.inf]), []) == "tensor([inf, -inf])"
    assert format_tensor(a([0.0, 0.0]), []) == "tensor([0., 0.])"


def test_negative_zero():
    assert format_tensor(a(-0.0), []) == "tensor(-0.)"
    assert format_tensor(a([-0.0, 1.0]), []) == "tensor([-0., 1.])"
    # zeros do not take part in the width, so "-0.0000" overflows it
    assert format_tensor(a([-0.0, 1.5]), []) == "tensor([-0.0000, 1.5000])"


# --- mode switches -------------------------------------------------------------


def test_large_integer_valued_floats_switch_to_sci():
    assert format_tensor(a([1e9]), []) == "tensor([1.0000e+09])"
    assert format_tensor(a(1e9), []) == "tensor(1.0000e+09)"
    assert format_tensor(a([1e8]), []) == "tensor([100000000.])"
    assert format_tensor(a([1.0, 1000.0]), []) == "tensor([   1., 1000.])"
    assert format_tensor(a([1.0, 1001.0]), []) == "tensor([1.0000e+00, 1.0010e+03])"


def test_negative_sci_values_share_width():
    assert format_tensor(a([-1e-5, 1.0]), []) == "tensor([-1.0000e-05,  1.0000e+00])"


# --- dtypes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.float16, "tensor([1.5000, 2.0000], dtype=torch.float16)"),
        (np.float64, "tensor([1.5000, 2.0000], dtype=torch.float64)"),
    ],
)
def test_float_dtype_suffixes(dtype, expected):
    assert format_tensor(a([1.5, 2.0], dtype), []) == expected


@pytest.mark.parametrize(
    "dtype, name",
    [
        (np.int32, "int32"),
        (np.int16, "int16"),
        (np.int8, "int8"),
        (np.uint8, "uint8"),
    ],
)
def test_int_dtype_suffixes(dtype, name):
    assert format_tensor(a([1, 2], dtype), []) == f"tensor([1, 2], dtype=torch.{name})"


def test_dtype_suffix_precedes_caller_suffixes():
    got = format_tensor(a([1.0, 2.0], np.float64), ["requires_grad=True"])
    assert got == "tensor([1., 2.], dtype=torch.float64, requires_grad=True)"


def test_negative_integers_are_right_aligned():
    assert format_tensor(a([-10, 5, 100], np.int64), []) == "tensor([-10,   5, 100])"


def test_torch_dtype_name_rejects_unknown():
    assert torch_dtype_name(np.float32) == "torch.float32"
    with pytest.raises(TypeError):
        format_tensor(np.array(["x"]), [])


def test_default_dtype_float64():
    assert format_tensor(a([1.0], np.float64), [], default_dtype="float64") == "tensor([1.])"
    got = format_tensor(a([1.0]), [], default_dtype="float64")
    assert got == "tensor([1.], dtype=torch.float32)"


# --- complex -------------------------------------------------------------------


def test_complex64_int_mode():
    assert format_tensor(a([1 + 2j, 3 - 4j], np.complex64), []) == "tensor([1.+2.j, 3.-4.j])"


def test_complex128_fixed_mode_and_suffix():
    got = format_tensor(a([1.5 + 2j, 3 - 0.25j], np.complex128), [])
    assert got == "tensor([1.5000+2.0000j, 3.0000-0.2500j], dtype=torch.complex128)"


def test_complex_scalar():
    assert format_tensor(a(1 - 1j, np.complex64), []) == "tensor(1.-1.j)"


# --- empty tensors ---------------------------------------------------------------


def test_empty_tensors():
    assert format_tensor(np.zeros(0, f32), []) == "tensor([])"
    assert format_tensor(np.zeros((0, 3), f32), []) == "tensor([], size=(0, 3))"
    assert format_tensor(np.zeros(0, np.int64), []) == "tensor([], dtype=torch.int64)"
    assert format_tensor(np.zeros(0, bool), []) == "tensor([], dtype=torch.bool)"
    got = format_tensor(np.zeros((2, 0), np.float64), ["requires_grad=True"])
    assert got == "tensor([], size=(2, 0), dtype=torch.float64, requires_grad=True)"


# --- layout ------------------------------------------------------------------------


def test_three_d_blocks_are_separated_by_a_blank_line():
    expected = (
        "tensor([[[0., 1.],\n"
        "         [2., 3.]],\n"
        "\n"
        "        [[4., 5.],\n"
        "         [6., 7.]]])"
    )
    assert format_tensor(np.arange(8.0, dtype=f32).reshape(2, 2, 2), []) == expected


def test_four_d_blocks_are_separated_by_two_blank_lines():
    got = format_tensor(np.arange(4, dtype=np.int64).reshape(2, 1, 1, 2), [])
    assert got == "tensor([[[[0, 1]]],\n\n\n        [[[2, 3]]]])"


def test_wide_row_wraps_at_linewidth():
    expected = (
        "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
        "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n"
        "        28., 29.])"
    )
    assert format_tensor(np.arange(30.0, dtype=f32), []) == expected


def test_wide_rows_of_a_matrix_wrap_one_column_deeper():
    got = format_tensor(np.arange(40.0, dtype=f32).reshape(2, 20), [])
    expected = (
        "tensor([[ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
        "         14., 15., 16., 17., 18., 19.],\n"
        "        [20., 21., 22., 23., 24., 25., 26., 27., 28., 29., 30., 31., 32., 33.,\n"
        "         34., 35., 36., 37., 38., 39.]])"
    )
    assert got == expected


def test_suffix_moves_to_its_own_line_when_too_long():
    expected = (
        "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.],\n"
        "       requires_grad=True)"
    )
    assert format_tensor(np.arange(14.0, dtype=f32), ["requires_grad=True"]) == expected


def test_suffix_stays_on_short_last_line():
    got = format_tensor(np.arange(30.0, dtype=f32), ["requires_grad=True"])
    assert got.endswith("\n        28., 29.], requires_grad=True)")


def test_summarized_int_matrix():
    expected = (
        "tensor([[   0,    1,    2,  ...,   97,   98,   99],\n"
        "        [ 100,  101,  102,  ...,  197,  198,  199],\n"
        "        [ 200,  201,  202,  ...,  297,  298,  299],\n"
        "        ...,\n"
        "        [9700, 9701, 9702,  ..., 9797, 9798, 9799],\n"
        "        [9800, 9801, 9802,  ..., 9897, 9898, 9899],\n"
        "        [9900, 9901, 9902,  ..., 9997, 9998, 9999]])"
    )
    assert format_tensor(np.arange(10000, dtype=np.int64).reshape(100, 100), []) == expected


def test_summarized_float_matrix():
    got = format_tensor(np.arange(10000.0, dtype=f32).reshape(100, 100), [])
    lines = got.split("\n")
    assert lines[0] == "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 9.7000e+01, 9.8000e+01,"
    assert lines[1] == "         9.9000e+01],"
    assert lines[6] == "        ...,"
    assert lines[-1] == "         9.9990e+03]])"
    assert len(lines) == 13


def test_summary_widths_come_from_shown_values_only():
    # the hidden middle value 1e6 does not widen or switch the format
    data = np.ones(1001, f32)
    data[500] = 1e6
    assert format_tensor(data, []) == "tensor([1., 1., 1.,  ..., 1., 1., 1.])"


def test_threshold_is_strict():
    assert "..." not in format_tensor(np.zeros(1000, np.int64), [])
    assert "..." in format_tensor(np.zeros(1001, np.int64), [])


# --- print options -----------------------------------------------------------------


def test_set_printoptions_precision_and_threshold():
    set_printoptions(precision=2)
    assert format_tensor(a([1.12345]), []) == "tensor([1.12])"
    set_printoptions(threshold=5)
    assert format_tensor(np.arange(10, dtype=np.int64), []) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    set_printoptions(profile="default")
    assert format_tensor(a([1.12345]), []) == "tensor([1.1235])"
    assert format_tensor(np.arange(10, dtype=np.int64), []) == "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"


def test_set_printoptions_sci_mode():
    set_printoptions(sci_mode=True)
    assert format_tensor(a([1.5, 2.0]), []) == "tensor([1.5000e+00, 2.0000e+00])"
    set_printoptions(sci_mode=False)
    # PyTorch keeps the width measured for the automatic (sci) choice
    assert format_tensor(a([0.1, 1e-8]), []) == "tensor([    0.1000,     0.0000])"
    set_printoptions()  # sci_mode goes back to automatic
    assert get_printoptions()["sci_mode"] is None


def test_set_printoptions_linewidth_and_edgeitems():
    set_printoptions(linewidth=20)
    assert format_tensor(np.arange(6, dtype=np.int64), []) == "tensor([0, 1, 2, 3,\n        4, 5])"
    set_printoptions(profile="short")
    assert get_printoptions()["edgeitems"] == 2
    set_printoptions(profile="full")
    assert "..." not in format_tensor(np.zeros(5000, np.int64), [])


def test_printoptions_context_restores():
    with printoptions(precision=1):
        assert format_tensor(a([1.25, 2.0]), []) == "tensor([1.2, 2.0])"
    assert get_printoptions()["precision"] == 4
