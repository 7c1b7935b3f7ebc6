"""MNIST as shipped in the package, checked against the published facts; load_mnist on a
folder; checksums; one_hot."""

from __future__ import annotations

import gzip
import re
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import examples

from tinynet.datasets import (
    MNIST_SHA256,
    ChecksumError,
    IDXFormatError,
    load_mnist,
    one_hot,
    read_idx,
    write_idx,
)
from tinynet.datasets.mnist import DATA_DIR

# The facts published with the data (../shared/mnist/README.md).
FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
STEMS = [name.removesuffix(".gz") for name in MNIST_SHA256]


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


@pytest.mark.slow
def test_shipped_mnist_matches_the_published_facts(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert y_train[:10].tolist() == FIRST_TRAIN_LABELS
    assert y_test[:10].tolist() == FIRST_TEST_LABELS
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test, minlength=10).tolist() == TEST_COUNTS
    # Grey levels: background 0, full ink 255, and each image has some ink.
    assert x_train.min() == 0 and x_train.max() == 255
    assert (x_train.reshape(60000, -1).max(axis=1) > 0).all()
    assert x_train.flags.writeable and x_train.flags.c_contiguous


def test_the_package_ships_the_four_files():
    assert sorted(p.name for p in DATA_DIR.glob("*.gz")) == sorted(MNIST_SHA256)
    assert (DATA_DIR / "README.md").is_file()


@pytest.mark.slow
def test_a_folder_of_plain_gzipped_and_renamed_files_loads_the_same(tmp_path, mnist):
    # One of each spelling: gzipped, plain, and Kaggle's dotted names, plain and gzipped.
    shutil.copy(DATA_DIR / "train-images-idx3-ubyte.gz", tmp_path)
    plain = gzip.decompress((DATA_DIR / "train-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(plain)
    shutil.copy(DATA_DIR / "t10k-images-idx3-ubyte.gz", tmp_path / "t10k-images.idx3-ubyte.gz")
    plain = gzip.decompress((DATA_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "t10k-labels.idx1-ubyte").write_bytes(plain)
    for got, want in zip(_flat(load_mnist(tmp_path)), _flat(mnist), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_a_damaged_file_is_named_with_how_to_restore_it(tmp_path):
    for name in MNIST_SHA256:
        shutil.copy(DATA_DIR / name, tmp_path)
    labels = read_idx(DATA_DIR / "t10k-labels-idx1-ubyte.gz")
    labels[123] = (labels[123] + 1) % 10  # valid IDX, one label wrong
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    with pytest.raises(ChecksumError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert MNIST_SHA256["t10k-labels-idx1-ubyte.gz"] in message
    assert f"download_mnist({str(tmp_path)!r})" in message
    # Without verification, the same folder loads, with the damage in it.
    (_, _), (_, y_test) = load_mnist(tmp_path, verify=False)
    assert y_test[123] == labels[123]


def test_damage_to_the_shipped_files_says_how_to_restore_them(tmp_path, monkeypatch):
    # The shipped folder, stood in for by one that holds a wrong first file.
    monkeypatch.setattr("tinynet.datasets.mnist.DATA_DIR", tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ChecksumError) as info:
        load_mnist()
    message = str(info.value)
    assert "git checkout -- tinynet/datasets/data" in message
    assert "from the clone or wheel it was installed from" in message
    assert "pip install --force-reinstall --no-deps PATH" in message
    # By name, pip would fetch whatever a package index calls tinynet.
    assert "--force-reinstall tinynet" not in message
    assert "download_mnist(folder)" in message


def _write_fake_mnist(folder, n_train=5, n_test=3, side=4):
    """Small random IDX files under MNIST's names, two gzipped and two plain."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n_train + n_test, side, side), dtype=np.uint8)
    labels = rng.integers(0, 10, n_train + n_test, dtype=np.uint8)
    write_idx(folder / "train-images-idx3-ubyte.gz", images[:n_train])
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels[:n_train])
    write_idx(folder / "t10k-images-idx3-ubyte", images[n_train:])
    write_idx(folder / "t10k-labels-idx1-ubyte", labels[n_train:])


def test_other_data_is_refused_unless_verify_is_off(tmp_path):
    _write_fake_mnist(tmp_path)
    with pytest.raises(ChecksumError, match=r"train-images-idx3-ubyte\.gz: damaged, or not MNIST"):
        load_mnist(tmp_path)
    (x_train, y_train), (x_test, y_test) = load_mnist(tmp_path, verify=False)
    assert x_train.shape == (5, 4, 4) and y_train.shape == (5,)
    assert x_test.shape == (3, 4, 4) and y_test.shape == (3,)
    np.testing.assert_array_equal(y_test, read_idx(tmp_path / "t10k-labels-idx1-ubyte"))


@pytest.mark.parametrize("file, array, part, shapes", [
    ("train-images-idx3-ubyte.gz", np.zeros((5, 16), np.uint8), "train",  # flat images
     "(5, 16) and (5,)"),
    ("train-labels-idx1-ubyte.gz", np.zeros((5, 1), np.uint8), "train",  # labels a column
     "(5, 4, 4) and (5, 1)"),
    ("train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8), "train",  # 4 labels, 5 images
     "(5, 4, 4) and (4,)"),
    ("t10k-labels-idx1-ubyte", np.zeros(4, np.uint8), "t10k",  # 4 labels, 3 images
     "(3, 4, 4) and (4,)"),
    ("t10k-images-idx3-ubyte", np.zeros((3, 4, 4, 1), np.uint8), "t10k",  # a channel axis
     "(3, 4, 4, 1) and (3,)"),
])
def test_without_verify_each_part_must_be_images_and_labels(tmp_path, file, array, part,
                                                            shapes):
    _write_fake_mnist(tmp_path)
    write_idx(tmp_path / file, array)
    with pytest.raises(ValueError, match=rf"^load_mnist: .*: expected {part} images \(N, H, "
                                         rf"W\) and labels \(N,\) with the same N, found "
                                         rf"shapes {re.escape(shapes)}$"):
        load_mnist(tmp_path, verify=False)


def test_a_folder_under_a_files_name_is_passed_over(tmp_path):
    # Some unzip tools extract train-images-idx3-ubyte.gz into a folder of that name (less
    # .gz), holding the file under Kaggle's dotted name: the file beside it is the one read.
    _write_fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").rename(tmp_path / "t10k-labels.idx1-ubyte")
    (tmp_path / "t10k-labels-idx1-ubyte").mkdir()
    (_, _), (_, y_test) = load_mnist(tmp_path, verify=False)
    np.testing.assert_array_equal(y_test, read_idx(tmp_path / "t10k-labels.idx1-ubyte"))


def test_a_missing_file_says_what_was_looked_for(tmp_path):
    _write_fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path, verify=False)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte.gz, t10k-labels-idx1-ubyte" in message
    assert "download_mnist" in message


def test_path_must_be_a_folder(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match=r"got .*file \(a file\)"):
        load_mnist(tmp_path / "file")
    with pytest.raises(NotADirectoryError, match="nothing there"):
        load_mnist(tmp_path / "missing")


@pytest.mark.parametrize("verify", ["no", 0, 1, None])
def test_verify_must_be_a_bool(tmp_path, verify):
    # Taken as a bool, a truthy string such as "no" would turn verification on.
    _write_fake_mnist(tmp_path)
    with pytest.raises(TypeError, match=f"verify must be True or False, got {verify!r}"):
        load_mnist(tmp_path, verify=verify)


@pytest.mark.parametrize("path", [3, b"/tmp", ["/tmp"]])
def test_path_must_be_a_str_or_a_path(path):
    # pathlib's own TypeError would name neither load_mnist nor the argument.
    with pytest.raises(TypeError, match=r"^load_mnist: path must be a folder \(a str or a "
                                        r"pathlib.Path\) or None, got "):
        load_mnist(path)


def test_a_broken_file_in_a_folder_is_an_idx_format_error(tmp_path):
    _write_fake_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"<html>Not Found</html>")
    with pytest.raises(IDXFormatError, match=r"train-labels-idx1-ubyte\.gz: .*HTML page"):
        load_mnist(tmp_path, verify=False)


def _flat(data):
    (x_train, y_train), (x_test, y_test) = data
    return [x_train, y_train, x_test, y_test]


# ---------------------------------------------------------------------------- one_hot
def test_one_hot_by_hand():
    out = one_hot(np.array([2, 0, 1]), 4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(
        out, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    )


@settings(max_examples=examples(30), deadline=None)
@given(
    data=st.data(),
    num_classes=st.integers(1, 12),
    dtype=st.sampled_from([np.uint8, np.int8, np.int32, np.int64, np.uint64]),
)
def test_one_hot_rows_pick_their_label(data, num_classes, dtype):
    labels = data.draw(
        hnp.arrays(dtype, st.integers(0, 20), elements=st.integers(0, num_classes - 1))
    )
    out = one_hot(labels, num_classes)
    assert out.shape == (len(labels), num_classes) and out.dtype == np.float32
    assert (out.sum(axis=1) == 1).all()
    np.testing.assert_array_equal(out.argmax(axis=1), labels)


def test_one_hot_of_no_labels():
    assert one_hot([], 10).shape == (0, 10)


@pytest.mark.parametrize(
    ("labels", "num_classes", "message"),
    [
        ([0, 10, 3], 10, r"labels must be in \[0, 10\) .* got 10 at index 1"),
        ([1, -1], 10, r"got -1 at index 1"),
        ([0, 12, 3, -1], 10, r"got 12 at index 1$"),  # the first bad label
        ([0.0, 1.5], 10, r"labels must be integers, got dtype float64"),
        ([True, False], 2, r"labels must be integers, got dtype bool"),
        ([[0, 1]], 2, r"labels must be 1-D, shape \(N,\), got shape \(1, 2\)"),
        (3, 10, r"labels must be 1-D, shape \(N,\), got shape \(\)"),  # one label alone
        ([0, 1], 0, r"num_classes must be an int >= 1, got 0"),
        ([0, 1], 2.0, r"num_classes must be an int >= 1, got 2.0"),
        ([0, 1], True, r"num_classes must be an int >= 1, got True"),
    ],
)
def test_one_hot_rejects_bad_input(labels, num_classes, message):
    with pytest.raises(ValueError, match=message):
        one_hot(labels, num_classes)


def test_keras_load_data_gets_tinynets_way():
    # "from keras.datasets import mnist; mnist.load_data()", ported from memory.
    from tinynet.datasets import mnist
    with pytest.raises(AttributeError, match=r"no attribute 'load_data', Keras's name: "
                                             r"tinynet\.datasets\.load_mnist\(\) returns"):
        mnist.load_data()
    with pytest.raises(AttributeError, match=r"^module 'tinynet.datasets.mnist' has no "
                                             r"attribute 'load_dta'$"):
        mnist.load_dta  # noqa: B018 (the attribute's lookup is what is tested)
