"""Saving and loading models: round trips, the file format, refused files, atomic saves."""

from __future__ import annotations

import ast
import io
import json
import os
import pickle
import re
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinynet
from tinynet.io import FORMAT_VERSION, JSON_KEY, ModelFormatError, load_model, save_model
from tinynet.layers import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    RandomShift,
    ReLU,
    Softmax,
    Tanh,
)
from tinynet.losses import MSE, CrossEntropy
from tinynet.model import Sequential
from tinynet.optim import SGD, Adam, RMSprop


def make_data(n: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2, 3)).astype(np.float32)  # (N, 2, 3), flattened by the model
    y = rng.integers(0, 3, size=n)
    return x, y


def make_model(optimizer=None, seed: int = 3, compiled: bool = True) -> Sequential:
    model = Sequential([Flatten(), Dense(6, 10, b_init="ones"), ReLU(), Dropout(0.25),
                        Dense(10, 3), Softmax()], seed=seed)
    if compiled:
        model.compile("sparse_categorical_crossentropy", optimizer or Adam(lr=0.01))
    return model


def trained_model(optimizer=None) -> tuple[Sequential, np.ndarray, np.ndarray]:
    x, y = make_data()
    model = make_model(optimizer)
    model.fit(x, y, epochs=2, batch_size=16, validation_data=(x[:8], y[:8]), verbose=0)
    return model, x, y


def read_archive(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    doc = json.loads(arrays.pop(JSON_KEY).tobytes().decode("utf-8"))
    return doc, arrays


def write_archive(path: Path, doc: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write a hand-edited archive, as a damaged or hostile file would look."""
    payload = np.frombuffer(json.dumps(doc).encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays, **{JSON_KEY: payload})
    return path


# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("optimizer", [Adam(lr=0.01), SGD(lr=0.05, momentum=0.9, nesterov=True),
                                       RMSprop(lr=0.01), SGD(lr=0.1)],
                         ids=["adam", "sgd-nesterov", "rmsprop", "sgd-plain"])
def test_round_trip_gives_identical_predictions_and_state(tmp_path, optimizer):
    model, x, y = trained_model(optimizer)
    path = save_model(model, tmp_path / "model.npz")
    loaded = load_model(path)

    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert loaded.seed == model.seed
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert loaded.layers[3].rate == 0.25
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6
    assert loaded.steps_trained == model.steps_trained == 6
    params_a = [p for p, _ in loaded.parameters()]
    params_b = [p for p, _ in model.parameters()]
    for sa, sb in zip(loaded.optimizer.get_state(params_a), model.optimizer.get_state(params_b),
                      strict=True):
        assert sa.keys() == sb.keys()
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k])
    assert loaded.loss.get_config() == model.loss.get_config()
    assert [name for name, _ in loaded.metrics] == ["accuracy"]
    assert loaded.history.history == model.history.history
    assert loaded.history.epoch == [0, 1]
    assert loaded.evaluate(x, y) == model.evaluate(x, y)


# Loss and optimiser with every argument away from its default, and the model they train.
EVERY_ARGUMENT = [
    (CrossEntropy, {"reduction": "sum"},
     SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}, True),
    (CrossEntropy, {"from_logits": True}, RMSprop, {"lr": 0.002, "rho": 0.8, "eps": 1e-6}, False),
    (MSE, {"reduction": "sum"},
     Adam, {"lr": 0.003, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}, True),
]


@pytest.mark.parametrize("loss_type, loss_args, optimizer_type, optimizer_args, softmax",
                         EVERY_ARGUMENT, ids=["sgd", "rmsprop", "adam"])
def test_every_constructor_argument_survives_the_round_trip(
        tmp_path, loss_type, loss_args, optimizer_type, optimizer_args, softmax):
    # Each argument is compared with the value written here, not with the saved model's own
    # get_config(): a value that get_config leaves out would be missing from both.
    rng = np.random.default_rng(0)
    x = rng.random((8, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, size=8)
    if loss_type is MSE:
        y = np.eye(3, dtype=np.float32)[y]
    # 6x6 -> "same" with stride (2, 1): 3x6 -> pool (2, 1), stride 1: 2x6, 2 channels: 24.
    layers = [RandomShift(2),
              Conv2D(1, 2, (3, 2), stride=(2, 1), padding="same", W_init="he_normal",
                     b_init="ones"),
              ReLU(), MaxPool2D((2, 1), stride=(1, 1)), Dropout(0.3), Flatten(),
              Dense(24, 3, W_init="glorot_normal", b_init="ones")]
    model = Sequential(layers + [Softmax()] * softmax, seed=1)
    model.compile(loss_type(**loss_args), optimizer_type(**optimizer_args))
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    loaded = load_model(model.save(tmp_path / "every"))

    shift, conv, _, pool, dropout, _, dense = loaded.layers[:7]
    assert shift.max_shift == 2
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
            conv.W_init, conv.b_init) == (1, 2, (3, 2), (2, 1), "same", "he_normal", "ones")
    assert (pool.pool_size, pool.stride) == ((2, 1), (1, 1))
    assert dropout.rate == 0.3
    assert (dense.in_features, dense.out_features, dense.W_init, dense.b_init) == (
        24, 3, "glorot_normal", "ones")
    assert isinstance(loaded.layers[-1], Softmax) == softmax
    assert type(loaded.loss) is loss_type
    for name, value in {"reduction": "mean", **loss_args}.items():
        assert getattr(loaded.loss, name) == value, name
    assert type(loaded.optimizer) is optimizer_type
    for name, value in optimizer_args.items():
        assert getattr(loaded.optimizer, name) == value, name
    assert loaded.input_shape == (6, 6, 1)
    # And the loaded model trains on exactly as the one it was saved from.
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    for m in (model, loaded):
        m.fit(x, y, epochs=1, batch_size=4, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_uncompiled_model_round_trips_without_optimizer(tmp_path):
    model = make_model(compiled=False)
    x, _ = make_data()
    path = save_model(model, tmp_path / "fresh.npz")
    doc, arrays = read_archive(path)
    assert doc["compile"] is None and doc["history"] is None
    assert not any(k.startswith("opt.") for k in arrays)
    loaded = load_model(path)
    assert loaded.loss is None and loaded.optimizer is None
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_float64_model_keeps_its_dtype(tmp_path):
    model = Sequential([Dense(4, 3, dtype=np.float64), Tanh()], seed=0)
    model.compile("mse", "sgd")
    loaded = load_model(save_model(model, tmp_path / "f64.npz"))
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded.layers[0].params["W"], model.layers[0].params["W"])


@pytest.mark.parametrize("make", [lambda dtype: Dense(4, 3, dtype=dtype),
                                  lambda dtype: Conv2D(1, 3, 2, dtype=dtype)],
                         ids=["Dense", "Conv2D"])
def test_a_big_endian_dtype_gives_a_model_that_loads(tmp_path, make):
    # The file names a dtype without its byte order: the layer computes in the machine's own,
    # so what it saves is what a loaded layer holds.
    layer = make(np.dtype(">f8"))
    assert layer.dtype == np.float64 and layer.params["W"].dtype.isnative
    model = Sequential([layer], seed=0)
    loaded = load_model(save_model(model, tmp_path / "big.npz"))
    np.testing.assert_array_equal(loaded.layers[0].params["W"], layer.params["W"])


def test_a_save_over_the_file_while_it_loads_leaves_the_load_all_of_one_file(tmp_path,
                                                                            monkeypatch):
    # A notebook loads last.npz while a ModelCheckpoint renames a new one over it: the
    # description is read before the arrays, which must come from the same file.
    first, x, _ = trained_model(Adam())
    path = save_model(first, tmp_path / "last.npz")
    second = make_model(Adam())
    second.fit(x, make_data()[1], epochs=4, batch_size=16, verbose=0)  # other weights, steps
    read_arrays, calls = tinynet.io._read_arrays, []

    def renamed_over_between_reads(*args):
        calls.append(args)
        if len(calls) == 2:  # the description read, not yet the arrays
            save_model(second, path)
        return read_arrays(*args)

    monkeypatch.setattr(tinynet.io, "_read_arrays", renamed_over_between_reads)
    loaded = load_model(path)
    assert len(calls) == 2
    assert loaded.steps_trained == first.steps_trained != second.steps_trained
    np.testing.assert_array_equal(loaded.predict(x), first.predict(x))
    assert loaded.optimizer.iterations == first.optimizer.iterations
    for (p, _), (q, _) in zip(loaded.parameters(), first.parameters(), strict=True):
        np.testing.assert_array_equal(loaded.optimizer.state(p)["v"], first.optimizer.state(q)["v"])
    monkeypatch.undo()
    assert load_model(path).steps_trained == second.steps_trained  # the new file, once done


def test_sequential_save_uses_this_format(tmp_path):
    model, x, _ = trained_model()
    model.save(tmp_path / "via_method.npz")
    np.testing.assert_array_equal(load_model(tmp_path / "via_method.npz").predict(x),
                                  model.predict(x))


@pytest.mark.parametrize("name", ["net", "net.model"])
def test_path_without_npz_suffix_gets_it_appended_and_loads_back(tmp_path, name):
    model, x, _ = trained_model()
    written = save_model(model, tmp_path / name)
    assert written == tmp_path / (name + ".npz")
    assert sorted(os.listdir(tmp_path)) == [name + ".npz"]
    # Both the name given to save and the file written load.
    for p in (tmp_path / name, written, str(written)):
        np.testing.assert_array_equal(load_model(p).predict(x), model.predict(x))


def test_npz_suffix_in_capitals_is_kept(tmp_path):
    # As the command line reads it ("evaluate M.NPZ"): not written as M.NPZ.npz.
    model, x, _ = trained_model()
    assert save_model(model, tmp_path / "M.NPZ") == tmp_path / "M.NPZ"
    assert sorted(os.listdir(tmp_path)) == ["M.NPZ"]
    np.testing.assert_array_equal(load_model(tmp_path / "M.NPZ").predict(x), model.predict(x))
    # A file saved before, by that name, as M.NPZ.npz, still loads by it.
    os.replace(tmp_path / "M.NPZ", tmp_path / "old.NPZ.npz")
    np.testing.assert_array_equal(load_model(tmp_path / "old.NPZ").predict(x), model.predict(x))


@pytest.mark.parametrize("path, error, match", [
    (None, TypeError, r"path must be a str or os.PathLike, got None"),
    (3, TypeError, r"path must be a str or os.PathLike, got 3"),
    ("", ValueError, r"path must name a file, got ''"),
    (".", ValueError, r"path must name a file, got '.'"),
    ("..", ValueError, r"path must name a file, got '\.\.'"),
])
def test_a_path_that_names_no_file_is_refused_by_save_and_load(path, error, match):
    model = Sequential([Dense(2, 2)], seed=0)
    for call in (lambda: save_model(model, path), lambda: load_model(path)):
        with pytest.raises(error, match=match):
            call()


@pytest.mark.parametrize("suffix", ["", "/"])
def test_save_refuses_a_folder_instead_of_writing_a_file_beside_it(tmp_path, suffix):
    # Unrefused, save("runs") with runs/ a folder would write runs.npz beside it, which
    # load_model("runs") would then refuse as a folder; "runs/" would write runs.npz too, not
    # a file in runs/.
    (tmp_path / "runs").mkdir()
    model = Sequential([Dense(2, 2)], seed=0)
    folder = str(tmp_path / "runs") + suffix
    with pytest.raises(ValueError, match=rf"path must name a file, got the folder "
                                         rf"'{re.escape(folder)}' \(to save in it: "
                                         rf"'{re.escape(str(tmp_path / 'runs' / 'model.npz'))}'\)"):
        save_model(model, folder)
    assert sorted(os.listdir(tmp_path)) == ["runs"] and not os.listdir(tmp_path / "runs")


def test_save_refuses_a_parameter_of_another_dtype_than_its_layers(tmp_path):
    # Put in by layer.params["W"] = array (float64, NumPy's default), it trains and
    # predicts; saved, it would make a file that load_model refuses.
    model = Sequential([Dense(2, 3), ReLU(), Dense(3, 2)], seed=0)
    model.layers[2].params["W"] = np.ones((3, 2))
    with pytest.raises(ValueError, match=re.escape(
            "cannot save layers[2] (Dense): its params['W'] is float64, but the layer is "
            "float32, as load_model would build it: convert it, params['W'] = "
            "params['W'].astype(np.float32) (model.set_weights(...) copies weights into the "
            "layer's own arrays, in their dtype)")):
        save_model(model, tmp_path / "m.npz")
    assert not os.listdir(tmp_path)
    params = model.layers[2].params
    params["W"] = params["W"].astype(np.float32)  # as the message says
    np.testing.assert_array_equal(load_model(save_model(model, tmp_path / "m.npz")).predict(
        np.ones((1, 2))), model.predict(np.ones((1, 2))))


def test_saving_again_replaces_the_file(tmp_path):
    model, x, y = trained_model()
    path = save_model(model, tmp_path / "m.npz")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    save_model(model, path)
    assert load_model(path).optimizer.iterations == 9
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


# ------------------------------------------------------------------------------ the format
def test_file_is_plain_npz_with_json_description(tmp_path):
    model, _, _ = trained_model(Adam(lr=0.01))
    doc, arrays = read_archive(save_model(model, tmp_path / "m.npz"))
    assert doc["format"] == "tinynet.model"
    # The version the module docstring documents, which every tinynet so far reads: raised,
    # it makes older tinynets refuse the file, so only with a layout they would misread.
    assert doc["format_version"] == 1 and FORMAT_VERSION == 2
    assert doc["tinynet_version"] == tinynet.__version__
    assert doc["seed"] == 3
    assert doc["input_shape"] == [2, 3]
    assert [e["class"] for e in doc["layers"]] == ["Flatten", "Dense", "ReLU", "Dropout",
                                                    "Dense", "Softmax"]
    assert doc["layers"][1]["config"] == {"in_features": 6, "out_features": 10,
                                          "W_init": "glorot_uniform", "b_init": "ones",
                                          "dtype": "float32"}
    assert doc["compile"]["loss"] == {"class": "CrossEntropy",
                                      "config": {"from_logits": False, "reduction": "mean"}}
    assert doc["compile"]["optimizer"] == {
        "class": "Adam", "config": {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7},
        "iterations": 6}
    assert doc["compile"]["metrics"] == ["accuracy"]
    assert set(doc["history"]["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert sorted(arrays) == sorted(
        ["layer1.W", "layer1.b", "layer4.W", "layer4.b"]
        + [f"opt.{j}.{s}" for j in range(4) for s in ("m", "v")]
    )
    np.testing.assert_array_equal(arrays["layer4.W"], model.layers[4].params["W"])
    assert all(a.dtype != object for a in arrays.values())


# ------------------------------------------------------------------------------- refusals
@pytest.fixture
def saved(tmp_path) -> tuple[Path, dict, dict[str, np.ndarray]]:
    model, _, _ = trained_model()
    path = save_model(model, tmp_path / "good.npz")
    doc, arrays = read_archive(path)
    return path, doc, arrays


def refused(path: Path, match: str) -> ModelFormatError:
    with pytest.raises(ModelFormatError, match=match) as info:
        load_model(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)  # the message names the file
    return info.value


def test_refuses_pickled_object_array_inside_the_archive(tmp_path, saved):
    _, _, arrays = saved
    path = tmp_path / "hostile.npz"
    # np.savez pickles object arrays; a model file must never make us unpickle.
    arrays["layer1.W"] = np.array([{"a": 1}, None], dtype=object)
    with open(path, "wb") as f:
        np.savez(f, **arrays, **{JSON_KEY: np.frombuffer(b"{}", dtype=np.uint8)})
    refused(path, "pickled Python objects")


def test_save_and_load_never_pickle(tmp_path, monkeypatch):
    # np.save and np.load go through these for object arrays; saving a model with its
    # optimiser state, history and metadata, and loading it back, must not need them.
    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used")

    for name in ("dump", "dumps", "load", "loads"):
        monkeypatch.setattr(pickle, name, refuse)
    model, x, _ = trained_model(SGD(lr=0.05, momentum=0.9))
    model.metadata = {"note": "no pickle"}
    loaded = load_model(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.metadata == {"note": "no pickle"}


def test_tinynet_source_never_pickles():
    # Every np.load says allow_pickle=False, and no module imports a pickling library.
    found = []
    for path in sorted(Path(tinynet.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                           else [node.module or ""])
                found += [f"{where} imports {m}" for m in modules
                          if m.split(".")[0] in ("pickle", "dill", "joblib", "shelve")]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr == "load" and isinstance(node.func.value, ast.Name)
                  and node.func.value.id in ("np", "numpy")):
                flag = [k.value for k in node.keywords if k.arg == "allow_pickle"]
                if not (flag and isinstance(flag[0], ast.Constant) and flag[0].value is False):
                    found.append(f"{where} np.load without allow_pickle=False")
    assert found == []


def test_steps_trained_survives_recompiling_and_older_files_count_the_optimisers(tmp_path):
    # The count fit's random streams are named by: kept when the optimiser starts afresh.
    model, x, y = trained_model()
    model.compile("sparse_categorical_crossentropy", SGD(lr=0.01))  # iterations back to 0
    loaded = load_model(save_model(model, tmp_path / "recompiled.npz"))
    assert (loaded.steps_trained, loaded.optimizer.iterations) == (6, 0)
    # A file written before models kept the count: fit's steps were the optimiser's.
    doc, arrays = read_archive(save_model(trained_model()[0], tmp_path / "model.npz"))
    del doc["steps_trained"]
    assert load_model(write_archive(tmp_path / "old.npz", doc, arrays)).steps_trained == 6
    doc["steps_trained"] = -1
    refused(write_archive(tmp_path / "bad.npz", doc, arrays), "'steps_trained' must be >= 0")


UNPICKLED = []


class RecordsItsUnpickling:
    """Unpickled, it would call _record_unpickling: a file's code running."""

    def __reduce__(self):
        return _record_unpickling, ()


def _record_unpickling():
    UNPICKLED.append(True)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_refuses_a_pickle_file(tmp_path, protocol):
    # Every protocol since 2 starts with PROTO (0x80) and its number: refused as a pickle
    # by that byte alone, whichever number follows, without unpickling anything.
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps({"W": RecordsItsUnpickling()}, protocol=protocol))
    refused(path, "pickled Python objects")
    assert UNPICKLED == []


@pytest.mark.parametrize("keep", [0.5, 0.9, -1])
def test_refuses_a_truncated_file(tmp_path, saved, keep):
    good, _, _ = saved
    data = good.read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(data[:int(len(data) * keep)] if keep > 0 else data[:keep])
    error = refused(path, "truncated or damaged")
    # Were the file np.load opens not closed when the archive fails to open, it would stay
    # open as long as the error lives (in a notebook, sys.last_value keeps it), a file that
    # Windows then refuses to replace or delete.
    if os.path.isdir("/proc/self/fd"):
        opened = [os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")]
        assert str(path.resolve()) not in opened
    del error


def test_refuses_a_compressed_archive_whose_data_is_damaged(tmp_path, saved):
    # An archive of np.savez_compressed loads (tinynet writes np.savez's); damaged deflated
    # data fails with zlib.error, not BadZipFile, and is refused as damaged all the same.
    _, doc, arrays = saved
    path = tmp_path / "z.npz"
    payload = np.frombuffer(json.dumps(doc).encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays, **{JSON_KEY: payload})
    assert load_model(path).seed == doc["seed"]
    with zipfile.ZipFile(path) as archive:
        at = archive.getinfo(f"{JSON_KEY}.npy").header_offset
    data = bytearray(path.read_bytes())
    name_size, extra_size = struct.unpack("<HH", data[at + 26:at + 30])  # local file header
    data[at + 30 + name_size + extra_size] |= 0b110  # block type 3, which deflate reserves
    path.write_bytes(data)
    refused(path, r"truncated or damaged \(Error -3 while decompressing data: invalid block")


def test_loading_a_folder_says_it_is_one(tmp_path):
    (tmp_path / "runs").mkdir()
    with pytest.raises(IsADirectoryError, match=r"runs is a folder, not a model file$"):
        load_model(tmp_path / "runs")
    (tmp_path / "net.npz").mkdir()  # load_model("net") reads net.npz: "[Errno 21]" before
    with pytest.raises(IsADirectoryError, match=r"net\.npz is a folder, not a model file$"):
        load_model(tmp_path / "net")


@pytest.mark.parametrize(("content", "match"), [
    (b"", "empty"),
    (b"hello, this is text\n", "not an .npz archive"),
    (b"\x93NUMPY\x01\x00", "single .npy array"),
])
def test_refuses_files_that_are_not_npz(tmp_path, content, match):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    refused(path, match)


def test_refuses_npz_of_plain_arrays(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, W=np.zeros((2, 2)))
    refused(path, "not a tinynet model")


def test_refuses_other_json_formats(tmp_path, saved):
    _, doc, arrays = saved
    doc["format"] = "kerasish"
    refused(write_archive(tmp_path / "f.npz", doc, arrays), "format is 'kerasish'")


def test_refuses_a_description_that_is_not_a_json_object(tmp_path, saved):
    _, doc, arrays = saved
    refused(write_archive(tmp_path / "l.npz", [doc], arrays),
            r"not a tinynet model: format is 'list', expected 'tinynet\.model'")


def test_refuses_unknown_layer_type(tmp_path, saved):
    _, doc, arrays = saved
    doc["layers"][2]["class"] = "Conv3D"
    refused(write_archive(tmp_path / "u.npz", doc, arrays), "unknown layer type 'Conv3D'")


@pytest.mark.parametrize("name", ["softmax", "Sequential", "_private", "np"])
def test_refuses_names_of_tinynet_layers_module_that_are_not_layers(tmp_path, saved, name):
    _, doc, arrays = saved
    doc["layers"][2]["class"] = name
    refused(write_archive(tmp_path / "u.npz", doc, arrays), "unknown layer type")


def test_refuses_a_private_layer_class_of_tinynet_layers_module(tmp_path, saved, monkeypatch):
    # Only public names are rebuilt: a helper class the module keeps private is no layer a
    # file may name. tinynet.layers has none today, so the test puts one there.
    class _Helper(ReLU):
        pass

    monkeypatch.setattr(tinynet.layers, "_Helper", _Helper, raising=False)
    _, doc, arrays = saved
    assert doc["layers"][2]["class"] == "ReLU"
    doc["layers"][2]["class"] = "_Helper"
    refused(write_archive(tmp_path / "p.npz", doc, arrays), "unknown layer type '_Helper'")


@pytest.mark.parametrize("part, name", [("loss", "Any"), ("optimizer", "Iterable")])
def test_refuses_names_of_the_loss_and_optimizer_modules_that_are_not_such_classes(
        tmp_path, saved, part, name):
    # Classes those modules import for their annotations: a name is rebuilt only when it is a
    # Loss or an Optimizer, else it is unknown (not "cannot build Any(**{...})").
    _, doc, arrays = saved
    doc["compile"][part]["class"] = name
    refused(write_archive(tmp_path / "n.npz", doc, arrays), f"unknown {part} type '{name}'")


@pytest.mark.parametrize("part, name", [("layer", "Layer"), ("loss", "Loss"),
                                        ("optimizer", "Optimizer")])
def test_refuses_the_base_classes_which_are_no_type_of_their_own(tmp_path, saved, part, name):
    # Layer() builds, and then has no forward: loaded, predict would fail with
    # NotImplementedError.
    _, doc, arrays = saved
    entry = doc["layers"][2] if part == "layer" else doc["compile"][part]
    entry["class"], entry["config"] = name, {}
    refused(write_archive(tmp_path / "b.npz", doc, arrays), f"unknown {part} type '{name}'")


def test_refuses_unknown_optimizer_type(tmp_path, saved):
    _, doc, arrays = saved
    doc["compile"]["optimizer"]["class"] = "Lion"
    refused(write_archive(tmp_path / "o.npz", doc, arrays), "unknown optimizer type 'Lion'")


def test_refuses_bad_layer_config(tmp_path, saved):
    _, doc, arrays = saved
    doc["layers"][3]["config"] = {"rate": 2.0}
    refused(write_archive(tmp_path / "c.npz", doc, arrays), r"cannot build Dropout")


def test_refuses_newer_format_version(tmp_path, saved):
    _, doc, arrays = saved
    doc["format_version"] = FORMAT_VERSION + 1
    doc["tinynet_version"] = "9.1.0"
    err = refused(write_archive(tmp_path / "v.npz", doc, arrays), r"newer tinynet \(9\.1\.0\)")
    assert f"up to version {FORMAT_VERSION}" in str(err)


def test_refuses_array_of_wrong_shape(tmp_path, saved):
    _, doc, arrays = saved
    arrays["layer4.W"] = np.zeros((10, 4), dtype=np.float32)
    refused(write_archive(tmp_path / "s.npz", doc, arrays),
            r"'layer4.W' has shape \(10, 4\), but the architecture needs \(10, 3\)")


def test_refuses_architecture_that_does_not_match_the_arrays(tmp_path, saved):
    _, doc, arrays = saved
    doc["layers"][4]["config"]["out_features"] = 5
    refused(write_archive(tmp_path / "a.npz", doc, arrays), "'layer4.W' has shape")


def test_refuses_optimizer_state_of_wrong_shape(tmp_path, saved):
    _, doc, arrays = saved
    arrays["opt.1.v"] = np.zeros(3, dtype=np.float32)
    refused(write_archive(tmp_path / "s.npz", doc, arrays), "'opt.1.v' has shape")


def test_a_frozen_layer_stays_frozen_when_saved_and_loaded(tmp_path):
    model, x, y = trained_model()
    i = next(i for i, layer in enumerate(model.layers) if layer.params)  # after Flatten
    model.layers[i].trainable = False
    loaded = load_model(save_model(model, tmp_path / "frozen.npz"))
    assert [layer.trainable for layer in loaded.layers] == [
        layer.trainable for layer in model.layers]
    assert not loaded.layers[i].trainable and loaded.layers[-2].trainable
    frozen = {k: p.copy() for k, p in loaded.layers[i].params.items()}
    # Both go on training the same way: the frozen layer is still frozen after loading.
    for m in (model, loaded):
        m.fit(x, y, epochs=3, batch_size=16, verbose=0, initial_epoch=2)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for k, p in loaded.layers[i].params.items():
        np.testing.assert_array_equal(p, frozen[k])


def test_a_model_with_a_frozen_layer_is_format_version_2(tmp_path):
    # Version 1's readers would train the frozen layer: version 2 makes them refuse the file.
    model, _, _ = trained_model()
    i = next(i for i, layer in enumerate(model.layers) if layer.params)
    model.layers[i].trainable = False
    doc, _ = read_archive(save_model(model, tmp_path / "frozen.npz"))
    assert doc["format_version"] == 2 and doc["layers"][i]["trainable"] is False
    assert not load_model(tmp_path / "frozen.npz").layers[i].trainable
    model.layers[i].trainable = True
    doc, _ = read_archive(save_model(model, tmp_path / "unfrozen.npz"))
    assert doc["format_version"] == 1 and "trainable" not in doc["layers"][i]


def test_refuses_a_trainable_that_is_not_a_bool(tmp_path, saved):
    _, doc, arrays = saved
    doc["layers"][0]["trainable"] = "no"
    refused(write_archive(tmp_path / "t.npz", doc, arrays),
            r"layers\[0\]: 'trainable' must be a JSON bool, got 'no'")


def test_refuses_a_negative_mean_of_squares_in_the_optimizer_state(tmp_path, saved):
    # Adam's v is a running mean of squared gradients: loaded negative, it would make the
    # next step's square root NaN, and the training diverge at once.
    _, doc, arrays = saved
    arrays["opt.1.v"] = arrays["opt.1.v"].copy()
    arrays["opt.1.v"][:2] = -1.0
    refused(write_archive(tmp_path / "v.npz", doc, arrays),
            r"compile\.optimizer: Adam\(.*\): state 'v' has negative values \(2 of 10\), expected "
            r"values >= 0 \(a mean of squared gradients\)")


def test_refuses_array_of_wrong_dtype(tmp_path, saved):
    _, doc, arrays = saved
    arrays["layer1.b"] = arrays["layer1.b"].astype(np.float64)
    refused(write_archive(tmp_path / "d.npz", doc, arrays), "'layer1.b' has dtype float64")


@pytest.mark.parametrize("key", ["layer1.b", "opt.3.m"])
def test_refuses_missing_arrays(tmp_path, saved, key):
    _, doc, arrays = saved
    del arrays[key]
    refused(write_archive(tmp_path / "m.npz", doc, arrays), f"'{key}'.*missing")


def test_a_description_of_many_large_layers_without_their_arrays_is_refused_at_the_first(
        tmp_path, saved):
    # A few hundred bytes of JSON may describe gigabytes of layers: building stops at the
    # first layer past what the file's arrays could fill, so only it is ever allocated.
    _, doc, _ = saved
    doc["layers"] = [{"class": "Dense", "config": {"in_features": 1000,
                                                   "out_features": 1000}}] * 200  # 800 MB
    doc.pop("compile")
    tiny = {f"layer{i}.{name}": np.zeros(1, np.float32) for i in range(200) for name in "Wb"}
    for arrays, match in (({}, r"layers\[0\]: the layers up to this one have 4,004,000 "
                               r"bytes of parameters, more than the file's arrays \(\d+ "
                               r"bytes\) could fill$"),
                          (tiny, r"layers\[\d\]: the layers up to this one have [\d,]+ bytes "
                                 r"of parameters, more than the file's arrays")):
        path = write_archive(tmp_path / "big.npz", doc, arrays)
        tracemalloc.start()
        try:
            refused(path, match)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 50e6, peak  # one layer of 4 MB, drawn in float64 first


def test_refuses_extra_arrays(tmp_path, saved):
    _, doc, arrays = saved
    arrays["layer9.W"] = np.zeros(2, dtype=np.float32)
    arrays["layer9.b"] = np.zeros(2, dtype=np.float32)
    refused(write_archive(tmp_path / "e.npz", doc, arrays),
            r"unexpected arrays \['layer9\.W', 'layer9\.b'\]")


def _npy_bytes(a: np.ndarray, shape: tuple[int, ...] | None = None) -> bytes:
    """``a`` as a .npy file, whose header gives ``shape`` (by default a's own)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {
        "descr": np.lib.format.dtype_to_descr(a.dtype), "fortran_order": False,
        "shape": a.shape if shape is None else shape})
    return buffer.getvalue() + a.tobytes()


def rewrite_members(path: Path, change) -> None:
    """Write the archive at ``path`` again, each member's bytes replaced by
    ``change(name, data)``."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, change(name, data))


def test_refuses_an_extra_array_without_reading_it(tmp_path, saved):
    # Its data is damaged: refused as unexpected, it is never decompressed (a member of
    # hundreds of MB compresses to a few hundred KB).
    path, _, _ = saved
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("extra.npy", _npy_bytes(np.zeros(10**5)))
    with open(path, "r+b") as f:  # damage the middle of extra.npy's compressed data
        data = f.read()
        at = data.index(b"extra.npy") + 200
        f.seek(at)
        f.write(bytes(b ^ 0xFF for b in data[at:at + 8]))
    refused(path, r"unexpected arrays \['extra'\]")


def test_refuses_a_header_that_promises_more_data_than_the_file_holds(tmp_path, saved):
    # A shape of 10**12 in a file of a few KB: np.load allocated it before reading.
    _, doc, arrays = saved
    path = write_archive(tmp_path / "h.npz", doc, arrays)
    rewrite_members(path, lambda name, data: _npy_bytes(arrays["layer1.W"], shape=(10**12,))
                    if name == "layer1.W.npy" else data)
    refused(path, r"the archive is damaged: array 'layer1\.W' has a header for "
                  r"\(1000000000000,\) float32 \(4,000,000,000,000 bytes\), but 240 bytes")


def test_loads_arrays_whose_npy_headers_are_version_2(tmp_path, saved):
    # NumPy writes version 2.0 headers for arrays whose header outgrows 64 KiB (a structured
    # dtype of many fields); any .npy reader must take them.
    path, _, _ = saved
    before = load_model(path)

    def as_version_2(name, data):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.load(io.BytesIO(data)), version=(2, 0))
        return buffer.getvalue()

    rewrite_members(path, as_version_2)
    with zipfile.ZipFile(path) as archive:
        assert archive.read("layer1.W.npy")[6:8] == b"\x02\x00"
    for w, w0 in zip(load_model(path).get_weights(), before.get_weights(), strict=True):
        np.testing.assert_array_equal(w, w0)


def test_refuses_an_array_followed_by_more_bytes_than_its_header_gives(tmp_path, saved):
    path, _, _ = saved
    rewrite_members(path, lambda name, data: data + b"\0" * 4 if name == "layer1.b.npy"
                    else data)
    refused(path, r"the archive is damaged: array 'layer1\.b' has a header for \(10,\) "
                  r"float32 \(40 bytes\), but 44 bytes of data")


def test_refuses_an_entry_compressed_by_a_method_zipfile_does_not_know(tmp_path, saved):
    # Method 97 (WavPack): refused as any method NumPy does not write, before zipfile would
    # raise NotImplementedError, which names no file.
    path, _, _ = saved
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # local, central
        at = data.index(signature)
        data[at + offset:at + offset + 2] = struct.pack("<H", 97)
    path.write_bytes(data)
    refused(path, r"entry '[\w.]+' is compressed by method 97, expected stored or deflated")


@pytest.mark.parametrize("damage", ["directory offset", "encrypted flag"])
def test_refuses_an_archive_whose_directory_is_damaged(tmp_path, saved, damage):
    # zipfile raises OSError ("Invalid argument", a seek before the file's start) for the
    # first and RuntimeError ("password required") for the second, which would name no file.
    path, _, _ = saved
    data = bytearray(path.read_bytes())
    if damage == "directory offset":
        at = data.rindex(b"PK\x05\x06") + 16  # the end record's offset of the directory
        data[at:at + 4] = struct.pack("<I", struct.unpack_from("<I", data, at)[0] + 1000)
    else:
        data[data.index(b"PK\x01\x02") + 8] |= 1  # the first entry's "encrypted" bit
    path.write_bytes(data)
    refused(path, r"the archive is truncated or damaged \(")


@pytest.mark.parametrize("opens", ["numpy.load", "zipfile.ZipFile"])
def test_an_archive_that_cannot_be_opened_is_a_permission_error_not_a_damaged_file(
        saved, monkeypatch, opens):
    # Windows refuses to open a file another program holds (an antivirus, a sync client),
    # here between load_model's first look and its reading of the headers or of the arrays:
    # a PermissionError, which is an OSError, but says nothing of what the file holds.
    path, _, _ = saved

    def locked(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(opens, locked)
    with pytest.raises(PermissionError, match="Permission denied"):
        load_model(path)


@pytest.mark.filterwarnings("ignore:Duplicate name")  # zipfile's, writing layer1.W.npy again
@pytest.mark.parametrize("name", ["layer1.W", "layer1.W.npy"])
def test_refuses_an_array_written_twice(tmp_path, saved, name):
    # np.load reads "layer1.W" rather than "layer1.W.npy" when both are there: the array
    # read would not be the one whose header was checked (here int64, silently cast; or a
    # size the header check never saw).
    path, _, _ = saved
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(name, _npy_bytes(np.zeros((6, 10), np.int64)))
    refused(path, r"the archive holds array 'layer1\.W' twice")


def test_refuses_an_entry_that_is_not_an_npy_array(tmp_path, saved):
    # np.load returns such an entry as bytes, which would then fail with AttributeError.
    path, _, _ = saved
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("notes.npy", b"hi")
    refused(path, r"entry 'notes\.npy' is not a \.npy array of numbers")


def test_refuses_a_description_nested_too_deeply(tmp_path, saved):
    _, doc, arrays = saved
    path = tmp_path / "deep.npz"
    text = json.dumps(doc)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with open(path, "wb") as f:  # not a RecursionError
        np.savez(f, **arrays, **{JSON_KEY: np.frombuffer(text.encode(), dtype=np.uint8)})
    refused(path, "nested too deeply")


def test_refuses_layer_sizes_too_large_to_build(tmp_path, saved):
    # Sizes no memory holds (4e16 floats): a MemoryError traceback from the CLI before.
    _, doc, arrays = saved
    doc["layers"][1]["config"].update(in_features=10**8, out_features=10**8)
    refused(write_archive(tmp_path / "big.npz", doc, arrays), "too large to build")


def test_refuses_layer_sizes_too_large_for_the_models_second_draw(tmp_path, saved,
                                                                   monkeypatch):
    # Sizes that memory holds once but not twice: the model redraws the layers' weights
    # from its seed, and a MemoryError there would escape bare.
    path, _, _ = saved

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 1.49 GiB")

    monkeypatch.setattr(tinynet.io, "Sequential", out_of_memory)
    refused(path, "too large to build")


def test_refuses_the_same_metric_twice(tmp_path, saved):
    _, doc, arrays = saved
    doc["compile"]["metrics"] = ["accuracy", "accuracy"]
    refused(write_archive(tmp_path / "m.npz", doc, arrays), "compile: metrics: two values")


@pytest.mark.parametrize("version", [0, -1, True, "1", 1.0, None])
def test_refuses_a_format_version_that_is_not_an_int_at_least_1(tmp_path, saved, version):
    # JSON true is not the version 1, nor is 0 a version any tinynet wrote.
    _, doc, arrays = saved
    doc["format_version"] = version
    refused(write_archive(tmp_path / "v.npz", doc, arrays),
            rf"format_version must be an int >= 1, got {re.escape(repr(version))}")


@pytest.mark.parametrize("edit, match", [
    (lambda doc: doc.pop("layers"), r"'layers' must be a JSON list, got None"),
    (lambda doc: doc.update(layers={"0": "Dense"}), r"'layers' must be a JSON list"),
    (lambda doc: doc.pop("seed"), r"'seed' must be a JSON int, got None"),
    (lambda doc: doc.update(seed=True), r"'seed' must be a JSON int, got True$"),  # not 1
    (lambda doc: doc.update(seed=1.5), r"'seed' must be a JSON int, got 1\.5"),
    (lambda doc: doc.update(seed=-1), r"'seed' must be >= 0, got -1"),
    (lambda doc: doc["compile"].pop("optimizer"), r"compile: 'optimizer' must be a JSON dict"),
    (lambda doc: doc["compile"]["optimizer"].update(iterations=-1),
     r"compile\.optimizer: 'iterations' must be >= 0, got -1"),
    # A name, not a number: unrefused, the warning would say that 1 is a function of one's
    # own, to be passed as custom_objects={1: 1}, and the model would load without it.
    (lambda doc: doc["compile"].update(metrics=["accuracy", 1]),
     r"compile: 'metrics' must hold names \(JSON str\), got 1$"),
    # Unchecked, int("a") would raise a bare ValueError naming no file; 2.5 and true would be
    # taken as 2 and 1.
    *[(lambda doc, shape=shape: doc.update(input_shape=shape),
       rf"'input_shape' must be a list of ints >= 1, got {re.escape(repr(shape))}$")
      for shape in (["a", 3], [2.5, 3], [True, 6], [0, 6])],
    # A missing step count or metric list is a damaged file, not a count of 0 or no metrics.
    (lambda doc: doc["compile"]["optimizer"].pop("iterations"),
     r"compile\.optimizer: 'iterations' must be a JSON int, got None"),
    (lambda doc: doc["compile"].pop("metrics"), r"compile: 'metrics' must be a JSON list"),
    (lambda doc: doc["layers"].__setitem__(2, "ReLU"),
     r"layers\[2\]: expected a JSON object with 'class' and 'config', got 'ReLU'"),
], ids=["no-layers", "layers-dict", "no-seed", "seed-true", "seed-float", "seed-negative",
        "no-optimizer", "iterations-negative", "metric-number", "shape-str", "shape-float",
        "shape-true", "shape-0", "no-iterations", "no-metrics", "layer-not-a-dict"])
def test_refuses_a_missing_or_mistyped_field_of_the_description(tmp_path, saved, edit, match):
    _, doc, arrays = saved
    edit(doc)
    refused(write_archive(tmp_path / "f.npz", doc, arrays), match)


def test_refuses_a_description_longer_than_any_models_unread(tmp_path, saved, monkeypatch):
    # 64 MB of JSON would take long to write here: the limit is lowered instead. Refused by
    # its header, before its bytes are inflated and parsed (three copies of them).
    _, doc, arrays = saved
    path = write_archive(tmp_path / "j.npz", doc, arrays)
    size = len(json.dumps(doc).encode("utf-8"))
    read_arrays = tinynet.io._read_arrays
    monkeypatch.setattr(tinynet.io, "_read_arrays", lambda *args: pytest.fail("read"))
    monkeypatch.setattr(tinynet.io, "MAX_JSON_BYTES", size - 1)
    refused(path, rf"{re.escape(JSON_KEY)} is {size:,} bytes, more than the {size - 1:,} of "
                  rf"any model's description")
    monkeypatch.setattr(tinynet.io, "MAX_JSON_BYTES", size)
    monkeypatch.setattr(tinynet.io, "_read_arrays", read_arrays)
    assert load_model(path).steps_trained == doc["steps_trained"]


def test_save_refuses_a_description_that_load_would_refuse_naming_its_largest_part(
        tmp_path, monkeypatch):
    # A metadata dict, or a History, may be made large: the file would never load again.
    model, _, _ = trained_model()
    model.metadata = {"notes": "x" * 5000}
    monkeypatch.setattr(tinynet.io, "MAX_JSON_BYTES", 4000)
    target = tmp_path / "m.npz"
    with pytest.raises(ValueError, match=rf"^cannot save the model to {re.escape(str(target))}: "
                                         rf"its description would take [\d,]+ bytes, more than "
                                         rf"the 4,000 that load_model reads; the largest part "
                                         rf"is 'metadata' \(5,\d\d\d bytes\)$"):
        save_model(model, target)
    assert list(tmp_path.iterdir()) == []
    model.metadata = {}
    assert load_model(save_model(model, target)).steps_trained == model.steps_trained


def test_refuses_an_entry_compressed_by_another_method_than_numpys(tmp_path, saved):
    # LZMA inflates a few kilobytes to gigabytes, where NumPy's deflate stops near 1,000x.
    _, doc, arrays = saved
    path = write_archive(tmp_path / "ok.npz", doc, arrays)
    lzma = tmp_path / "lzma.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(lzma, "w", zipfile.ZIP_LZMA) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    refused(lzma, rf"entry '[\w.]+' is compressed by method {zipfile.ZIP_LZMA}, expected stored "
                  rf"or deflated \(as NumPy writes them\)")
    deflated = tmp_path / "deflated.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    assert load_model(deflated).steps_trained == doc["steps_trained"]


@pytest.mark.parametrize("dtype, shape", [(np.int8, (-1,)), (np.uint8, (1, -1))],
                         ids=["int8", "2-D"])
def test_refuses_a_description_that_is_not_a_1d_uint8_array(tmp_path, saved, dtype, shape):
    _, doc, arrays = saved
    raw = np.frombuffer(json.dumps(doc).encode("utf-8"), dtype=np.uint8)
    path = tmp_path / "j.npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays, **{JSON_KEY: raw.astype(dtype).reshape(shape)})
    refused(path, rf"{re.escape(JSON_KEY)} must be a 1-D uint8 array, got "
                  rf"{np.dtype(dtype)} of shape")


EPOCHS_REFUSED = "history: 'epoch' must be ints >= 0 in increasing order"


@pytest.mark.parametrize("history, message", [
    ({"epoch": ["first"], "history": {"loss": [0.5]}}, EPOCHS_REFUSED),
    ({"epoch": [True], "history": {"loss": [0.5]}}, EPOCHS_REFUSED),  # not taken as int(True)
    ({"epoch": [0.9], "history": {"loss": [0.5]}}, EPOCHS_REFUSED),  # not read as int(0.9) = 0
    ({"epoch": [-1], "history": {"loss": [0.5]}}, EPOCHS_REFUSED),
    ({"epoch": [1, 0], "history": {"loss": [0.5, 0.4]}}, EPOCHS_REFUSED),
    ({"epoch": [0, 0], "history": {"loss": [0.5, 0.4]}}, EPOCHS_REFUSED),
    ({"epoch": [0], "history": {"loss": ["low"]}}, "'loss' must be a list of 1 numbers"),
    ({"epoch": [0], "history": {"loss": [None]}}, "'loss' must be a list of 1 numbers"),
    ({"epoch": [0], "history": {"loss": [1, 2, 3]}}, "'loss' must be a list of 1 numbers"),
    ({"epoch": [0, 1], "history": {"loss": [1, 2], "acc": []}},
     "'acc' must be a list of 2 numbers"),
    ({"epoch": [0], "history": {"loss": 0.5}}, "'loss' must be a list of 1 numbers"),
    # JSON holds it, no float does: float() would raise an OverflowError, not the format's
    # error
    ({"epoch": [0], "history": {"loss": [10**400]}}, "'loss' must be a list of 1 numbers"),
], ids=["a str epoch", "a bool epoch", "a float epoch", "a negative epoch", "decreasing",
        "twice the same", "a str value", "null", "longer", "shorter", "not a list",
        "an int past the largest float"])
def test_refuses_a_history_fit_would_not_record(tmp_path, saved, history, message):
    # fit takes entry i of each list as epoch i's when it resumes, and names the epoch to
    # resume from after the last: such a History would resume from the wrong epoch.
    _, doc, arrays = saved
    doc["history"] = history
    refused(write_archive(tmp_path / "h.npz", doc, arrays), re.escape(message))


def test_an_exact_file_name_wins_over_the_name_with_npz_appended(tmp_path):
    # load_model("m") appends .npz only when "m" itself does not exist.
    x, _ = make_data()
    first, second = make_model(seed=1), make_model(seed=2)
    save_model(first, tmp_path / "m.npz")
    os.replace(save_model(second, tmp_path / "other.npz"), tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict(x), second.predict(x))
    np.testing.assert_array_equal(load_model(tmp_path / "m.npz").predict(x), first.predict(x))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        load_model(tmp_path / "nothing-here.npz")


# --------------------------------------------------------------------------- atomic saves
@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()],
                         ids=["oserror", "ctrl-c"])
def test_interrupted_save_leaves_old_file_intact(tmp_path, monkeypatch, failure):
    model, x, y = trained_model()
    path = save_model(model, tmp_path / "model.npz")
    before = path.read_bytes()
    expected = model.predict(x)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # new weights to (fail to) save

    real_savez = np.savez

    def savez_then_fail(file, *args, **kwds):
        real_savez(file, *args, **kwds)
        file.seek(file.tell() // 2)
        file.truncate()  # half an archive is on disk, in the temporary file
        raise failure

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(type(failure)):
        save_model(model, path)
    monkeypatch.undo()

    assert sorted(os.listdir(tmp_path)) == ["model.npz"]  # no temporary file left behind
    assert path.read_bytes() == before
    np.testing.assert_array_equal(load_model(path).predict(x), expected)


def test_failed_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    model, _, _ = trained_model()

    def refuse(src, dst):
        raise PermissionError("read-only")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        save_model(model, tmp_path / "m.npz")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_save_into_missing_folder_names_it(tmp_path):
    model, _, _ = trained_model()
    with pytest.raises(FileNotFoundError, match="no folder"):
        save_model(model, tmp_path / "absent" / "m.npz")


def test_a_metric_named_acc_keeps_its_name_through_save_and_load(tmp_path):
    # Logged as "acc" (Keras's way), saved and loaded as "acc": a resumed run goes on with the
    # History's keys, not a second accuracy series next to NaNs.
    x, y = make_data()
    model = make_model(compiled=False)
    model.compile("sparse_categorical_crossentropy", Adam(lr=0.01), metrics=["acc"])
    model.fit(x, y, epochs=1, batch_size=16, validation_data=(x, y), verbose=0)
    loaded = load_model(save_model(model, tmp_path / "m.npz"))
    assert [name for name, _ in loaded.metrics] == ["acc"]
    history = loaded.fit(x, y, epochs=2, initial_epoch=1, batch_size=16,
                         validation_data=(x, y), verbose=0)
    assert list(history.history) == ["loss", "acc", "val_loss", "val_acc"]
    assert all(np.isfinite(values).all() for values in history.history.values())


def test_metadata_round_trips(tmp_path):
    model = Sequential([Dense(3, 2), Softmax()], seed=0)
    model.metadata = {"program": "r2", "scaling": {"scale": 1 / 255, "shape": [784]}}
    path = model.save(tmp_path / "m")
    assert path == tmp_path / "m.npz"
    assert load_model(path).metadata == model.metadata
    assert load_model(save_model(Sequential([Dense(3, 2)]), tmp_path / "n")).metadata == {}
    # NaN is not equal to itself, but JSON gives it back as NaN all the same (Python's json
    # writes it as NaN): saved, as any other float.
    model.metadata = {"best_val_loss": float("nan")}
    assert np.isnan(load_model(model.save(tmp_path / "m")).metadata["best_val_loss"])


def circular() -> dict:
    d = {"note": "x"}
    d["self"] = d
    return d


@pytest.mark.parametrize("metadata, found", [
    ("trained on MNIST", "got 'trained on MNIST'"),  # load_model wants a JSON object
    ([1, 2], "got [1, 2]"),
    ({1: "a"}, "got {1: 'a'}"),  # JSON would give it back as {"1": "a"}
    (circular(), "Circular reference detected"),
    ({"a": {1: "x"}}, "which would load as {'a': {'1': 'x'}}"),  # nested, as deep as any
    ({"shape": (1, 2)}, "which would load as {'shape': [1, 2]}"),
    # Equal to 0.5, but NumPy's float: it would load as a Python float.
    ({"accuracy": np.float64(0.5)}, "which would load as {'accuracy': 0.5}"),
    ({"n": np.int64(3)}, "which would load as {'n': 3}"),  # not a Python int: no JSON of its own
], ids=["str", "list", "int-keys", "circular", "nested-int-keys", "tuple", "numpy-float",
        "numpy-int"])
def test_metadata_that_load_model_would_not_give_back_is_refused_before_writing(
        tmp_path, metadata, found):
    model = Sequential([Dense(3, 2), Softmax()], seed=0)
    model.metadata = metadata
    with pytest.raises(ValueError, match=rf"^cannot save the model to .*m\.npz: .*"
                                         rf"{re.escape(found)}"):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m.npz").exists()


def test_the_description_is_read_as_utf8(tmp_path, saved):
    # tinynet writes non-ASCII text escaped (json's ensure_ascii), but the format is UTF-8
    # bytes: a file written by another program may hold the text itself, which another
    # decoding (Latin-1, say) would turn into mojibake without an error.
    _, doc, arrays = saved
    doc["metadata"] = {"note": "données ≈ 0.98 ✓"}
    payload = np.frombuffer(json.dumps(doc, ensure_ascii=False).encode("utf-8"), np.uint8)
    path = tmp_path / "u.npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays, **{JSON_KEY: payload})
    assert load_model(path).metadata == {"note": "données ≈ 0.98 ✓"}


@pytest.mark.parametrize("metadata", ["missing", None])
def test_a_file_without_metadata_loads_with_empty_metadata(tmp_path, saved, metadata):
    # Files written before models kept metadata: model.metadata is still a dict, which
    # `"scaling" in model.metadata` (tinynet evaluate) needs.
    _, doc, arrays = saved
    if metadata == "missing":
        del doc["metadata"]
    else:
        doc["metadata"] = metadata
    assert load_model(write_archive(tmp_path / "old.npz", doc, arrays)).metadata == {}


def test_a_history_of_ints_loads_as_floats_as_fit_records_them(tmp_path, saved):
    # JSON written by another program may hold 1 for 1.0: History's values are floats.
    _, doc, arrays = saved
    doc["history"] = {"epoch": [0, 1], "history": {"loss": [1, 2]}}
    history = load_model(write_archive(tmp_path / "h.npz", doc, arrays)).history.history
    assert history == {"loss": [1.0, 2.0]}
    assert all(type(v) is float for v in history["loss"])


def test_history_of_a_run_started_at_a_later_epoch_keeps_its_epoch_numbers(tmp_path):
    x, y = make_data()
    model = make_model()
    with pytest.warns(UserWarning, match="on a model that has taken no training step"):
        model.fit(x, y, epochs=3, initial_epoch=1, batch_size=16, verbose=0)
    loaded = load_model(save_model(model, tmp_path / "m.npz"))
    assert loaded.history.epoch == model.history.epoch == [1, 2]
    # And it resumes where it stopped, not as a run that skipped epochs.
    loaded.fit(x, y, epochs=4, initial_epoch=3, batch_size=16, verbose=0)
    assert loaded.history.epoch == [1, 2, 3]
