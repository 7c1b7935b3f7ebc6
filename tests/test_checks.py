"""The argument checks that several modules share (tinynet.checks): what they give back, and
what their refusals say. Each module's own tests refuse its arguments through them; these are
the cases that no module's tests reach."""

import math
import re

import numpy as np
import pytest

from tinynet.checks import (
    generator,
    int_at_least,
    is_number,
    not_a_folder,
    number_in,
    targets_hint,
    too_large,
    verbose_level,
)


def test_numpy_numbers_come_back_as_python_ints_and_floats():
    # As the checks say they return: fit's params hold the verbose level, EarlyStopping its
    # min_delta, and a NumPy scalar there would show as np.int64(2).
    level = verbose_level(np.int64(2))
    assert level == 2 and type(level) is int
    for value in (np.float32(0.5), 1):
        number = number_in("rate", value, 0.0)
        assert number == value and type(number) is float


def test_fit_and_the_callbacks_take_the_same_kinds_of_verbose():
    # Two copies of the check could drift: EarlyStopping(verbose=np.True_) would be taken
    # and fit(verbose=np.True_) refused. Both ask verbose_level, and take np.True_.
    from tinynet import Dense, EarlyStopping, Sequential

    model = Sequential([Dense(2, 2)], seed=0)
    model.compile("mse", "sgd", metrics=None)
    model.fit(np.zeros((4, 2)), np.zeros((4, 2)), epochs=1, verbose=np.True_)
    assert EarlyStopping(monitor="loss", verbose=np.True_).verbose == 1
    for owner, top in ((None, 2), ("EarlyStopping", 1)):
        assert [verbose_level(v, owner) for v in (np.True_, False, np.int8(top))] == [1, 0, top]
        for bad in (2.0, "no", top + 1, None):
            with pytest.raises(ValueError, match=r"verbose must be "):
                verbose_level(bad, owner)
    assert verbose_level("auto") == 1
    with pytest.raises(ValueError, match=r"^EarlyStopping: verbose must be 0 or 1, got 'auto'$"):
        verbose_level("auto", "EarlyStopping")


@pytest.mark.parametrize("value", [10**400, np.longdouble("1e4000")],
                         ids=["10**400", "long double 1e4000"])
def test_number_in_refuses_a_number_that_is_infinite_as_a_float(value):
    # No float holds either (in long double, NumPy finds 1e4000 finite): each would be
    # returned as infinity, or refused with an OverflowError.
    with pytest.raises(ValueError, match=r"^lr must be a number in \(0.0, inf\), got "):
        number_in("lr", value, 0.0, low_inclusive=False)


@pytest.mark.parametrize("value, number, finite", [
    (1, True, True), (2.5, True, True), (np.float32(3), True, True), (np.int64(4), True, True),
    (math.inf, True, False), (math.nan, True, False), (2**64, True, True),
    (10**400, False, False), (True, False, False), (np.bool_(False), False, False),
    ("1", False, False), (None, False, False), (np.zeros(1), False, False),
])
def test_is_number_takes_one_real_number_a_float_holds(value, number, finite):
    assert is_number(value) is number
    assert is_number(value, finite=True) is finite


def test_number_in_takes_an_int_past_numpys_integers():
    # np.isfinite cannot take a Python int past 2**64 (a TypeError of NumPy's), a float can.
    assert number_in("lr", 2**64, 0.0, low_inclusive=False) == 2.0**64
    with pytest.raises(ValueError, match=r"^lr must be a number in \(0.0, 1.0\), got "):
        number_in("lr", 2**64, 0.0, 1.0, low_inclusive=False)


def test_number_in_with_only_an_upper_bound_shows_it():
    # "a finite number" is the refusal of a number with no bounds at all; with an upper
    # bound, the range is shown from -inf.
    assert number_in("shift", -1e300, None, 1.0) == -1e300
    with pytest.raises(ValueError, match=r"^shift must be a number in \[-inf, 1\.0\), got 1\.0$"):
        number_in("shift", 1.0, None, 1.0)


@pytest.mark.parametrize("value, shown", [(np.int64(-1), "-1"), ("2", "'2'")])
def test_int_at_least_shows_the_value_it_refuses_as_written(value, shown):
    # A NumPy integer as its number, not np.int64(-1); a string in quotes, so that "2" does
    # not read as the int 2 that the check wants.
    with pytest.raises(ValueError, match=rf"^n must be an int >= 0, got {re.escape(shown)}$"):
        int_at_least("n", value, 0)


def test_a_path_ending_in_a_separator_is_a_folder_even_before_it_exists(tmp_path):
    # save_model(model, "runs/") would write runs.npz beside the folder that "runs/" names.
    path, inside = str(tmp_path / "runs") + "/", str(tmp_path / "runs" / "model.npz")
    with pytest.raises(ValueError, match=rf"^path must name a file, got the folder "
                                         rf"'{re.escape(path)}' \(to save in it: "
                                         rf"'{re.escape(inside)}'\)$"):
        not_a_folder("path", path, "model.npz")


def test_an_empty_path_names_no_file():
    # Path("") is ".", the current folder: unrefused, write_idx("") would raise
    # IsADirectoryError for it.
    with pytest.raises(ValueError, match=r"^path must name a file, got ''$"):
        not_a_folder("path", "", "model.npz")


@pytest.mark.parametrize("targets, outputs, hint", [
    ((8,), (8, 1), " (one target per sample: y.reshape(-1, 1))"),
    ((8,), (8, 10), " (labels? one-hot encode them: tinynet.datasets.one_hot(y, 10))"),
    ((8, 2), (8, 1), ""),  # two targets per sample, not one to reshape
    ((8, 3), (8, 10), ""),  # three columns, not labels to one-hot encode
])
def test_targets_hint_only_for_targets_of_one_axis(targets, outputs, hint):
    assert targets_hint("y", targets, outputs) == hint


def test_no_rng_is_a_fresh_generator_each_time():
    # Two layers made without an rng draw different numbers, not one fixed stream.
    first, second = generator("Dropout", None), generator("Dropout", None)
    assert first.integers(2**62, size=4).tolist() != second.integers(2**62, size=4).tolist()


def test_an_rng_that_is_not_a_generator_is_shown_in_the_refusal():
    with pytest.raises(TypeError, match=r"^Dense: rng must be a numpy.random.Generator, e.g. "
                                        r"np.random.default_rng\(seed\), or None, got 42$"):
        generator("Dense", 42)


def test_too_large_counts_only_finite_numbers():
    # Infinities and NaN are not made by the conversion: only 1e39 is too large for float32.
    f32 = np.dtype(np.float32)
    assert too_large(np.array([np.inf, 1e39, np.nan]), f32)
    assert not too_large(np.array([np.inf, 1.0, np.nan]), f32)
    assert not too_large(np.array([np.inf, -np.inf, np.nan]), f32)  # no finite number at all
