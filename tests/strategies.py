"""Hypothesis strategies shared by the core tests: shapes, well-behaved float64 arrays,
inputs kept away from ReLU's kink, extreme logits; the filter that keeps gradient checks
to draws whose gradients central differences can resolve; a read-only array maker; and a
callback that refuses every fit, for what a refused fit must leave as it was."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinynet.callbacks import Callback
from tinynet.gradcheck import GradCheckResult, check_layer

#: hypothesis's own default max_examples, which the counts the tests give are meant for.
_BASE_EXAMPLES = 100


def examples(n: int) -> int:
    """The max_examples of a property test that draws ``n`` examples in the default run.

    A test's own max_examples overrides the profile's, so a profile that asks for more
    examples (``pytest --hypothesis-profile=thorough``, see conftest.py) would change
    nothing by itself: every count is scaled by the loaded profile's max_examples over
    hypothesis's default 100. The "tinynet" profile keeps 100, so ``n``; "thorough" has
    1000, so ``10 n``. Read when a test module is imported, after pytest has loaded the
    profile its option names.
    """
    return max(1, round(n * settings.default.max_examples / _BASE_EXAMPLES))


#: Settings for property tests: a few dozen examples, no per-example deadline (the machine is
#: shared, and numerical gradients loop in Python).
SETTINGS = settings(max_examples=examples(25), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
#: Fewer examples for the slow ones (a whole model's numerical gradient, training).
FEW = settings(max_examples=examples(8), deadline=None,
               suppress_health_check=[HealthCheck.too_slow])

#: ReLU's kink is at 0; a numerical derivative taken within eps of it is meaningless.
KINK_GAP = 1e-2
#: The largest logit magnitude the stability properties promise to handle.
EXTREME = 1e4


def sizes(min_value: int = 1, max_value: int = 5) -> st.SearchStrategy[int]:
    """A small array dimension."""
    return st.integers(min_value, max_value)


def matrix_shapes(max_rows: int = 5, max_cols: int = 5, min_rows: int = 1,
                  min_cols: int = 1) -> st.SearchStrategy[tuple[int, int]]:
    """(N, D) shapes of a small batch."""
    return st.tuples(sizes(min_rows, max_rows), sizes(min_cols, max_cols))


def batch_shapes(min_dims: int = 2, max_dims: int = 4,
                 max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    """(N, d1, ...) shapes with a batch axis, for element-wise layers and Flatten."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def image_shapes(max_side: int = 4) -> st.SearchStrategy[tuple[int, int, int, int]]:
    """(N, H, W, C) shapes of a small batch of channels-last images, at least 2x2."""
    return st.tuples(sizes(1, 2), sizes(2, max_side), sizes(2, max_side), sizes(1, 2))


#: Entries smaller than this are drawn as 0 (see floats64).
TINY = 1e-3


def floats64(shape, low: float = -3.0, high: float = 3.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` (a shape or a strategy of shapes) with entries in
    [low, high]: moderate values, where finite differences are accurate.

    Entries are 0 or at least TINY in size: a gradient made only of entries like 1e-8 (say
    dW = x.T @ dy for an x of 1e-8) drowns in the rounding noise of central differences,
    about 1e-16 |f| / eps = 1e-10 |f|, and no checker can confirm it to 1e-6. That keeps
    most draws checkable, not all: a gradient check filters its draws with resolvable.
    """
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False)
    elements = elements.map(lambda v: 0.0 if abs(v) < TINY else v)
    return hnp.arrays(np.float64, shape, elements=elements)


#: A right gradient stands out of the rounding noise of central differences when its norm
#: is above this fraction of the size of f (see resolvable).
RESOLVABLE = 1e-2


def resolvable(scale: float, *gradients: np.ndarray) -> bool:
    """Whether a gradient check (eps 1e-6, tolerance 1e-6) can confirm each of ``gradients``,
    the *numerical* gradients of a function f computed from numbers of total size ``scale``:
    sum |y * dy| for check_layer's f = sum(y * dy), the loss for a loss whose terms are >= 0.

    Every evaluation of f is rounded to about 1e-16 * scale, and central differences divide
    that by 2 eps: each entry of a numerical gradient carries a noise of about
    1e-10 * scale (docs/gradcheck.md#why-float64), and a right gradient whose norm is
    1e-4 * scale fails the tolerance however right it is. The entries of floats64 are at
    least TINY, but that does not make such draws rare. A Softmax row of logits -5 and 5
    has a dx of about e^-10 |dy_0 - dy_1| = 5e-5 |dy_0 - dy_1| against an f of about |dy_1|
    (z = [[-5, 5]] and seed 196: relative error 1e-4). A Dense's dW = x.T @ dy is 1e-3 |dy_0|
    for an x that is 0 but for one entry 1e-3, while the normal bias keeps f at sum |b dy|
    (relative error 1e-3).

    True when each gradient is exactly 0 (nothing f reads moves with it) or has a norm above
    RESOLVABLE * scale: then rounding leaves a relative error of at most about
    sqrt(entries) * 1e-10 / RESOLVABLE, 2e-7 for the 256 entries of the largest arrays
    drawn here. Judged from the numerical gradients, never from the backward under test:
    a backward wrong by a factor of 1e-3 would otherwise have its draws dropped as
    "too small to check" rather than fail.
    """
    norms = [float(np.linalg.norm(g)) for g in gradients]
    return all(norm == 0 or norm > RESOLVABLE * scale for norm in norms)


def check_resolvable(layer, x: np.ndarray, seed: int,
                     training: bool = False) -> tuple[GradCheckResult, bool]:
    """``check_layer(layer, x, training, seed)``, and whether its numerical gradients are
    resolvable: its f = sum(y * dy), with the dy it draws (standard normal from
    default_rng(seed + 1)) and the layer's rng reseeded from ``seed`` before forward, as it
    does. A test drops the draw, ``assume(ok)``, before it asserts ``result.passed``."""
    if getattr(layer, "rng", None) is not None:
        layer.rng = np.random.default_rng(seed)
    y = layer.forward(np.array(x, dtype=np.float64), training=training)
    dy = np.random.default_rng(seed + 1).standard_normal(y.shape)
    result = check_layer(layer, x, training=training, seed=seed)
    return result, resolvable(float(np.sum(np.abs(y * dy))), *result.numeric.values())


def away_from_kink(shape, high: float = 3.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays whose entries are at least KINK_GAP away from 0 (ReLU's kink)."""
    elements = st.one_of(st.floats(-high, -KINK_GAP), st.floats(KINK_GAP, high))
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def distinct_values(draw, shape: tuple[int, ...]) -> np.ndarray:
    """float64 arrays whose entries are at least 0.05 apart (a shuffled ramp): a nudge of
    eps never changes which entry of a pooling window is the largest, so the max is
    differentiable there."""
    n = int(np.prod(shape))
    order = draw(st.permutations(range(n)))
    return np.array(order, dtype=np.float64).reshape(shape) * 0.05 - 1.0


def extreme_logits(shape, dtype=np.float64) -> st.SearchStrategy[np.ndarray]:
    """Arrays with entries anywhere in [-1e4, 1e4], the bounds themselves favoured: a naive
    exp overflows (or underflows) on almost every one of them."""
    elements = st.one_of(
        st.sampled_from([-EXTREME, EXTREME, 0.0]),
        st.floats(-EXTREME, EXTREME, allow_nan=False, width=np.dtype(dtype).itemsize * 8),
    )
    return hnp.arrays(dtype, shape, elements=elements)


def probabilities(shape) -> st.SearchStrategy[np.ndarray]:
    """Strictly positive float64 rows (N, K) that sum to 1, for the cross-entropy that takes
    probabilities (it refuses rows that do not sum to 1) and whose derivative divides by
    them."""
    positive = hnp.arrays(np.float64, shape, elements=st.floats(0.05, 1.0))
    return positive.map(lambda p: p / p.sum(axis=1, keepdims=True))


@st.composite
def labels_for(draw, shape: tuple[int, int]) -> np.ndarray:
    """Integer labels (N,) in [0, K) for predictions of ``shape`` (N, K)."""
    N, K = shape
    return draw(hnp.arrays(np.int64, (N,), elements=st.integers(0, K - 1)))


@st.composite
def target_rows(draw, shape: tuple[int, int]) -> np.ndarray:
    """Probability rows (N, K): non-negative, each summing to 1 (soft labels)."""
    w = draw(hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0)))
    w[:, 0] += 1e-3  # no all-zero row
    return w / w.sum(axis=1, keepdims=True)


def seeds() -> st.SearchStrategy[int]:
    """Seeds for a numpy Generator or a Sequential."""
    return st.integers(0, 2**32 - 1)


def one_hot(labels: np.ndarray, K: int, dtype=np.float64) -> np.ndarray:
    """(N, K) one-hot rows of integer labels (written here so the tests stand alone)."""
    return np.eye(K, dtype=dtype)[labels]


def read_only(a: np.ndarray) -> np.ndarray:
    """``a`` itself, made read-only: a parameter that an update in place cannot change."""
    a.flags.writeable = False
    return a


class RefuseToBegin(Callback):
    """A callback whose on_train_begin raises ``error("refused")`` (a ValueError, or a
    KeyboardInterrupt for Ctrl-C): a fit stopped after its arguments were checked, before
    its first step."""

    def __init__(self, error: type[BaseException] = ValueError) -> None:
        super().__init__()
        self.error = error

    def on_train_begin(self, logs=None):
        raise self.error("refused")


class BytesPath:
    """A path object whose file system path is bytes (os.PathLike allows it), which the
    functions that take paths refuse rather than decode by guess."""

    def __init__(self, path: bytes = b"m.npz") -> None:
        self.path = path

    def __fspath__(self) -> bytes:
        return self.path

    def __repr__(self) -> str:
        return "BytesPath()"
