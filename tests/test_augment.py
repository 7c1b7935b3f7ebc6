"""RandomShift (augmentation as a layer), the learning-rate schedule, and where training's
backward pass stops."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import examples, floats64

from tinynet import (
    SGD,
    Adam,
    Conv2D,
    Dense,
    Flatten,
    LearningRateScheduler,
    RandomShift,
    ReLU,
    Sequential,
    Softmax,
    load_model,
)
from tinynet.callbacks import exponential_decay
from tinynet.gradcheck import check_layer
from tinynet.layers.augment import shift_images


def loop_shift(x, offsets):
    """The definition, one pixel at a time: y[n, i, j] = x[n, i + d, j + e], else 0."""
    N, H, W, C = x.shape
    y = np.zeros_like(x)
    for n in range(N):
        d, e = offsets[n]
        for i in range(H):
            for j in range(W):
                if 0 <= i + d < H and 0 <= j + e < W:
                    y[n, i, j] = x[n, i + d, j + e]
    return y


@settings(max_examples=examples(25), deadline=None)
@given(n=st.integers(1, 4), h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 2),
       s=st.integers(0, 3), data=st.data())
def test_shift_matches_the_definition(n, h, w, c, s, data):
    x = data.draw(floats64((n, h, w, c)), label="x")
    offsets = data.draw(hnp.arrays(np.int64, (n, 2), elements=st.integers(-s, s)),
                        label="offsets")
    np.testing.assert_array_equal(shift_images(x, offsets, s), loop_shift(x, offsets))


def test_identity_when_not_training_and_shifts_when_training():
    x = np.random.default_rng(0).random((50, 8, 8, 1))
    layer = RandomShift(2, rng=np.random.default_rng(1))
    assert layer.forward(x) is x or np.array_equal(layer.forward(x), x)
    y = layer.forward(x, training=True)
    assert y.shape == x.shape
    moved = [not np.array_equal(y[i], x[i]) for i in range(len(x))]
    assert sum(moved) > 30  # 24 of 25 offsets move the image


def test_shifts_cover_every_offset_from_minus_to_plus_max_shift():
    # One lit pixel in the middle of each image: where it lands tells the image's offset
    # (y[n, i, j] = x[n, i + d, j + e], so the pixel at row 2 moves to row 2 - d).
    s, n = 2, 400
    x = np.zeros((n, 5, 5, 1))
    x[:, 2, 2, 0] = 1
    y = RandomShift(s, rng=np.random.default_rng(0)).forward(x, training=True)
    images, rows, cols, _ = np.nonzero(y)
    np.testing.assert_array_equal(images, np.arange(n))  # each keeps its pixel: |d|, |e| <= 2
    offsets = {(2 - i, 2 - j) for i, j in zip(rows, cols, strict=True)}
    assert offsets == {(d, e) for d in range(-s, s + 1) for e in range(-s, s + 1)}


def test_shifts_are_drawn_from_the_layers_generator():
    # Its seed decides them, and each batch draws its own.
    x = np.random.default_rng(0).random((20, 6, 6, 1))
    first = RandomShift(2, rng=np.random.default_rng(1))
    shifted = first.forward(x, training=True)
    again = RandomShift(2, rng=np.random.default_rng(1)).forward(x, training=True)
    np.testing.assert_array_equal(again, shifted)
    assert not np.array_equal(first.forward(x, training=True), shifted)
    other = RandomShift(2, rng=np.random.default_rng(2)).forward(x, training=True)
    assert not np.array_equal(other, shifted)


def test_gradient_of_the_shift():
    x = np.random.default_rng(2).standard_normal((3, 5, 4, 2))
    result = check_layer(RandomShift(2), x, training=True)
    assert result.passed, str(result)


def test_same_seed_same_shifts_and_saved_with_the_model(tmp_path):
    def train(seed):
        rng = np.random.default_rng(0)
        x, y = rng.random((40, 6, 6, 1)).astype(np.float32), rng.integers(0, 2, 40)
        model = Sequential([RandomShift(1), Flatten(), Dense(36, 2), Softmax()], seed=seed)
        model.compile("sparse_categorical_crossentropy", SGD(0.1))
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        return model

    a, b, c = train(3), train(3), train(4)
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights(),
                                                      strict=True))
    assert not all(np.array_equal(p, q) for p, q in zip(a.get_weights(), c.get_weights(),
                                                          strict=True))
    loaded = load_model(a.save(tmp_path / "shift"))
    assert isinstance(loaded.layers[0], RandomShift) and loaded.layers[0].max_shift == 1


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_bad_max_shift_is_refused(bad):
    with pytest.raises(ValueError, match="max_shift"):
        RandomShift(bad)


def test_a_numpy_int_is_a_max_shift():
    layer = RandomShift(np.int64(2))
    assert layer.max_shift == 2 and type(layer.max_shift) is int  # JSON can write it


def test_non_image_input_is_refused():
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        RandomShift(1).forward(np.zeros((2, 3)), training=True)


class Spy(ReLU):
    """A ReLU that counts its backward calls."""

    calls = 0

    def backward(self, dy):
        Spy.calls += 1
        return super().backward(dy)


def test_training_backward_stops_at_the_first_layer_with_parameters():
    # Layers before the first learnt one are never visited; the first learnt one only
    # computes its parameter gradients (Conv2D and Dense skip dL/dx).
    spy = Spy()
    model = Sequential([RandomShift(1), spy, Conv2D(1, 2, 3), ReLU(), Flatten(), Dense(8, 2),
                        Softmax()], seed=0)
    model.compile("sparse_categorical_crossentropy", SGD(0.1))
    x, y = np.random.default_rng(0).random((4, 4, 4, 1)), np.array([0, 1, 0, 1])
    before = model.get_weights()
    conv, skipped = model.layers[2], []  # its backward, which computes dL/dx too, is not called
    conv.backward = lambda dy: skipped.append(dy) or Conv2D.backward(conv, dy)
    model.train_step(x, y)
    assert Spy.calls == 0 and skipped == []
    assert all(not np.array_equal(p, q) for p, q in zip(before, model.get_weights(),
                                                        strict=True))
    model.forward(x)
    model.backward(np.ones((4, 2)))  # the public backward still goes all the way
    assert Spy.calls == 1


def test_learning_rate_schedule_sets_each_epochs_rate():
    rates = []

    class Record(LearningRateScheduler):
        def on_epoch_end(self, epoch, logs=None):
            rates.append(self.model.optimizer.lr)

    x = np.random.default_rng(0).random((16, 3)).astype(np.float32)
    model = Sequential([Dense(3, 2), Softmax()], seed=0)
    model.compile("sparse_categorical_crossentropy", Adam(0.01))
    model.fit(x, np.arange(16) % 2, epochs=3, verbose=0,
              callbacks=[Record(exponential_decay(0.01, 0.5))])
    np.testing.assert_allclose(rates, [0.01, 0.005, 0.0025])
    with pytest.raises(ValueError, match=r"lr for epoch 0 must be a number in \[0.0, inf\), "
                                         r"got -0.01"):
        model.fit(x, np.arange(16) % 2, epochs=1, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch, lr: -0.01)])
