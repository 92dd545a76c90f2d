"""The output-size formula against real PyTorch layers, including every setting PyTorch rejects.

Each property test builds the PyTorch layer, runs it on a 1-channel image and compares: where
PyTorch returns an output, our size must equal its shape; where PyTorch raises, we must raise
a :class:`ShapeError` (and the other way round). About 5,000 drawn cases in all.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from torch import nn

from alexnet_lib.course.explain import explain_conv_output
from alexnet_lib.course.tracking import next_receptive_field
from alexnet_lib.shapes import (
    ShapeError,
    conv2d_output_shape,
    conv_output_size,
    pool2d_output_shape,
    pool_output_size,
    same_padding,
)



pytestmark = pytest.mark.usefixtures("one_thread")


def examples(n: int) -> settings:
    """Hypothesis settings for n drawn cases, without time limits (the machine is shared)."""
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow])


sizes = st.integers(1, 40)


def mostly(valid: st.SearchStrategy[int], bad: list[int]) -> st.SearchStrategy[int]:
    """Valid values, and one of the ``bad`` ones about one time in ten."""
    return st.integers(0, 9).flatmap(lambda r: st.sampled_from(bad) if r == 0 else valid)


@st.composite
def one_dimension(draw, pool: bool = False) -> dict[str, int]:
    """Kernel, stride, padding and dilation along one dimension; invalid values now and then.

    Pooling padding is drawn around PyTorch's limit k // 2, so both sides of it are tried.
    """
    k = draw(mostly(st.integers(1, 12), [0, -1]))
    s = draw(mostly(st.integers(1, 5), [0, -1, -2]))
    limit = max(k, 0) // 2  # PyTorch's pooling limit
    p = draw(mostly(st.integers(0, limit), [-1, limit + 1, limit + 2]) if pool else mostly(st.integers(0, 7), [-1, -3]))
    d = draw(mostly(st.integers(1, 3), [0, -1]))
    return {"k": k, "s": s, "p": p, "d": d}


def label(expected: object) -> None:
    event("PyTorch raises" if expected is None else "PyTorch returns a shape")


def pytorch_shape(build, x: torch.Tensor) -> tuple[int, int] | None:
    """The (H, W) PyTorch computes, or None where building or running the layer raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-size kernels and 'same' padding warn
        try:
            with torch.no_grad():
                return tuple(build()(x).shape[-2:])
        except (RuntimeError, ValueError):
            return None


def ours(compute) -> tuple[int, int] | None:
    try:
        return compute()
    except ShapeError as exc:
        assert "=" in str(exc), f"the message should name the values: {exc}"
        return None


def image(h: int, w: int) -> torch.Tensor:
    return torch.zeros(1, 1, h, w)


@examples(1500)
@given(h=sizes, w=sizes, a=one_dimension(), b=one_dimension())
def test_conv2d_output_shape_matches_nn_conv2d(h, w, a, b):
    k, s, p, d = ((a[key], b[key]) for key in "kspd")
    expected = pytorch_shape(lambda: nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d, bias=False), image(h, w))
    label(expected)
    got = ours(lambda: conv2d_output_shape((h, w), k, s, p, d))
    assert got == expected, f"ours {got}, PyTorch {expected} (None: an error)"


@examples(1500)
@given(h=sizes, w=sizes, a=one_dimension(pool=True), b=one_dimension(pool=True), default_stride=st.booleans(),
       ceil_mode=st.booleans())
def test_pool2d_output_shape_matches_nn_maxpool2d(h, w, a, b, default_stride, ceil_mode):
    k, s, p, d = ((a[key], b[key]) for key in "kspd")
    s = None if default_stride else s
    expected = pytorch_shape(lambda: nn.MaxPool2d(k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode), image(h, w))
    label(expected)
    got = ours(lambda: pool2d_output_shape((h, w), k, s, p, d, ceil_mode))
    assert got == expected, f"ours {got}, PyTorch {expected} (None: an error)"


@examples(1000)
@given(h=sizes, w=sizes, a=one_dimension(pool=True), b=one_dimension(pool=True), default_stride=st.booleans(),
       ceil_mode=st.booleans(), count_include_pad=st.booleans())
def test_pool2d_output_shape_matches_nn_avgpool2d(h, w, a, b, default_stride, ceil_mode, count_include_pad):
    k, s, p = ((a[key], b[key]) for key in "ksp")
    s = None if default_stride else s
    expected = pytorch_shape(
        lambda: nn.AvgPool2d(k, stride=s, padding=p, ceil_mode=ceil_mode, count_include_pad=count_include_pad),
        image(h, w),
    )
    label(expected)
    got = ours(lambda: pool2d_output_shape((h, w), k, s, p, 1, ceil_mode))
    assert got == expected, f"ours {got}, PyTorch {expected} (None: an error)"


@examples(600)
@given(n=sizes, k=st.integers(1, 12), s=st.integers(1, 5), before=st.integers(0, 7), after=st.integers(0, 7),
       d=st.integers(1, 3))
def test_asymmetric_padding_matches_padding_then_conv(n, k, s, before, after, d):
    """D2L's total padding p_h = before + after: pad explicitly with F.pad, then convolve without padding."""
    conv = nn.Conv2d(1, 1, (k, 1), stride=(s, 1), dilation=(d, 1), bias=False)
    expected = pytorch_shape(lambda: lambda x: conv(F.pad(x, (0, 0, before, after))), image(n, 1))
    got = ours(lambda: (conv_output_size(n, k, s, (before, after), d), 1))
    assert got == expected
    if got is not None:  # Dive into Deep Learning's form of the formula, for d = 1
        d2l = (n - k + before + after + s) // s
        assert d != 1 or got[0] == d2l


@examples(600)
@given(n=sizes, k=st.integers(1, 12), s=st.integers(1, 5), d=st.integers(1, 3))
def test_same_padding_matches_pytorch_and_tensorflow(n, k, s, d):
    x = torch.randn(1, 1, n, 1, generator=torch.Generator().manual_seed(n))
    before, after = same_padding(n, k, s, d)
    assert conv_output_size(n, k, s, "same", d) == math.ceil(n / s)
    conv = nn.Conv2d(1, 1, (k, 1), stride=(s, 1), dilation=(d, 1), bias=False)
    with torch.no_grad():
        padded = conv(F.pad(x, (0, 0, before, after)))
        assert padded.shape[-2] == math.ceil(n / s)
        if s == 1:  # PyTorch's own 'same': same size and the same values, so the same padding
            same = nn.Conv2d(1, 1, (k, 1), dilation=(d, 1), padding="same", bias=False)
            same.weight.copy_(conv.weight)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # even kernels warn about a padded copy
                torch.testing.assert_close(same(x), padded)
        else:  # PyTorch refuses 'same' with a stride; we follow TensorFlow
            with pytest.raises(ValueError, match="same"):
                nn.Conv2d(1, 1, k, stride=s, padding="same")


@examples(300)
@given(n=sizes, k=st.integers(1, 12), s=st.integers(1, 5), p=st.integers(0, 6), d=st.integers(1, 3),
       ceil_mode=st.booleans(), pool=st.booleans())
def test_explanation_ends_with_the_computed_size(n, k, s, p, d, ceil_mode, pool):
    try:
        size = pool_output_size(n, k, s, p, d, ceil_mode) if pool else conv_output_size(n, k, s, p, d, ceil_mode)
    except ShapeError as exc:
        with pytest.raises(ShapeError) as again:
            explain_conv_output(n, k, s, p, d, ceil_mode, pool)
        assert str(again.value) == str(exc)
        return
    text = explain_conv_output(n, k, s, p, d, ceil_mode, pool)
    results = [line for line in text.splitlines() if line.lstrip().startswith("= ") and "+" not in line]
    assert results[-1].split()[-1] == str(size)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_valid_padding_is_no_padding_as_in_pytorch():
    assert conv2d_output_shape((28, 30), 5, p="valid") == tuple(nn.Conv2d(1, 1, 5, padding="valid")(image(28, 30)).shape[-2:])
    assert pool_output_size(28, 2, p="valid") == 14


@pytest.mark.parametrize(
    ("compute", "pytorch", "words"),
    [
        (lambda: conv_output_size(4, k=5), lambda: nn.Conv2d(1, 1, 5)(image(4, 4)), ["k=5", "4 + 0 = 4", "smaller kernel"]),
        (lambda: conv_output_size(9, k=5, d=3), lambda: nn.Conv2d(1, 1, 5, dilation=3)(image(9, 9)), ["effective size", "13"]),
        (lambda: conv_output_size(8, k=3, s=0), lambda: nn.Conv2d(1, 1, 3, stride=0)(image(8, 8)), ["s=0", "at least 1"]),
        (lambda: conv_output_size(8, k=3, s=-2), lambda: nn.Conv2d(1, 1, 3, stride=-2)(image(8, 8)), ["s=-2"]),
        (lambda: conv_output_size(8, k=3, p=-1), lambda: nn.Conv2d(1, 1, 3, padding=-1)(image(8, 8)), ["p=-1", "negative"]),
        (lambda: conv_output_size(8, k=3, d=0), lambda: nn.Conv2d(1, 1, 3, dilation=0)(image(8, 8)), ["d=0"]),
        (lambda: pool_output_size(8, k=3, p=2), lambda: nn.MaxPool2d(3, padding=2)(image(8, 8)), ["p=2", "k=3", "k // 2 = 1"]),
        (lambda: pool_output_size(8, k=3, s=1, p=2, d=2), lambda: nn.MaxPool2d(3, 1, 2, dilation=2)(image(8, 8)), ["p=2"]),
        (lambda: pool_output_size(8, k=4, p=3), lambda: nn.AvgPool2d(4, padding=3)(image(8, 8)), ["p=3", "k // 2 = 2"]),
        (lambda: pool_output_size(3, k=4, s=2), lambda: nn.MaxPool2d(4, 2)(image(3, 3)), ["k=4", "3 + 0 = 3"]),
        (lambda: pool_output_size(8, k=3, s=0), lambda: nn.MaxPool2d(3, 0)(image(8, 8)), ["s=0"]),
        (lambda: pool2d_output_shape((8, 3), k=(2, 5)), lambda: nn.MaxPool2d((2, 5))(image(8, 3)), ["width", "k=5"]),
    ],
)
def test_bad_settings_raise_a_clear_error_where_pytorch_raises_a_traceback(compute, pytorch, words):
    with pytest.raises(ShapeError) as caught:
        compute()
    for word in words:
        assert word in str(caught.value)
    with pytest.raises((RuntimeError, ValueError)):
        pytorch()


@pytest.mark.parametrize(
    "compute",
    [
        lambda: conv_output_size(8.0, 3),
        lambda: conv_output_size(8, 3, p="full"),
        lambda: conv_output_size(8, 3, p=(1, 2, 3)),
        lambda: pool_output_size(8, 2, p="same"),
        lambda: pool_output_size(8, 2, p=(0, 1)),
        lambda: conv2d_output_shape((8, 8, 8), 3),
        lambda: explain_conv_output(8, 3, s=None),
        lambda: next_receptive_field(0, 1, 3),
    ],
)
def test_settings_pytorch_has_no_word_for_are_errors_too(compute):
    with pytest.raises(ShapeError):
        compute()


def test_ceil_mode_window_over_the_edge_is_allowed_as_in_pytorch():
    """A window that starts inside the input may hang past its end in ceil_mode: 3 pixels, kernel 4."""
    assert pool_output_size(3, k=4, s=2, ceil_mode=True) == nn.MaxPool2d(4, 2, ceil_mode=True)(image(3, 3)).shape[-1] == 1
    assert "reaches past the padded input" in explain_conv_output(3, 4, 2, ceil_mode=True, pool=True)


def test_alexnet_sizes_agree_with_its_layers():
    x = torch.zeros(1, 3, 224, 224)
    layers = [nn.Conv2d(3, 4, 11, 4, 2), nn.MaxPool2d(3, 2), nn.Conv2d(4, 4, 5, padding=2), nn.MaxPool2d(3, 2),
              nn.Conv2d(4, 4, 3, padding=1), nn.MaxPool2d(3, 2)]
    n, sizes_seen = 224, []
    with torch.no_grad():
        for layer in layers:
            x = layer(x)
            if isinstance(layer, nn.Conv2d):
                n = conv_output_size(n, layer.kernel_size[0], layer.stride[0], layer.padding[0])
            else:
                n = pool_output_size(n, layer.kernel_size, layer.stride)
            assert x.shape[-1] == n
            sizes_seen.append(n)
    assert sizes_seen[::2] == [55, 27, 13] and sizes_seen[-1] == 6
