"""Parts of one's own (a layer, a loss, an optimiser, a metric) plug into Sequential, train,
save and load; a part that breaks its contract is named by the error, not its victims."""

import functools
import os
import re

import numpy as np
import pytest

from tinynet.callbacks import ModelCheckpoint
from tinynet.gradcheck import check_layer
from tinynet.io import ModelFormatError, load_model, save_model
from tinynet.layers import Conv2D, Dense, Layer, ReLU, Softmax, log_softmax, softmax
from tinynet.losses import Loss
from tinynet.metrics import mean_absolute_error
from tinynet.model import Sequential
from tinynet.optim import SGD, Optimizer


# ----------------------------------------------------------------------- the parts, as docs/
class Scale(Layer):
    """y = x * a, a learnable a[d] per feature (docs/gradcheck.md's example, with a config)."""

    def __init__(self, D):
        super().__init__()
        self.D = D
        self.params["a"] = np.linspace(0.5, 2.0, D).astype(np.float32)

    def forward(self, x, training=False):
        self._save(x=x)
        return x * self.params["a"]

    def backward(self, dy):
        x = self._load("x")
        self.grads["a"] = (dy * x).sum(axis=0)
        return dy * self.params["a"]

    def get_config(self):
        return {"D": self.D}


class Huber(Loss):
    """Huber loss, mean over every entry: 0.5 d**2 where |d| <= delta, else linear."""

    def __init__(self, delta=1.0, reduction="mean"):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, y_pred, y_true):
        d = y_pred - y_true
        self._saved = {"d": d}
        a = np.abs(d)
        per_entry = np.where(a <= self.delta, 0.5 * d**2, self.delta * (a - 0.5 * self.delta))
        return float(per_entry.mean() if self.reduction == "mean" else per_entry.sum())

    def backward(self):
        d = self._load()["d"]
        g = np.clip(d, -self.delta, self.delta)
        return g / d.size if self.reduction == "mean" else g

    def get_config(self):
        return {"delta": self.delta, "reduction": self.reduction}


class Adagrad(Optimizer):
    """G += g**2; param -= lr * g / (sqrt(G) + eps)."""

    state_names = ("G",)

    def __init__(self, lr=0.01, eps=1e-7):
        super().__init__(lr)
        self.eps = eps

    def update(self, param, grad, state, work):
        state["G"] += grad**2
        param -= self.lr * grad / (np.sqrt(state["G"]) + self.eps)

    def get_config(self):
        return {"lr": self.lr, "eps": self.eps}


def top2(y_pred, y_true):
    """Whether the true class is among the two highest outputs, per sample."""
    return (np.argsort(y_pred, axis=1)[:, -2:] == y_true[:, None]).any(axis=1)


CUSTOM = {"Scale": Scale, "Huber": Huber, "Adagrad": Adagrad, "top2": top2}


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def classifier():
    model = Sequential([Dense(4, 5), Scale(5), ReLU(), Dense(5, 3), Softmax()], seed=1)
    model.compile("sparse_categorical_crossentropy", Adagrad(0.1), metrics=["accuracy", top2])
    return model


# --------------------------------------------------------------------------- save and load
def test_a_model_of_ones_own_parts_round_trips_and_trains_on_as_the_original(tmp_path):
    x, y = data()
    model = classifier()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    loaded = load_model(save_model(model, tmp_path / "m.npz"), custom_objects=CUSTOM)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert isinstance(loaded.optimizer, Adagrad) and loaded.optimizer.iterations == 6
    assert [name for name, _ in loaded.metrics] == ["accuracy", "top2"]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    # The optimiser's state came back: the next epoch moves both models the same way.
    model.fit(x, y, epochs=3, initial_epoch=2, batch_size=16, verbose=0)
    history = loaded.fit(x, y, epochs=3, initial_epoch=2, batch_size=16, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert list(history.history) == ["loss", "accuracy", "top2"]


class RandomScale(Scale):
    """Scale whose a starts random: made in init_params only, which Sequential calls."""

    def __init__(self, D):
        Layer.__init__(self)
        self.D = D

    def init_params(self, rng):
        self.params["a"] = rng.standard_normal(self.D).astype(np.float32)


class PlaceholderScale(RandomScale):
    """RandomScale with an empty placeholder for a until init_params draws it."""

    def __init__(self, D):
        super().__init__(D)
        self.params["a"] = np.zeros(0, np.float32)


class LargerPlaceholderScale(RandomScale):
    """RandomScale with a float64 placeholder, twice the bytes of the float32 a drawn."""

    def __init__(self, D):
        super().__init__(D)
        self.params["a"] = np.ones(D)


@pytest.mark.parametrize("cls", [RandomScale, PlaceholderScale, LargerPlaceholderScale])
def test_a_layer_that_makes_its_parameters_in_init_params_round_trips(tmp_path, cls):
    # Built from its config, it has no parameters (or a placeholder) until the model draws
    # them: its arrays are checked then, not refused as arrays the architecture does not
    # have, or of another shape.
    model = Sequential([cls(3), Dense(3, 2)], seed=0)
    x = np.random.default_rng(0).standard_normal((4, 3))
    loaded = load_model(model.save(tmp_path / "r"), custom_objects={cls.__name__: cls})
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    arrays = dict(np.load(tmp_path / "r.npz", allow_pickle=False))
    arrays["layer0.a"] = np.zeros(4, np.float32)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFormatError, match=r"array 'layer0\.a' has shape \(4,\), but the "
                                               rf"architecture needs \(3,\) for {cls.__name__}"):
        load_model(tmp_path / "bad.npz", custom_objects={cls.__name__: cls})


def test_a_loss_of_ones_own_round_trips_with_its_config(tmp_path):
    model = Sequential([Dense(4, 3)], seed=0)
    model.compile(Huber(delta=0.25, reduction="sum"), "sgd", metrics=None)
    loaded = load_model(model.save(tmp_path / "h"), custom_objects={"Huber": Huber})
    assert loaded.loss.get_config() == {"delta": 0.25, "reduction": "sum"}


def test_load_without_custom_objects_names_the_class_and_how_to_pass_it(tmp_path):
    path = save_model(classifier(), tmp_path / "m.npz")
    with pytest.raises(ModelFormatError, match=re.escape(
            "layers[1]: unknown layer type 'Scale': tinynet.layers has no such class; for a "
            "layer of your own, pass its class: load_model(path, custom_objects={'Scale': "
            "Scale})")):
        load_model(path)
    with pytest.raises(ModelFormatError, match=re.escape(
            "unknown optimizer type 'Adagrad': tinynet.optim has no such class; for an "
            "optimizer of your own, pass its class (custom_objects has ['Scale'])")):
        load_model(path, custom_objects={"Scale": Scale})


def test_a_metric_function_not_given_is_left_out_with_a_warning_that_says_how(tmp_path):
    path = save_model(classifier(), tmp_path / "m.npz")
    with pytest.warns(UserWarning, match=re.escape(
            "metric 'top2' is a function of your own, which the file cannot hold; pass it to "
            "load it: load_model(path, custom_objects={'top2': top2})")) as record:
        loaded = load_model(path, custom_objects={"Scale": Scale, "Adagrad": Adagrad})
    assert [name for name, _ in loaded.metrics] == ["accuracy"]
    assert record[0].filename == __file__  # it points at the call of load_model


def test_a_metric_given_under_the_files_name_is_logged_under_it(tmp_path):
    # The key is the name: logged under its own __name__, the function given for it (another
    # def, a partial) would split a resumed History into "top2", NaN from then on, and a
    # second key, and a callback monitoring "val_top2" would find nothing.
    def top_two(y_pred, y_true):
        return top2(y_pred, y_true)

    x, y = data()
    model = classifier()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, validation_split=0.25)
    path = save_model(model, tmp_path / "m.npz")
    for given in (top_two, functools.partial(top2)):
        loaded = load_model(path, custom_objects={**CUSTOM, "top2": given})
        assert [name for name, _ in loaded.metrics] == ["accuracy", "top2"]
        history = loaded.fit(x, y, epochs=2, initial_epoch=1, batch_size=16, verbose=0,
                             validation_split=0.25)
        assert list(history.history) == ["loss", "accuracy", "top2", "val_loss",
                                         "val_accuracy", "val_top2"]
        assert not np.isnan(history.history["val_top2"]).any()


@pytest.mark.parametrize("custom_objects, match", [
    ([Scale], "custom_objects must be a dict of class names to classes"),
    ([], "custom_objects must be a dict of class names to classes"),  # empty, still no dict
    ({Scale: Scale}, "custom_objects keys must be class or function names"),
    ({"Dense": Scale}, "custom_objects\\['Dense'\\] names tinynet's own tinynet.layers.Dense"),
    ({**CUSTOM, "MSE": Huber}, "custom_objects\\['MSE'\\] names tinynet's own tinynet.losses.MSE"),
    ({**CUSTOM, "Adam": Adagrad}, "custom_objects\\['Adam'\\] names tinynet's own "
                                  "tinynet.optim.Adam"),
    ({**CUSTOM, "Scale": Huber}, "custom_objects\\['Scale'\\] must be a subclass of "
                                 "tinynet.layers.base.Layer, for the file's layers\\[1\\]"),
    ({**CUSTOM, "Adagrad": Scale}, "custom_objects\\['Adagrad'\\] must be a subclass of "
                                   "tinynet.optim.Optimizer"),
    ({**CUSTOM, "top2": Adagrad}, "custom_objects\\['top2'\\] must be the metric function"),
    ({**CUSTOM, "top2": 0.5}, "custom_objects\\['top2'\\] must be the metric function"),
    ({**CUSTOM, "mae": top2}, "custom_objects\\['mae'\\] names tinynet's metric 'mae'"),
], ids=["list", "empty-list", "class-key", "tinynet-name", "tinynet-loss-name",
        "tinynet-optimizer-name", "loss-for-layer", "layer-for-optimizer",
        "class-for-metric", "number-for-metric", "tinynet-metric-name"])
def test_load_refuses_custom_objects_that_are_not_names_of_classes(tmp_path, custom_objects,
                                                                    match):
    path = save_model(classifier(), tmp_path / "m.npz")
    with pytest.raises(TypeError, match=match):
        load_model(path, custom_objects=custom_objects)


class NoConfig(Scale):
    """Scale without the get_config that says its D: rebuilt as NoConfig(), it would fail."""

    def get_config(self):
        return {}


class Decay(Adagrad):
    """An __init__ of its own over Adagrad's get_config: it takes no eps."""

    def __init__(self, lr=0.1):
        super().__init__(lr)


@pytest.mark.parametrize("model, optimizer, match", [
    (Sequential([Dense(3, 3), NoConfig(3)]), None,
     "cannot save layer NoConfig: load_model rebuilds it as NoConfig(**{}), from its "
     "get_config(), which fails: missing a required argument: 'D'. Make "
     "NoConfig.get_config() return the arguments of its __init__"),
    (Sequential([Dense(3, 3)]), Decay(),
     "cannot save optimizer Decay: load_model rebuilds it as Decay(**{'lr': 0.1, "
     "'eps': 1e-07}), from its get_config(), which fails: got an unexpected keyword "
     "argument 'eps'"),
], ids=["layer", "optimizer"])
def test_save_refuses_a_get_config_that_would_not_rebuild_the_object(tmp_path, model,
                                                                      optimizer, match):
    if optimizer is not None:
        model.compile("mse", optimizer, metrics=None)
    with pytest.raises(ValueError, match=re.escape(match)):
        save_model(model, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_save_refuses_a_class_of_ones_own_named_as_one_of_tinynets(tmp_path):
    class Dense(Layer):
        def forward(self, x, training=False):
            return 2 * x

    with pytest.raises(ValueError, match=r"cannot save layer Dense: load_model would rebuild "
                                         r"it as tinynet\.layers\.Dense.*a name of its own"):
        save_model(Sequential([Dense()]), tmp_path / "m.npz")


def test_save_refuses_a_config_that_json_cannot_hold_naming_the_file_and_the_key(tmp_path):
    # A 0-d array rebuilds Scale (linspace takes it as a count), but JSON cannot hold it.
    model = Sequential([Dense(3, 3), Scale(np.array(3))], seed=0)
    with pytest.raises(ValueError, match=re.escape(
            f"cannot save the model to {tmp_path / 'm.npz'}: cannot save layer Scale: its "
            f"get_config()['D'] is array(3), which JSON cannot hold (Object of type ndarray is "
            f"not JSON serializable); give numbers, str, True, False, None, and lists and "
            f"dicts of them")):
        save_model(model, tmp_path / "m")  # written as m.npz
    assert os.listdir(tmp_path) == []


class Noted(Layer):
    """The identity, with one argument kept in its config."""

    def __init__(self, note):
        super().__init__()
        self.note = note

    def forward(self, x, training=False):
        return x

    def backward(self, dy):
        return dy

    def get_config(self):
        return {"note": self.note}


@pytest.mark.parametrize("note, back", [(np.bool_(True), True), (np.uint8(3), 3),
                                        (np.float16(0.5), 0.5)], ids=["bool", "uint8", "float16"])
def test_numpy_bools_ints_and_floats_in_a_config_load_as_python_values(tmp_path, note, back):
    path = save_model(Sequential([Noted(note)], seed=0), tmp_path / "m.npz")
    loaded = load_model(path, custom_objects={"Noted": Noted}).layers[0].note
    assert type(loaded) is type(back) and loaded == back


# A longdouble wider than a double (x86 Linux; on Windows and macOS on ARM it is a double,
# and saved as one): its item() is a longdouble again, which JSON has no number for.
WIDE = [np.longdouble(1)] if np.dtype(np.longdouble).itemsize > 8 else []


@pytest.mark.parametrize("note", [np.timedelta64(5, "ns"), np.datetime64("NaT"),
                                  np.complex64(1), *WIDE], ids=lambda v: type(v).__name__)
def test_numpy_scalars_json_has_no_number_for_are_refused_by_their_key(tmp_path, note):
    # A timedelta is an integer to NumPy, and its item() an int of no unit.
    with pytest.raises(ValueError, match=rf"cannot save layer Noted: its get_config\(\)\['note'\] "
                                         rf"is {re.escape(repr(note))}, which JSON cannot hold"):
        save_model(Sequential([Noted(note)], seed=0), tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_a_config_of_numpy_scalars_is_saved_as_the_numbers_they_hold(tmp_path):
    # np.prod gives NumPy's int64, as tinynet's own layers take it (Dense(np.prod(...), 10)).
    model = Sequential([Dense(3, 3), Scale(np.prod((3,)))], seed=0)
    loaded = load_model(save_model(model, tmp_path / "m.npz"), custom_objects={"Scale": Scale})
    assert type(loaded.layers[1].D) is int and loaded.layers[1].D == 3
    np.testing.assert_array_equal(loaded.predict(np.ones((2, 3))), model.predict(np.ones((2, 3))))


def mae(y_pred, y_true):
    """The largest error, under the name of tinynet's mean one: a model with it cannot be saved."""
    return np.abs(y_pred - y_true).max()


def test_save_refuses_a_metric_of_ones_own_named_as_one_of_tinynets(tmp_path):
    model = Sequential([Dense(3, 1)], seed=0)
    model.compile("mse", "sgd", metrics=[mae])
    with pytest.raises(ValueError, match=r"cannot save metric mae: load_model would compute "
                                         r"it as tinynet's metric 'mae'.*a name of its own"):
        save_model(model, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []
    # tinynet's own function passed as a callable is the named metric: saved as such.
    model.compile("mse", "sgd", metrics=[mean_absolute_error])
    path = save_model(model, tmp_path / "m.npz")
    assert load_model(path).metrics[0][0] == "mean_absolute_error"


@pytest.mark.parametrize("layer, metric, match", [
    (NoConfig(3), "mae", "cannot save layer NoConfig: load_model rebuilds it as NoConfig"),
    (Scale(3), mae, "cannot save metric mae: load_model would compute it as tinynet's"),
    (Scale(np.array(3)), "mae", "Object of type ndarray is not JSON serializable"),
], ids=["layer", "metric", "config"])
def test_a_checkpoint_refuses_a_model_that_cannot_be_saved_before_the_first_epoch(
        tmp_path, layer, metric, match):
    # Found when the first epoch ends, the refusal would cost that epoch's training.
    model = Sequential([Dense(3, 3), layer], seed=0)
    model.compile("mse", "sgd", metrics=[metric])
    before = model.get_weights()
    with pytest.raises(ValueError, match=re.escape(match)):
        model.fit(np.ones((4, 3)), np.ones((4, 3)), epochs=1, verbose=0,
                  callbacks=[ModelCheckpoint(str(tmp_path / "e{epoch}.npz"))])
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before, strict=True))
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------- a broken part is named, clearly
class NoGrad(Scale):
    def backward(self, dy):
        return dy * self.params["a"]  # forgot grads["a"]


class SummedDx(Scale):
    def backward(self, dy):
        super().backward(dy)
        return (dy * self.params["a"]).sum(axis=0)  # (D,), not (N, D)


class NoReturn(Scale):
    def backward(self, dy):
        super().backward(dy)  # forgot the return


class PerSampleGrad(Scale):
    def backward(self, dy):
        dx = super().backward(dy)
        self.grads["a"] = dy * self._load("x")  # (N, D): forgot the sum over the batch
        return dx


class ExtraGrad(Scale):
    def backward(self, dy):
        dx = super().backward(dy)
        self.grads["b"] = self.grads["a"]
        return dx


class DictDx(Scale):
    def backward(self, dy):
        return {"x": super().backward(dy)}  # dx in a dict, as grads are


class TupleDx(Scale):
    def backward(self, dy):
        return super().backward(dy), self.grads  # as if backward returned both


class NoOutput(Layer):
    def forward(self, x, training=False):
        self._save(y=2 * x)  # forgot the return

    def backward(self, dy):
        return 2 * dy


BROKEN = [
    (NoGrad, ValueError, "layers[2] (NoGrad(D=5)): backward did not fill grads['a'], expected "
                         "the gradient of params['a'], an array of shape (5,)"),
    (SummedDx, ValueError, "layers[2] (SummedDx(D=5)): dx (what backward returned) has shape "
                           "(5,), expected (8, 5), the shape of its input x"),
    (NoReturn, TypeError, "layers[2] (NoReturn(D=5)): dx (what backward returned) is None, "
                          "expected an array of shape (8, 5)"),
    (DictDx, TypeError, "layers[2] (DictDx(D=5)): dx (what backward returned) must be an array "
                        "of numbers of shape (8, 5), got dict"),
    (TupleDx, TypeError, "layers[2] (TupleDx(D=5)): dx (what backward returned) must be an "
                         "array of numbers of shape (8, 5), got tuple"),
    (PerSampleGrad, ValueError, "layers[2] (PerSampleGrad(D=5)): grads['a'] has shape (8, 5), "
                                "expected (5,), the shape of params['a']"),
    (ExtraGrad, ValueError, "layers[2] (ExtraGrad(D=5)): backward filled grads['b'], but "
                            "params has no 'b'"),
]


def model_with(layer):
    model = Sequential([Dense(4, 5), ReLU(), layer, Dense(5, 3), Softmax()], seed=0)
    model.compile("sparse_categorical_crossentropy", "sgd")
    return model


@pytest.mark.parametrize("cls, error, match", BROKEN, ids=[c.__name__ for c, _, _ in BROKEN])
def test_fit_names_the_layer_whose_backward_breaks_the_contract(cls, error, match):
    # Without the check, the layer before it, or the optimiser, reports its own error.
    x, y = data(n=8)
    model = model_with(cls(5))
    before = model.get_weights()
    with pytest.raises(error, match=re.escape(match)):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(before, model.get_weights(), strict=True):  # no step was taken
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls, error, match", BROKEN, ids=[c.__name__ for c, _, _ in BROKEN])
def test_model_backward_names_the_layer_whose_backward_breaks_the_contract(cls, error, match):
    x, _ = data(n=8)
    model = model_with(cls(5))
    out = model.forward(x)
    with pytest.raises(error, match=re.escape(match)):
        model.backward(np.ones_like(out))


@pytest.mark.parametrize("cls, match", [
    (NoGrad, "layers[0] (NoGrad(D=4)): backward did not fill grads['a']"),
    # Else the optimiser reports the (8, 4) that cannot update a (4,) as its own error.
    (PerSampleGrad, "layers[0] (PerSampleGrad(D=4)): grads['a'] has shape (8, 4), expected "
                    "(4,), the shape of params['a']"),
], ids=["NoGrad", "PerSampleGrad"])
def test_the_first_layer_with_parameters_is_checked_too(cls, match):
    # Training asks it for its parameters' gradients only (backward_params), no dx.
    x, y = data(n=8)
    model = Sequential([cls(4), Dense(4, 3), Softmax()], seed=0)
    model.compile("sparse_categorical_crossentropy", "sgd")
    with pytest.raises(ValueError, match=re.escape(match)):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)


def test_model_backward_after_a_forward_written_layer_by_layer():
    # The model saw no forward of its own, so it has no input shapes to hold the dx against:
    # it checks what it can, and backpropagates as after model.forward.
    x, _ = data(n=8)
    by_hand, whole = model_with(Scale(5)), model_with(Scale(5))
    h = x
    for layer in by_hand.layers:
        h = layer.forward(h)
    dy = np.linspace(-1, 1, h.size).reshape(h.shape)
    whole.forward(x)
    np.testing.assert_array_equal(by_hand.backward(dy), whole.backward(dy))


def test_model_backward_after_a_forward_by_hand_on_another_batch_than_the_models_last():
    # The shapes of the model's own last forward (7 samples) are not those of this one (5):
    # a correct layer is not blamed for a dx of 5 rows.
    x, _ = data(n=7)
    model = model_with(Scale(5))
    model.predict(x)
    h = x[:5]
    for layer in model.layers:
        h = layer.forward(h)
    assert model.backward(np.ones_like(h)).shape == (5, 4)


def test_a_forward_that_returns_nothing_is_named():
    x, _ = data(n=8)
    model = Sequential([Dense(4, 5), NoOutput(), Dense(5, 3)], seed=0)
    with pytest.raises(TypeError, match=re.escape("layers[1] (NoOutput()): forward returned "
                                                  "None, expected the output y")):
        model.forward(x)


def test_a_layer_whose_init_forgot_super_init_is_refused_saying_so():
    class Doubler(Layer):
        def __init__(self, k=2):
            self.k = k  # no super().__init__(): no params, no grads

        def forward(self, x, training=False):
            return self.k * x

    match = re.escape("layers[1], a Doubler, has no params or grads: its __init__ must call "
                      "super().__init__() first")
    with pytest.raises(ValueError, match=match):
        Sequential([Dense(4, 5), Doubler()])
    with pytest.raises(ValueError, match="add: layer, a Doubler"):
        Sequential([Dense(4, 5)]).add(Doubler())


def test_a_loss_or_optimiser_whose_init_forgot_super_init_is_refused_at_compile():
    # Accepted, each would fail inside fit with an AttributeError about an attribute the
    # user never wrote ('reduction', '_state').
    class Forgetful(Loss):
        def __init__(self, delta=1.0):
            self.delta = delta

    class Still(SGD):
        def __init__(self, lr=0.1):
            self.lr_to_be = lr

    model = Sequential([Dense(4, 3)], seed=0)
    with pytest.raises(ValueError, match=re.escape(
            "loss, a Forgetful, has no reduction: its __init__ must call super().__init__() "
            "first")):
        model.compile(Forgetful(), "sgd")
    with pytest.raises(ValueError, match=re.escape(
            "optimizer, a Still, has no step count or state: its __init__ must call "
            "super().__init__(lr) first")):
        model.compile("mse", Still())
    assert model.loss is None and model.optimizer is None


@pytest.mark.parametrize("layers, loss, optimizer, match", [
    ([Dense(4, 3)], Loss, "sgd", "loss is the class Loss, not a loss: make one, Loss()"),
    ([Dense(4, 3)], "mse", SGD, "optimizer is the class SGD, not an optimiser: make one, "
                                "SGD(...)"),
    ([Dense(4, 3), ReLU], "mse", "sgd", "layers[1] is the class ReLU, not a layer: make one, "
                                        "ReLU(...)"),
])
def test_a_class_where_an_object_was_meant_says_to_make_one(layers, loss, optimizer, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        Sequential(layers, seed=0).compile(loss, optimizer)


class PerSample(Loss):
    """The squared error of each sample, Keras's way: one value per sample, not their mean."""

    def forward(self, y_pred, y_true):
        self._saved = {"d": y_pred - y_true}
        return (self._saved["d"] ** 2).mean(axis=1)

    def backward(self):
        d = self._load()["d"]
        return 2 * d / d.size


def test_a_loss_that_returns_one_value_per_sample_is_refused_naming_it():
    # Unrefused, evaluate would return the array; fit would fail with "only 0-dimensional
    # arrays can be converted to Python scalars", in its check for divergence.
    x, _ = data(n=8)
    y = np.ones((8, 3), dtype=np.float32)
    model = Sequential([Dense(4, 3)], seed=0)
    model.compile(PerSample(), "sgd", metrics=None)
    before = model.get_weights()
    match = re.escape("PerSample.forward must return the batch's loss, one number, got an "
                      "array of shape (8,): for one value per sample, return their mean (or, "
                      "for a loss with reduction='sum', their sum)")
    with pytest.raises(TypeError, match=match):
        model.evaluate(x, y)
    with pytest.raises(TypeError, match=match.replace("8", "4")):
        model.fit(x, y, batch_size=4, verbose=0)
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)


class NLL(Loss):
    """Cross-entropy of class labels from logits (N, K), written by hand."""

    takes_labels = True

    def forward(self, z, labels):
        N = len(labels)
        self._saved = {"z": z, "labels": labels}
        return float(-log_softmax(z)[np.arange(N), labels].mean())

    def backward(self):
        z, labels = self._load()["z"], self._load()["labels"]
        dz = softmax(z)
        dz[np.arange(len(labels)), labels] -= 1
        return dz / len(labels)


def test_a_loss_of_ones_own_that_takes_labels_says_so_and_trains_on_them():
    # A fit that refused labels for every loss but cross-entropy would blame the data.
    x, y = data()
    model = Sequential([Dense(4, 3)], seed=0)
    model.compile(NLL(), SGD(0.5), metrics=None)
    history = model.fit(x, y, epochs=10, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    NLL.takes_labels = False  # as a class that did not say so
    try:
        with pytest.raises(ValueError, match=re.escape(
                "got (48,) (labels? one-hot encode them: tinynet.datasets.one_hot(y, 3)); "
                "or, if NLL takes class labels, say so on its class: takes_labels = True")):
            model.fit(x, y, verbose=0)
        images = Sequential([Conv2D(1, 2, 3)], seed=0)  # outputs no one-hot rows would fit
        images.compile(NLL(), "sgd", metrics=None)
        with pytest.raises(ValueError, match=re.escape(
                "got (4,) (if NLL takes class labels, say so on its class: takes_labels = "
                "True)")):
            images.fit(np.zeros((4, 8, 8, 1)), np.arange(4), verbose=0)
    finally:
        NLL.takes_labels = True


def test_parts_that_forgot_a_method_say_which_and_what_it_computes():
    class Nothing(Layer):
        pass

    class Lossless(Loss):
        pass

    class Still(Optimizer):
        pass

    with pytest.raises(NotImplementedError, match=re.escape(
            "Nothing has no forward: a layer overrides forward(x, training=False) -> y")):
        Nothing().forward(np.zeros((1, 2)))
    with pytest.raises(NotImplementedError, match=re.escape(
            "Nothing has no backward: a layer overrides backward(dy) -> dx, which also fills "
            "grads[name]")):
        Nothing().backward(np.zeros((1, 2)))
    with pytest.raises(NotImplementedError, match=re.escape(
            "Lossless has no forward: a loss overrides forward(y_pred, y_true) -> float")):
        Lossless().forward(np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(NotImplementedError, match="Lossless has no backward"):
        Lossless().backward()
    with pytest.raises(NotImplementedError, match=re.escape(
            "Still has no update: an optimiser overrides update(param, grad, state, work)")):
        Still(0.1).step([(np.zeros(2), np.ones(2))])


# ---------------------------------------------------------------------- what works, as docs/
def test_summary_shows_the_output_shape_a_layer_of_ones_own_returns():
    class EveryOther(Layer):
        """Keeps features 0, 2, 4, ...: (N, D) -> (N, ceil(D / 2)), which it declares nowhere."""

        def forward(self, x, training=False):
            self._save(D=x.shape[1])
            return x[:, ::2]

        def backward(self, dy):
            dx = np.zeros((len(dy), self._load("D")), dtype=dy.dtype)
            dx[:, ::2] = dy
            return dx

    lines = []
    Sequential([Dense(4, 5), EveryOther(), Dense(3, 2)], seed=0).summary(print_fn=lines.append)
    assert re.search(r"everyother_1 \(EveryOther\) +\(None, 3\) +0\n", lines[0])
    assert check_layer(EveryOther(), np.random.default_rng(0).standard_normal((2, 5))).passed


def test_a_loss_of_ones_own_trains_a_regression():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)
    model = Sequential([Dense(3, 1)], seed=0)
    model.compile(Huber(), SGD(0.1), metrics=None)
    history = model.fit(x, y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 10
    assert model.evaluate(x, y) < history.history["loss"][0] / 10


def test_fit_suggests_one_hot_labels_for_a_loss_that_compares_outputs_entry_by_entry():
    # A loss of one's own gets the hint MSE gets (test_model.py).
    x, y = data(n=8)
    model = Sequential([Dense(4, 3)], seed=0)
    model.compile(Huber(), "sgd", metrics=None)
    with pytest.raises(ValueError, match=re.escape(
            "y must have shape (N, 3) like the model's output, got (8,) (labels? one-hot "
            "encode them: tinynet.datasets.one_hot(y, 3))")):
        model.fit(x, y, verbose=0)


class TorchStyle(Layer):
    """forward(self, x), as a PyTorch module's: no training argument."""

    def forward(self, x):
        return x

    def backward(self, dy):
        return dy


class WithKwargs(TorchStyle):
    def forward(self, x, **kwargs):
        return x


class PositionalOnly(TorchStyle):
    def forward(self, x, training=False, /):
        return x


@pytest.mark.parametrize("layer", [TorchStyle(), PositionalOnly()])
def test_a_layer_whose_forward_takes_no_training_is_refused_when_it_joins_the_model(layer):
    # The model calls layer.forward(x, training=...): without the check the first predict
    # or fit would fail with Python's "got an unexpected keyword argument 'training'".
    with pytest.raises(ValueError, match=rf"^layers\[1\], a {type(layer).__name__}, has "
                                         r"forward\(x.*\), expected forward\(x, "
                                         r"training=False\): the model tells each layer"):
        Sequential([Dense(2, 2), layer])
    model = Sequential([Dense(2, 2)])
    with pytest.raises(ValueError, match=r"^add: layer, a .* expected forward\(x, training"):
        model.add(layer)


def test_a_forward_that_takes_training_as_a_keyword_in_kwargs_joins_the_model():
    model = Sequential([Dense(2, 2), WithKwargs()], seed=0)
    assert model.predict(np.ones((1, 2))).shape == (1, 2)
