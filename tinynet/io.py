"""Save and load models: one ``.npz`` file of arrays plus a JSON description, never pickle.

The file is an ordinary NumPy ``.npz`` archive (a zip of ``.npy`` files) that any NumPy can
open with ``np.load(path, allow_pickle=False)``. It holds:

- ``__model__.json``: a uint8 array, the UTF-8 bytes of a JSON document (below);
- ``layer{i}.{name}``: parameter ``name`` of layer ``i`` (counting from 0), e.g. ``layer0.W``;
- ``opt.{j}.{state}``: the optimiser's state array ``state`` (``m``, ``v``, ``velocity``,
  ``mean_square``) of the j-th parameter in :meth:`tinynet.Sequential.parameters` order.

The JSON document::

    {
      "format": "tinynet.model",
      "format_version": 1,
      "tinynet_version": "0.1.0",
      "seed": 42,
      "steps_trained": 1876,  (model.steps_trained; older files: the optimiser's iterations)
      "input_shape": [784] or null,
      "layers": [{"class": "Dense", "config": {"in_features": 784, ...}}, ...],
      "compile": null, or {
        "loss": {"class": "CrossEntropy", "config": {"from_logits": false, ...}},
        "optimizer": {"class": "Adam", "config": {"lr": 0.001, ...}, "iterations": 1876},
        "metrics": ["accuracy"]
      },
      "history": null, or {"epoch": [0, 1], "history": {"loss": [...], ...}},
      "metadata": {...}  (model.metadata: e.g. the input scaling tinynet train used)
    }

(A diverged epoch's loss is written ``NaN``, the extension of JSON that Python's ``json``
and most readers accept.)

Layers are rebuilt by class name from :mod:`tinynet.layers` with ``get_config()`` as keyword
arguments, so only tinynet's own layers, losses and optimisers can be saved. Loading restores
the weights, re-compiles, and restores the optimiser state and step count, so that training
continues exactly where it stopped (see ``initial_epoch`` in :meth:`tinynet.Sequential.fit`).

Saving is atomic: the archive is written to a temporary file in the same folder, flushed to
disk, then renamed over the target. A save interrupted at any point leaves the previous file
as it was.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

import tinynet
from tinynet import layers as layers_module
from tinynet import losses as losses_module
from tinynet import metrics as metrics_module
from tinynet import optim as optim_module
from tinynet.atomic import write_atomic
from tinynet.callbacks import History
from tinynet.checks import not_a_folder
from tinynet.layers.base import Layer
from tinynet.losses import Loss
from tinynet.model import Sequential
from tinynet.optim import Optimizer

FORMAT_NAME = "tinynet.model"
#: Raise it whenever a change to the layout would make older tinynets misread a file.
FORMAT_VERSION = 1
JSON_KEY = "__model__.json"
SUFFIX = ".npz"

# The first bytes of the files people most often mistake for a model.
_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"
_PICKLE_MAGIC = b"\x80"  # protocol 2 and later start with the PROTO opcode


class ModelFormatError(ValueError):
    """A file that :func:`load_model` refuses; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        super().__init__(f"{os.fspath(path)}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


def _as_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path; a TypeError or ValueError naming it unless it names a file."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, got {path!r}")
    if not str(path) or Path(path).name in ("", ".", ".."):
        raise ValueError(f"path must name a file, got {str(path)!r}")
    return Path(path)


def model_path(path: str | os.PathLike) -> Path:
    """The file :func:`save_model` writes for ``path``: ``path`` itself when it ends in
    ``.npz``, otherwise ``path`` with ``.npz`` appended (as ``np.savez`` does)."""
    path = _as_path(path)
    return path if path.suffix == SUFFIX else path.with_name(path.name + SUFFIX)


# --------------------------------------------------------------------------------- saving
def _class_entry(obj: Any, module: Any, kind: str) -> dict[str, Any]:
    """``{"class", "config"}`` for ``obj``, refusing classes that loading could not find."""
    name = type(obj).__name__
    if getattr(module, name, None) is not type(obj):
        raise ValueError(
            f"cannot save {kind} {name}: load_model rebuilds {kind}s by class name from "
            f"{module.__name__}, which has no {name} (a custom class?)"
        )
    return {"class": name, "config": obj.get_config()}


def _describe(model: Sequential) -> dict[str, Any]:
    """The JSON document of ``model`` (see the module docstring)."""
    doc: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "tinynet_version": tinynet.__version__,
        "seed": int(model.seed),
        "steps_trained": int(model.steps_trained),
        "input_shape": list(model.input_shape) if model.input_shape is not None else None,
        "layers": [_class_entry(layer, layers_module, "layer") for layer in model.layers],
        "compile": None,
        "history": None,
        "metadata": model.metadata,
    }
    if model.loss is not None and model.optimizer is not None:
        optimizer = _class_entry(model.optimizer, optim_module, "optimizer")
        optimizer["iterations"] = int(model.optimizer.iterations)
        doc["compile"] = {
            "loss": _class_entry(model.loss, losses_module, "loss"),
            "optimizer": optimizer,
            "metrics": [name for name, _ in model.metrics],
        }
    if model.history is not None:
        # Saved by a callback in on_epoch_end (a ModelCheckpoint): with the values that the
        # callbacks before it added to the epoch's logs, which History has not taken yet.
        model.history._record_late_keys()
        doc["history"] = {"epoch": [int(e) for e in model.history.epoch],
                          "history": model.history.history}
    return doc


def _arrays(model: Sequential) -> dict[str, np.ndarray]:
    """Every array to save, by its key in the archive (see the module docstring)."""
    arrays = {f"layer{i}.{name}": p
              for i, layer in enumerate(model.layers) for name, p in layer.params.items()}
    if model.optimizer is not None and model.loss is not None:
        params = [p for p, _ in model.parameters()]
        for j, state in enumerate(model.optimizer.get_state(params)):
            arrays.update({f"opt.{j}.{name}": a for name, a in state.items()})
    return arrays


def save_model(model: Sequential, path: str | os.PathLike) -> Path:
    """Save ``model`` to one ``.npz`` file and return the path written.

    ``.npz`` is appended to ``path`` when it has another suffix or none (as ``np.savez``
    does); :func:`load_model` accepts the same ``path``, so ``save_model(m, "net")`` and
    ``load_model("net")`` both use ``net.npz``.

    Raises ValueError before writing anything when ``path`` names a folder (``"runs"`` would
    otherwise be written as ``runs.npz`` beside it), or when the model holds a layer, loss or
    optimiser that is not tinynet's own, or a configuration that is not JSON.
    """
    _as_path(path)  # a TypeError or ValueError unless path names a file
    not_a_folder("path", path if isinstance(path, str) else str(path), "model.npz")
    target = model_path(path)
    try:
        text = json.dumps(_describe(model), indent=2)
    except TypeError as err:  # a config value JSON cannot hold
        raise ValueError(f"cannot save the model to {target}: {err}") from err
    arrays = _arrays(model)  # keys "layer..." and "opt...": never JSON_KEY
    arrays[JSON_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    write_atomic(target, lambda tmp: _savez(tmp, arrays))  # a missing folder: FileNotFoundError
    return target


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """The archive, written to the open file: to a file object, np.savez appends no suffix."""
    with open(path, "wb") as f:
        np.savez(f, **arrays)


# -------------------------------------------------------------------------------- loading
def _resolve(path: str | os.PathLike) -> Path:
    """``path``, or ``path + ".npz"`` when only that exists (what :func:`save_model` wrote)."""
    path = _as_path(path)
    if not path.exists() and model_path(path).exists():
        return model_path(path)
    if not path.exists():
        raise FileNotFoundError(f"no model file {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a model file")
    return path


def _check_header(path: Path) -> None:
    """Refuse, by their first bytes, the files that are not zip archives at all."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(_ZIP_MAGIC):
        return
    if not head:
        raise ModelFormatError(path, "the file is empty (an interrupted copy?)")
    if head.startswith(_PICKLE_MAGIC):
        raise ModelFormatError(path, "the file holds pickled Python objects, which tinynet "
                                     "never writes and will not load (unpickling runs code)")
    if head.startswith(_NPY_MAGIC):
        raise ModelFormatError(path, "the file is a single .npy array, not a tinynet model "
                                     "(.npz archive)")
    raise ModelFormatError(path, "not a tinynet model: the file is not an .npz archive")


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of the archive, read without unpickling anything."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except ValueError as err:
        if "pickle" in str(err).lower() or "object arrays" in str(err).lower():
            raise ModelFormatError(
                path, "the archive holds pickled Python objects (object arrays), which "
                      "tinynet never writes and will not load (unpickling runs code)"
            ) from err
        raise ModelFormatError(path, f"the archive is damaged: {err}") from err
    except PermissionError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as err:
        raise ModelFormatError(path, f"the archive is truncated or damaged ({err})") from err


def _parse_json(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if JSON_KEY not in arrays:
        raise ModelFormatError(path, f"not a tinynet model: the archive has no {JSON_KEY} "
                                     f"entry (it holds {sorted(arrays)[:5]})")
    raw = arrays.pop(JSON_KEY)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFormatError(path, f"{JSON_KEY} must be a 1-D uint8 array, got "
                                     f"{raw.dtype} of shape {raw.shape}")
    try:
        doc = json.loads(raw.tobytes().decode("utf-8"))
    except ValueError as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ModelFormatError(path, f"{JSON_KEY} is not valid JSON: {err}") from err
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ModelFormatError(path, f"not a tinynet model: format is {found!r}, expected "
                                     f"{FORMAT_NAME!r}")
    version = doc.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFormatError(path, f"format_version must be an int >= 1, got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFormatError(
            path, f"format version {version} was written by a newer tinynet "
                  f"({doc.get('tinynet_version', '?')}); this tinynet "
                  f"({tinynet.__version__}) reads up to version {FORMAT_VERSION}: upgrade tinynet"
        )
    return doc


def _field(path: Path, doc: dict[str, Any], key: str, kind: type | tuple[type, ...],
          where: str = "", optional: bool = False) -> Any:
    """``doc[key]``, refusing a missing value or one of the wrong JSON type."""
    value = doc.get(key) if isinstance(doc, dict) else None
    if value is None and optional:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        value = None  # JSON true/false is not a number here (Python's bool is an int)
    if not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise ModelFormatError(path, f"{where}{key!r} must be a JSON {names}, got {value!r}")
    return value


def _build(path: Path, entry: Any, module: Any, base: type, where: str) -> Any:
    """An object of class ``entry["class"]`` of ``module`` built from ``entry["config"]``."""
    name = _field(path, entry, "class", str, where)
    config = _field(path, entry, "config", dict, where)
    cls = getattr(module, name, None) if not name.startswith("_") else None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ModelFormatError(path, f"{where}unknown {base.__name__.lower()} type {name!r}: "
                                     f"{module.__name__} has no such class")
    try:
        return cls(**config)
    except (TypeError, ValueError) as err:
        raise ModelFormatError(path, f"{where}cannot build {name}(**{config}): {err}") from err


def _take(path: Path, arrays: dict[str, np.ndarray], key: str, like: np.ndarray,
          what: str) -> np.ndarray:
    """``arrays[key]``, removed from ``arrays``, refused unless it matches ``like``."""
    if key not in arrays:
        raise ModelFormatError(path, f"array {key!r} ({what}) is missing")
    a = arrays.pop(key)
    if a.shape != like.shape:
        raise ModelFormatError(path, f"array {key!r} has shape {a.shape}, but the architecture "
                                     f"needs {like.shape} for {what}")
    if a.dtype != like.dtype:
        raise ModelFormatError(path, f"array {key!r} has dtype {a.dtype}, but the architecture "
                                     f"needs {like.dtype} for {what}")
    return a


def load_model(path: str | os.PathLike) -> Sequential:
    """Load a model saved by :func:`save_model` (or ``model.save``); never unpickles.

    ``path`` may omit the ``.npz`` that saving appended. The model comes back with its seed,
    weights, and, when it was compiled, its loss, optimiser (state and step count included),
    metrics and History (``model.history``), ready to ``predict`` or to continue ``fit``.
    Custom metric functions cannot be stored: they are left out, with a warning.

    Raises:
        FileNotFoundError: no such file.
        ModelFormatError: (a ValueError) the file is not a tinynet model, is truncated or
            damaged, holds pickled objects, was written by a newer tinynet, names a layer
            type tinynet does not have, or holds arrays missing, extra or of the wrong shape.
    """
    path = _resolve(path)
    _check_header(path)
    arrays = _read_arrays(path)
    doc = _parse_json(path, arrays)
    # Each array is taken out of ``arrays`` as it is checked, so that any left at the end is
    # one that the architecture does not have.

    # The layers, rebuilt from their configs, and their weights.
    entries = _field(path, doc, "layers", list)
    layers = [_build(path, e, layers_module, Layer, f"layers[{i}]: ")
              for i, e in enumerate(entries)]
    seed = _field(path, doc, "seed", int)
    if seed < 0:
        raise ModelFormatError(path, f"'seed' must be >= 0, got {seed}")
    model = Sequential(layers, seed=seed)
    weights = [_take(path, arrays, f"layer{i}.{name}", p, f"{type(layer).__name__}.{name}")
               for i, layer in enumerate(model.layers) for name, p in layer.params.items()]

    # What training needs to go on: fit's step count (it names the epochs' random streams),
    # and the loss, optimiser and metrics, with the optimiser's state.
    steps_trained = _field(path, doc, "steps_trained", int, optional=True)
    if steps_trained is not None and steps_trained < 0:
        raise ModelFormatError(path, f"'steps_trained' must be >= 0, got {steps_trained}")
    compiled = _field(path, doc, "compile", dict, optional=True)
    states: list[dict[str, np.ndarray]] = []
    iterations = 0
    if compiled is not None:
        states, iterations = _compile_as_saved(path, model, compiled, arrays)
    if arrays:
        raise ModelFormatError(path, f"unexpected arrays {sorted(arrays)[:5]}: the file does "
                                     "not match the architecture it describes")

    # Everything is checked: only now fill the model.
    model.set_weights(weights)
    if compiled is not None:
        model.optimizer.set_state([p for p, _ in model.parameters()], states, iterations)
    input_shape = _field(path, doc, "input_shape", list, optional=True)
    if input_shape is not None:
        model.input_shape = tuple(int(d) for d in input_shape)
    saved_history = _field(path, doc, "history", dict, optional=True)
    if saved_history is not None:
        model.history = _history(path, saved_history)
    model.metadata = _field(path, doc, "metadata", dict, optional=True) or {}
    # A file written before the model kept its own count: fit's steps were the optimiser's.
    model.steps_trained = steps_trained if steps_trained is not None else iterations
    return model


def _compile_as_saved(path: Path, model: Sequential, compiled: dict[str, Any],
                      arrays: dict[str, np.ndarray]) -> tuple[list[dict[str, np.ndarray]], int]:
    """Compile ``model`` with the loss, optimiser and metrics of the JSON ``"compile"`` entry,
    and take the optimiser's state arrays out of ``arrays``: ``(states, iterations)``, one
    ``{state name: array}`` per parameter and the step count, checked but not yet set."""
    loss = _build(path, _field(path, compiled, "loss", dict, "compile: "),
                  losses_module, Loss, "compile.loss: ")
    opt_entry = _field(path, compiled, "optimizer", dict, "compile: ")
    optimizer = _build(path, opt_entry, optim_module, Optimizer, "compile.optimizer: ")
    iterations = _field(path, opt_entry, "iterations", int, "compile.optimizer: ")
    metrics = []
    for name in _field(path, compiled, "metrics", list, "compile: "):
        if isinstance(name, str) and name in metrics_module.METRICS:
            metrics.append(name)
        else:  # stacklevel 3: the warning names the line that called load_model
            warnings.warn(f"{path}: metric {name!r} is a custom function, which cannot be "
                          "stored; compile the model again to use it", stacklevel=3)
    model.compile(loss, optimizer, metrics)
    params = [p for p, _ in model.parameters()]
    states = [{name: _take(path, arrays, f"opt.{j}.{name}", p, f"optimizer state {name} of "
                           f"parameter {j}") for name in optimizer.state_names}
              for j, p in enumerate(params)]
    return states, iterations


def _history(path: Path, saved: dict[str, Any]) -> History:
    history = History()
    epochs = _field(path, saved, "epoch", list, "history: ")
    values = _field(path, saved, "history", dict, "history: ")
    try:
        history.epoch = [int(e) for e in epochs]
        history.history = {str(k): [float(v) for v in vs] for k, vs in values.items()}
    except (TypeError, ValueError) as err:
        raise ModelFormatError(path, f"history must hold lists of numbers: {err}") from err
    return history
