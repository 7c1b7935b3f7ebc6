"""Softmax: a probability distribution per row, computed without ever overflowing.

log_softmax is graded with the cross-entropy homework part (it is the loss's log-sum-exp), so
its checks sit in tests of their own, apart from softmax's.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import (
    EXTREME,
    SETTINGS,
    check_resolvable,
    extreme_logits,
    floats64,
    matrix_shapes,
    seeds,
)

from tinynet.layers import Softmax, log_softmax, softmax


@pytest.mark.part("softmax-forward")
@SETTINGS
@given(st.data())
def test_shift_invariance_per_row(data):
    z = data.draw(floats64(matrix_shapes(), -50, 50))
    shift = data.draw(floats64((z.shape[0], 1), -EXTREME, EXTREME))  # one shift per row
    np.testing.assert_allclose(softmax(z + shift), softmax(z), rtol=1e-9, atol=1e-12)


@pytest.mark.part("softmax-forward")
def test_the_values_of_the_docs_example():
    # docs/softmax.md's first example: e^1, e^2, e^3 over their sum.
    np.testing.assert_allclose(softmax(np.array([[1.0, 2.0, 3.0]])),
                               [[0.09003057, 0.24472847, 0.66524096]], rtol=1e-7)


def assert_over_the_last_axis(fn) -> None:
    """``fn`` of (N, T, K) scores is ``fn`` of its (N * T, K) rows, and of one row alone,
    (K,), that of the row as a batch of one."""
    z = np.random.default_rng(0).standard_normal((2, 3, 4))
    np.testing.assert_allclose(fn(z), fn(z.reshape(6, 4)).reshape(2, 3, 4), rtol=1e-14)
    row = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(fn(row), fn(row[None])[0], rtol=1e-14)


@pytest.mark.part("softmax-forward")
def test_softmax_is_over_the_last_axis_of_any_shape():
    # (..., K): a sequence of scores per sample, (N, T, K), or one row alone, (K,). Over
    # axis 1, as a 2-D array's last axis, a (2, 3, 4) batch would get "rows" that sum to
    # 0.001 or 3.9, and one row an AxisError.
    assert_over_the_last_axis(softmax)


@pytest.mark.part("softmax-forward")
@SETTINGS
@given(floats64(matrix_shapes(min_cols=2), -50, 50))
def test_probability_ratios_are_exponentials_of_logit_differences(z):
    # p_i / p_j = e^(z_i - z_j): what makes softmax softmax. The properties of the other tests
    # (rows sum to 1, shift-invariance, the largest logit most likely) hold for 1/K
    # everywhere too, or for softmax(2 z); this one holds for softmax alone.
    p = softmax(z)
    np.testing.assert_allclose(p / p[:, :1], np.exp(z - z[:, :1]), rtol=1e-9)


@pytest.mark.part("softmax-forward")
@SETTINGS
@given(extreme_logits(matrix_shapes(max_cols=8)))
def test_rows_are_distributions_for_extreme_logits(z):
    with np.errstate(all="raise"):
        p = softmax(z)
        y = Softmax().forward(z)
    assert np.all(np.isfinite(p))
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(y, p)
    # The row maximum has the largest probability, and every row holds it at least once.
    assert np.all(p[np.arange(len(z)), z.argmax(axis=1)] == p.max(axis=1))


@pytest.mark.part("softmax-forward")
@SETTINGS
@given(extreme_logits(matrix_shapes(max_cols=8), dtype=np.float32))
def test_float32_extreme_logits_stay_finite(z):
    with np.errstate(all="raise"):
        p = softmax(z)
    assert p.dtype == np.float32
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.part("softmax-forward")
@SETTINGS
@given(extreme_logits(matrix_shapes(min_rows=2, max_cols=6)))
def test_each_row_is_its_own_distribution(z):
    # The max is taken per row: a row's probabilities do not depend on the other rows.
    p = softmax(z)
    for i, row in enumerate(z):
        np.testing.assert_allclose(p[i], softmax(row[None, :])[0], rtol=1e-14, atol=0)


@pytest.mark.part("softmax-forward")
@SETTINGS
@given(floats64(matrix_shapes(), -50, 50))
def test_softmax_never_writes_into_its_input(z):
    # z -= z.max(...) would give the same probabilities and shift the caller's logits: the
    # model's outputs, or the scores a learner prints next to them.
    original = z.copy()
    z.flags.writeable = False  # a write into z raises
    try:
        p = softmax(z)
        Softmax().forward(z)
    except ValueError as error:
        if "read-only" not in str(error):
            raise
        pytest.fail("softmax wrote into its input z (z -= ...): compute z - z.max(...) as a "
                    f"new array ({error})")
    np.testing.assert_array_equal(z, original)
    assert not np.shares_memory(p, z)


@pytest.mark.part("cross-entropy")
@SETTINGS
@given(floats64(matrix_shapes(), -30, 30))
def test_log_softmax_is_log_of_softmax(z):
    np.testing.assert_allclose(log_softmax(z), np.log(softmax(z)), rtol=1e-10, atol=1e-10)


@pytest.mark.part("cross-entropy")
def test_log_softmax_is_over_the_last_axis_of_any_shape():
    # As softmax: over axis 1, a (2, 3, 4) batch's log-sum-exp would not be 0 per row.
    assert_over_the_last_axis(log_softmax)
    row = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(log_softmax(row), row - np.log(np.exp(row).sum()), rtol=1e-14)


@pytest.mark.part("cross-entropy")
@SETTINGS
@given(st.data())
def test_log_softmax_shift_invariance_per_row(data):
    z = data.draw(floats64(matrix_shapes(), -50, 50))
    shift = data.draw(floats64((z.shape[0], 1), -EXTREME, EXTREME))  # one shift per row
    np.testing.assert_allclose(log_softmax(z + shift), log_softmax(z), rtol=1e-9, atol=1e-9)


@pytest.mark.part("cross-entropy")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@SETTINGS
@given(data=st.data())
def test_log_softmax_of_extreme_logits_is_finite_and_at_most_0(dtype, data):
    z = data.draw(extreme_logits(matrix_shapes(max_cols=8), dtype=dtype))
    with np.errstate(all="raise"):
        log_p = log_softmax(z)
    assert log_p.dtype == dtype
    assert np.all(np.isfinite(log_p)) and np.all(log_p <= 0)


@pytest.mark.part("softmax-backward")
@SETTINGS
@given(st.data())
def test_backward_is_the_jacobian_vector_product(data):
    z = data.draw(floats64(matrix_shapes(max_cols=6), -5, 5))
    dy = data.draw(floats64(z.shape))
    layer = Softmax()
    s = layer.forward(z)
    dx = layer.backward(dy)
    for i in range(len(z)):  # the (K, K) Jacobian the layer never builds
        jacobian = np.diag(s[i]) - np.outer(s[i], s[i])
        np.testing.assert_allclose(dx[i], jacobian.T @ dy[i], rtol=1e-9, atol=1e-12)


@pytest.mark.part("softmax-backward")
def test_backward_is_over_the_last_axis_of_any_shape():
    # Softmax takes (N, ..., K); summed over axis 1, a (2, 3, 4) batch's dx would be off by
    # 0.25.
    rng = np.random.default_rng(2)
    z, dy = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    rows = Softmax()
    rows.forward(z.reshape(6, 4))
    layer = Softmax()
    layer.forward(z)
    np.testing.assert_allclose(layer.backward(dy), rows.backward(dy.reshape(6, 4)).reshape(
        2, 3, 4), rtol=1e-12, atol=1e-15)


@pytest.mark.part("softmax-backward")
@SETTINGS
@given(st.data())
def test_backward_of_extreme_logits_is_finite_and_blind_to_row_shifts(data):
    z = data.draw(extreme_logits(matrix_shapes(max_cols=8)))
    dy = data.draw(floats64(z.shape))
    layer = Softmax()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = layer.forward(z)
        dx = layer.backward(dy)
    assert np.all(np.isfinite(dx))
    # Adding c to a row of logits leaves softmax unchanged (shift invariance), so moving the
    # row along (1, ..., 1) changes nothing: each row of dx sums to 0.
    np.testing.assert_allclose(dx.sum(axis=1), 0, atol=1e-12)
    for i in range(len(z)):
        jacobian = np.diag(s[i]) - np.outer(s[i], s[i])
        np.testing.assert_allclose(dx[i], jacobian.T @ dy[i], rtol=1e-9, atol=1e-12)


@pytest.mark.part("softmax-backward")
@SETTINGS
@given(floats64(matrix_shapes(max_cols=6), -5, 5), seeds())
def test_gradient_check(z, seed):
    seed %= 1000
    # A row of logits 10 apart has a dx of about e^-10 times dy, below what central
    # differences resolve next to an f of about |dy| (strategies.resolvable).
    result, resolvable = check_resolvable(Softmax(), z, seed)
    assume(resolvable)
    assert result.passed, str(result)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int64, bool])
@pytest.mark.parametrize("function", [softmax, log_softmax])
def test_integer_scores_are_taken_as_floats(function, dtype):
    # In uint8, z - max(z) wraps around (0 - 255 = 1): computed in the input's dtype,
    # softmax([0, 255]) would be [0.73, 0.27] in float16 instead of [~0, 1].
    z = np.array([[0, 1], [1, 0]]) * (1 if dtype is bool else 100)
    out = function(z.astype(dtype))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, function(z.astype(np.float64)), rtol=1e-12)


def test_the_softmax_layer_refuses_input_without_a_batch_axis():
    # The function takes one row, (K,); the layer would take it as K samples of one score
    # each, and normalise over the batch. (N, ..., K) is taken, over the last axis.
    with pytest.raises(ValueError, match=r"^Softmax\(\): input must have shape \(N, K\), a row "
                                         r"of K scores for each of N samples, got shape \(3,\) "
                                         r"\(one sample is x\[None\], of shape \(1, 3\)\)$"):
        Softmax().forward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(softmax(np.array([1.0, 2.0, 3.0])).sum(), 1.0)
    y = Softmax().forward(np.zeros((2, 4, 3)))
    np.testing.assert_allclose(y, np.full((2, 4, 3), 1 / 3))


@pytest.mark.parametrize("z, message", [
    (np.zeros((2, 0)), r"must have shape \(\.\.\., K\) with K >= 1 .*got shape \(2, 0\)"),
    (np.float64(1.0), r"must have shape \(\.\.\., K\) .*got shape \(\)"),
    (np.ones((2, 3), complex), "must hold real numbers .*got dtype complex128"),
    (np.ones((2, 3)).astype(str), "must hold real numbers .*got dtype <U"),
])
def test_softmax_refuses_what_has_no_classes_or_numbers(z, message):
    for function, name in ((softmax, "softmax: z"), (log_softmax, "log_softmax: z"),
                           (Softmax().forward, r"Softmax\(\): input")):
        with pytest.raises(ValueError, match=f"{name} {message}"):
            function(z)
