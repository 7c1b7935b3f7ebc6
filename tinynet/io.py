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
      "format_version": 1, or 2 for a model with a frozen layer,
      "tinynet_version": "0.1.0",
      "seed": 42,
      "steps_trained": 1876,  (model.steps_trained; older files: the optimiser's iterations)
      "input_shape": [784] or null,
      "layers": [{"class": "Dense", "config": {"in_features": 784, ...}}, ...],
                  (and "trainable": false in the entry of a frozen layer)
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

Layers are rebuilt by class name, ``cls(**config)`` with the ``get_config()`` saved, from
:mod:`tinynet.layers`, or for a layer of one's own from the class given to
``load_model(path, custom_objects={"Name": Name})``; losses, optimisers and metric functions
the same way. The file holds names and JSON values only, never code. Loading restores
the weights, re-compiles, and restores the optimiser state and step count, so that training
continues exactly where it stopped (see ``initial_epoch`` in :meth:`tinynet.Sequential.fit`).

Saving is atomic: the archive is written to a temporary file in the same folder, flushed to
disk, then renamed over the target. A save interrupted at any point leaves the previous file
as it was.
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import os
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

import tinynet
from tinynet import layers as layers_module
from tinynet import losses as losses_module
from tinynet import metrics as metrics_module
from tinynet import optim as optim_module
from tinynet.atomic import write_atomic
from tinynet.callbacks import History
from tinynet.checks import is_int_at_least, is_number, not_a_folder, user_stacklevel
from tinynet.layers.base import Layer
from tinynet.losses import Loss
from tinynet.model import Sequential
from tinynet.optim import Optimizer

FORMAT_NAME = "tinynet.model"
#: The newest version this tinynet reads. Raise it whenever a change to the layout would
#: make older tinynets misread a file. Version 2 marks frozen layers ("trainable": false),
#: which version 1's readers would train; a file without one is still written as version 1.
FORMAT_VERSION = 2
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
    ``.npz`` (in any case: ``M.NPZ`` too), otherwise ``path`` with ``.npz`` appended (as
    ``np.savez`` does)."""
    path = _as_path(path)
    return path if path.suffix.lower() == SUFFIX else path.with_name(path.name + SUFFIX)


# --------------------------------------------------------------------------------- saving
def _own_class(module: Any, name: str, base: type) -> type | None:
    """The subclass of ``base`` that ``module`` names ``name``, if any: the class that
    :func:`load_model` rebuilds for that name, whatever ``custom_objects`` holds."""
    cls = getattr(module, name, None) if not name.startswith("_") else None
    # The base class itself is no type of layer (loss, optimiser): it has no forward.
    return cls if isinstance(cls, type) and issubclass(cls, base) and cls is not base else None


def _layer_entry(i: int, layer: Layer) -> dict[str, Any]:
    """``{"class", "config"}`` for ``layer``, ``layers[i]``, and ``"trainable": false`` for a
    frozen one; refused when a parameter's dtype is not the layer's, which loading would
    refuse (an array put in by ``layer.params[name] = array``: NumPy's default is float64)."""
    dtype = getattr(layer, "dtype", None)
    for name, p in layer.params.items():
        if isinstance(dtype, np.dtype) and p.dtype != dtype:
            raise ValueError(f"cannot save layers[{i}] ({type(layer).__name__}): its "
                             f"params[{name!r}] is {p.dtype}, but the layer is {dtype}, as "
                             f"load_model would build it: convert it, params[{name!r}] = "
                             f"params[{name!r}].astype(np.{dtype}) (model.set_weights(...) "
                             f"copies weights into the layer's own arrays, in their dtype)")
    entry = _class_entry(layer, layers_module, Layer)
    if not layer.trainable:
        entry["trainable"] = False
    return entry


def _class_entry(obj: Any, module: Any, base: type) -> dict[str, Any]:
    """``{"class", "config"}`` for ``obj``, refusing what loading could not rebuild."""
    cls, name, kind = type(obj), type(obj).__name__, base.__name__.lower()
    config = obj.get_config()
    own = _own_class(module, name, base)
    if own is not None and own is not cls:
        raise ValueError(f"cannot save {kind} {name}: load_model would rebuild it as "
                         f"{module.__name__}.{name}, not as the class of that name it is; "
                         "give your class a name of its own")
    if own is None:
        # One's own class is rebuilt as cls(**config): a get_config() that misses an
        # argument of __init__ with no default (the base class's returns none) is found now,
        # not at load. One with a default cannot be told from an argument left at it: it
        # loads as the default.
        try:
            inspect.signature(cls.__init__).bind(obj, **config)
        except TypeError as err:
            raise ValueError(f"cannot save {kind} {name}: load_model rebuilds it as "
                             f"{name}(**{config!r}), from its get_config(), which fails: "
                             f"{err}. Make {name}.get_config() return the arguments of its "
                             f"__init__") from None
    for key, value in config.items():
        try:
            json.dumps(value, default=_numpy_scalar)
        except (TypeError, ValueError) as err:  # ValueError: a list that holds itself
            raise ValueError(f"cannot save {kind} {name}: its get_config()[{key!r}] is "
                             f"{value!r}, which JSON cannot hold ({err}); give numbers, str, "
                             f"True, False, None, and lists and dicts of them") from None
    return {"class": name, "config": config}


def _numpy_scalar(value: Any) -> Any:
    """``json.dumps``'s ``default``: a NumPy bool, int or float, ``np.int64(6)`` or
    ``np.float32(0.5)`` (a size from ``x.shape[1] * 2``, a rate from an array), as the
    Python value it holds, as tinynet's own layers take them; anything else JSON cannot
    hold is a TypeError (a longdouble's ``item()`` is itself, a timedelta's an int)."""
    # Kinds b, i, u, f: bool, int, unsigned, float (timedelta64, kind m, is an integer too)
    if isinstance(value, np.generic) and value.dtype.kind in "biuf" and value.itemsize <= 8:
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _metric_entry(name: str, fn: Callable) -> str:
    """The file's name of a compiled metric, refusing a function of one's own that has the
    name of one of tinynet's: load_model would compute tinynet's metric under that name."""
    own = metrics_module.METRICS.get(name)
    # compile wraps a function of one's own (functools.wraps keeps it as __wrapped__).
    if own is not None and getattr(fn, "__wrapped__", fn) is not own:
        raise ValueError(f"cannot save metric {name}: load_model would compute it as "
                         f"tinynet's metric {name!r}, not as the function of that name it "
                         "is; give your function a name of its own")
    return name


def _describe(model: Sequential) -> dict[str, Any]:
    """The JSON document of ``model`` (see the module docstring)."""
    doc: dict[str, Any] = {
        "format": FORMAT_NAME,
        # 1 unless a layer is frozen: a reader of version 1 would train it.
        "format_version": 2 if any(not layer.trainable for layer in model.layers) else 1,
        "tinynet_version": tinynet.__version__,
        "seed": int(model.seed),
        "steps_trained": model.steps_trained,
        "input_shape": list(model.input_shape) if model.input_shape is not None else None,
        "layers": [_layer_entry(i, layer) for i, layer in enumerate(model.layers)],
        "compile": None,
        "history": None,
        "metadata": model.metadata,
    }
    if model.loss is not None and model.optimizer is not None:
        optimizer = _class_entry(model.optimizer, optim_module, Optimizer)
        optimizer["iterations"] = int(model.optimizer.iterations)
        doc["compile"] = {
            "loss": _class_entry(model.loss, losses_module, Loss),
            "optimizer": optimizer,
            "metrics": [_metric_entry(name, fn) for name, fn in model.metrics],
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


#: The longest description :func:`load_model` reads, and :func:`save_model` writes. A
#: model's takes a few kilobytes, and a History of thousands of epochs a few megabytes; more
#: is a damaged or hostile file, whose few compressed kilobytes may claim gigabytes.
MAX_JSON_BYTES = 64 * 2**20


def model_json(model: Sequential, target: str | os.PathLike) -> str:
    """The JSON document :func:`save_model` writes for ``model``, as text, or the ValueError
    it raises for a model it cannot save (see there); ``target`` is the file named in that
    error. Writes nothing: a ModelCheckpoint calls it before the first epoch, so that such a
    model fails before training, not when the first epoch's training is done."""
    metadata = model.metadata
    if not isinstance(metadata, dict):  # load_model takes back a JSON object only
        raise ValueError(f"cannot save the model to {target}: model.metadata must be a dict "
                         f"with str keys, got {metadata!r}")
    try:
        text = json.dumps(_describe(model), indent=2, default=_numpy_scalar)
    except (TypeError, ValueError) as err:  # a value JSON cannot hold, or a cycle
        raise ValueError(f"cannot save the model to {target}: {err}") from err
    # What load_model gives back, as it was: JSON writes int keys as strings and tuples as
    # lists, and the loaded model would hold others than the saved one. (The metadata alone
    # is read back: the whole text holds the History too, which a checkpoint writes each
    # epoch.)
    back = json.loads(json.dumps(metadata, default=_numpy_scalar))
    if not _same_json(back, metadata):
        raise ValueError(f"cannot save the model to {target}: model.metadata must be a dict "
                         f"with str keys of JSON values (dicts with str keys, lists, str, "
                         f"numbers, True, False, None), got {metadata!r}, which would load "
                         f"as {back!r}")
    size = len(text.encode("utf-8"))
    if size > MAX_JSON_BYTES:  # load_model would refuse the file
        sizes = {key: len(json.dumps(value, indent=2).encode("utf-8"))
                 for key, value in json.loads(text).items()}
        largest = max(sizes, key=lambda key: sizes[key])
        raise ValueError(f"cannot save the model to {target}: its description would take "
                         f"{size:,} bytes, more than the {MAX_JSON_BYTES:,} that load_model "
                         f"reads; the largest part is {largest!r} ({sizes[largest]:,} bytes)")
    return text


def _same_json(loaded: Any, value: Any) -> bool:
    """Whether ``value`` is what JSON gives back as ``loaded``: the same types too (a tuple
    comes back a list, an int key a str, 1.0 stays a float)."""
    if type(loaded) is not type(value):
        return False
    if isinstance(value, dict):
        return (list(loaded) == list(value)
                and all(_same_json(loaded[k], value[k]) for k in value))
    if isinstance(value, list):
        return len(loaded) == len(value) and all(map(_same_json, loaded, value))
    return loaded == value or (value != value and loaded != loaded)  # NaN is NaN


def save_model(model: Sequential, path: str | os.PathLike) -> Path:
    """Save ``model`` to one ``.npz`` file and return the path written.

    ``.npz`` is appended to ``path`` when it has another suffix or none, as ``np.savez``
    does (a suffix ``.NPZ``, in any case, is kept); :func:`load_model` accepts the same
    ``path``, so ``save_model(m, "net")`` and ``load_model("net")`` both use ``net.npz``
    (unless a file named ``net`` exists: as ``np.load``, :func:`load_model` reads the file
    named, when there is one).

    A layer, loss or optimiser of your own is saved by its class name and ``get_config()``;
    load the file with ``load_model(path, custom_objects={"Name": Name})``.

    Raises ValueError before writing anything when ``path`` names a folder (``"runs"`` would
    otherwise be written as ``runs.npz`` beside it), when a class or metric function of your
    own has the name of one of tinynet's, when a class has a ``get_config()`` that does not
    give the arguments of its ``__init__``, when a configuration is not JSON, when
    ``model.metadata`` is not a dict that JSON gives back as it is (str keys; lists, not
    tuples), or when the description (History and metadata included) would be longer than
    :data:`MAX_JSON_BYTES`, which :func:`load_model` would refuse.
    """
    _as_path(path)  # a TypeError or ValueError unless path names a file
    not_a_folder("path", path if isinstance(path, str) else str(path), "model.npz")
    target = model_path(path)
    text = model_json(model, target)
    arrays = _arrays(model)  # keys "layer..." and "opt...": never JSON_KEY
    arrays[JSON_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    write_atomic(target, lambda tmp: _savez(tmp, arrays))  # a missing folder: FileNotFoundError
    return target


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """The archive, written to the open file: to a file object, np.savez appends no suffix."""
    with open(path, "wb") as f:
        # NumPy's type hints take a ** dict for savez's allow_pickle keyword too; JSON_KEY and
        # the "layer..."/"opt..." keys never name it.
        np.savez(f, **arrays)  # type: ignore[arg-type]


# -------------------------------------------------------------------------------- loading
def _resolve(path: str | os.PathLike) -> Path:
    """``path``, or ``path + ".npz"`` when only that exists (what :func:`save_model` wrote;
    "M.NPZ.npz" for "M.NPZ" too, as it did before it kept a suffix in capitals)."""
    path = _as_path(path)
    appended = path.with_name(path.name + SUFFIX)
    if not path.exists() and appended.exists():
        path = appended
    if not path.exists():
        raise FileNotFoundError(f"no model file {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a model file")
    return path


def _check_header(path: Path, file: BinaryIO) -> None:
    """Refuse, by their first bytes, the files that are not zip archives at all."""
    head = file.read(8)
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


#: An array of the archive as its .npy header describes it: (shape, dtype).
Header = tuple[tuple[int, ...], np.dtype]


#: What zipfile and zlib raise on a damaged archive: besides BadZipFile, an OSError for a
#: directory whose offset makes zipfile seek before the file's start, a RuntimeError for an
#: entry flagged as encrypted, NotImplementedError for an unknown compression method.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
            NotImplementedError)


def _read_headers(path: Path, file: BinaryIO) -> dict[str, Header]:
    """The shape and dtype of every array of the archive, by key, from the .npy headers
    alone. Nothing else is decompressed yet: an array the architecture does not have is
    refused unread, and each header must give the size of the data that follows it, so
    that a small file cannot make loading allocate more than it holds."""
    headers = {}
    try:
        with zipfile.ZipFile(file) as archive:
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    # NumPy writes entries stored (savez) or deflated (savez_compressed).
                    # LZMA, which Python reads too, inflates a few kilobytes to gigabytes.
                    raise ModelFormatError(path, f"entry {info.filename!r} is compressed by "
                                                 f"method {info.compress_type}, expected "
                                                 f"stored or deflated (as NumPy writes them)")
                if key in headers:
                    # "a" and "a.npy", or "a.npy" twice: np.load would read another entry
                    # than the one whose header was checked (a size, a dtype never seen).
                    raise ModelFormatError(path, f"the archive holds array {key!r} twice "
                                                 f"({info.filename!r} and another entry)")
                with archive.open(info) as f:
                    try:
                        version = np.lib.format.read_magic(f)
                        # Versions 1 and 2 differ by the header's length field; 3 is for
                        # field names in UTF-8, which no array tinynet saves has.
                        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                                       (2, 0): np.lib.format.read_array_header_2_0}[version]
                        shape, _, dtype = read_header(f)
                    except (ValueError, KeyError) as err:
                        raise ModelFormatError(path, f"entry {info.filename!r} is not a .npy "
                                                     f"array of numbers ({err})") from None
                    if dtype.hasobject:
                        raise ModelFormatError(
                            path, "the archive holds pickled Python objects (object arrays), "
                                  "which tinynet never writes and will not load (unpickling "
                                  "runs code)")
                    size = math.prod(shape) * dtype.itemsize
                    if f.tell() + size != info.file_size:
                        raise ModelFormatError(
                            path, f"the archive is damaged: array {key!r} has a header for "
                                  f"{shape} {dtype} ({size:,} bytes), but "
                                  f"{info.file_size - f.tell():,} bytes of data")
                headers[key] = shape, dtype
    except PermissionError:  # the file cannot be read, which says nothing of what it holds
        raise
    except _DAMAGED as err:
        raise ModelFormatError(path, f"the archive is truncated or damaged ({err})") from err
    return headers


def _read_arrays(path: Path, file: BinaryIO, keys: list[str]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of the archive, whose headers :func:`_read_headers` checked, read
    without unpickling anything."""
    try:
        file.seek(0)  # np.load reads the archive's kind from where the file stands
        with np.load(file, allow_pickle=False) as npz:
            return {key: npz[key] for key in keys}
    except PermissionError:
        raise
    except (*_DAMAGED, ValueError, KeyError) as err:
        raise ModelFormatError(path, f"the archive is truncated or damaged ({err})") from err


def _parse_json(path: Path, file: BinaryIO, headers: dict[str, Header]) -> dict[str, Any]:
    if JSON_KEY not in headers:
        raise ModelFormatError(path, f"not a tinynet model: the archive has no {JSON_KEY} "
                                     f"entry (it holds {sorted(headers)[:5]})")
    shape, dtype = headers.pop(JSON_KEY)
    if dtype != np.uint8 or len(shape) != 1:
        raise ModelFormatError(path, f"{JSON_KEY} must be a 1-D uint8 array, got "
                                     f"{dtype} of shape {shape}")
    if shape[0] > MAX_JSON_BYTES:
        raise ModelFormatError(path, f"{JSON_KEY} is {shape[0]:,} bytes, more than the "
                                     f"{MAX_JSON_BYTES:,} of any model's description")
    raw = _read_arrays(path, file, [JSON_KEY])[JSON_KEY]
    try:
        doc = json.loads(raw.tobytes().decode("utf-8"))
    except ValueError as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ModelFormatError(path, f"{JSON_KEY} is not valid JSON: {err}") from err
    except RecursionError:  # lists in lists, thousands deep
        raise ModelFormatError(path, f"{JSON_KEY} is nested too deeply to be read") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ModelFormatError(path, f"not a tinynet model: format is {found!r}, expected "
                                     f"{FORMAT_NAME!r}")
    version = doc.get("format_version")
    if not is_int_at_least(version, 1):
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
    # JSON true/false is not a number here, though Python's bool is an int.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise ModelFormatError(path, f"{where}{key!r} must be a JSON {names}, got {value!r}")
    return value


def _build(path: Path, entry: Any, module: Any, base: type, where: str,
           custom_objects: dict[str, Any]) -> Any:
    """An object of class ``entry["class"]``, of ``module`` or else of ``custom_objects``,
    built from ``entry["config"]``."""
    if not isinstance(entry, dict):
        raise ModelFormatError(path, f"{where}expected a JSON object with 'class' and "
                                     f"'config', got {entry!r}")
    name = _field(path, entry, "class", str, where)
    config = _field(path, entry, "config", dict, where)
    kind = base.__name__.lower()
    cls = _own_class(module, name, base)
    if cls is None:
        if name not in custom_objects:
            given = f" (custom_objects has {sorted(custom_objects)})" if custom_objects else ""
            raise ModelFormatError(
                path, f"{where}unknown {kind} type {name!r}: {module.__name__} has no such "
                      f"class; for {'an' if kind[0] in 'aeiou' else 'a'} {kind} of your "
                      f"own, pass its class{given}: "
                      f"load_model(path, custom_objects={{{name!r}: {name}}})")
        cls = custom_objects[name]
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise TypeError(f"load_model: custom_objects[{name!r}] must be a subclass of "
                            f"{base.__module__}.{base.__name__}, for the file's {where}{name}, "
                            f"got {cls!r}")
    try:
        return cls(**config)
    except (TypeError, ValueError) as err:
        raise ModelFormatError(path, f"{where}cannot build {name}(**{config}): {err}") from err


def _take(path: Path, headers: dict[str, Header], key: str, like: np.ndarray,
          what: str) -> str:
    """``key``, its header removed from ``headers``, refused unless the array it describes
    matches ``like`` in shape and dtype."""
    if key not in headers:
        raise ModelFormatError(path, f"array {key!r} ({what}) is missing")
    shape, dtype = headers.pop(key)
    if shape != like.shape:
        raise ModelFormatError(path, f"array {key!r} has shape {shape}, but the architecture "
                                     f"needs {like.shape} for {what}")
    if dtype != like.dtype:
        raise ModelFormatError(path, f"array {key!r} has dtype {dtype}, but the architecture "
                                     f"needs {like.dtype} for {what}")
    return key


def _custom_objects(custom_objects: Any) -> dict[str, Any]:
    """``load_model``'s ``custom_objects`` as a dict, or a TypeError naming what is wrong:
    it must map names to classes (or metric functions), none of them a name of tinynet's
    own classes or metrics, which the file's names always mean."""
    if custom_objects is None:
        return {}
    if not isinstance(custom_objects, Mapping):
        raise TypeError(f"load_model: custom_objects must be a dict of class names to "
                        f"classes, {{'Scale': Scale}} say, got {custom_objects!r}")
    for name in custom_objects:
        if not isinstance(name, str):
            raise TypeError(f"load_model: custom_objects keys must be class or function "
                            f"names (str), got {name!r}")
        for module, base in ((layers_module, Layer), (losses_module, Loss),
                             (optim_module, Optimizer)):
            if _own_class(module, name, base) is not None:
                raise TypeError(f"load_model: custom_objects[{name!r}] names tinynet's own "
                                f"{module.__name__}.{name}, which the file's {name!r} means; "
                                "a class of your own needs a name of its own")
        if name in metrics_module.METRICS:  # save_model refuses a function of one's own so named
            raise TypeError(f"load_model: custom_objects[{name!r}] names tinynet's metric "
                            f"{name!r}, which the file's {name!r} means; a function of your "
                            "own needs a name of its own")
    return dict(custom_objects)


def load_model(path: str | os.PathLike,
               custom_objects: Mapping[str, type | Callable] | None = None) -> Sequential:
    """Load a model saved by :func:`save_model` (or ``model.save``); never unpickles.

    ``path`` may omit the ``.npz`` that saving appended. The model comes back with its seed,
    weights, and, when it was compiled, its loss, optimiser (state and step count included),
    metrics and History (``model.history``), ready to ``predict`` or to continue ``fit``.

    ``custom_objects`` maps the class names of the layers, loss and optimiser of your own
    that the model holds to their classes, and the names of its metric functions to the
    functions, as in Keras: ``{"Scale": Scale, "top2": top2}`` (a metric is logged under its
    name there, whatever its function's ``__name__``). The file holds only their
    names and ``get_config()`` values, so it runs none of their code; the classes you pass
    do. A metric function missing from it is left out, with a warning.

    Raises:
        FileNotFoundError: no such file.
        ModelFormatError: (a ValueError) the file is not a tinynet model, is truncated or
            damaged (an array whose header promises more data than follows it), holds
            pickled objects, was written by a newer tinynet, names a layer type neither
            tinynet nor ``custom_objects`` has, holds arrays missing, extra or of the wrong
            shape, an array twice (``a`` and ``a.npy``), an entry compressed otherwise
            than NumPy compresses, a description longer than :data:`MAX_JSON_BYTES`, or a
            History that ``fit`` would not have recorded. An extra or damaged array is
            refused before any array is read, and a file's arrays are read only once its
            description is checked.
        TypeError: ``custom_objects`` is not a dict of names, or gives a class of the wrong
            kind (a loss for a layer), or a key that names one of tinynet's own classes or
            metrics.
    """
    custom_objects = _custom_objects(custom_objects)
    path = _resolve(path)
    # Opened once for every read: opened again, the path could name another file by then (a
    # ModelCheckpoint's save renames a new one over it), and the description of one file
    # would be loaded with the arrays of the other.
    with open(path, "rb") as file:
        return _load(path, file, custom_objects)


def _load(path: Path, file: BinaryIO, custom_objects: dict[str, Any]) -> Sequential:
    """:func:`load_model` of the file ``path``, open as ``file``."""
    _check_header(path, file)
    headers = _read_headers(path, file)
    doc = _parse_json(path, file, headers)
    # Each array's header is taken out of ``headers`` as it is checked, so that any left at
    # the end is an array that the architecture does not have. The arrays themselves are
    # read only once everything else is checked.

    # The layers, rebuilt from their configs, and their weights.
    entries = _field(path, doc, "layers", list)
    seed = _field(path, doc, "seed", int)
    if seed < 0:
        raise ModelFormatError(path, f"'seed' must be >= 0, got {seed}")
    # A description of a few hundred bytes may ask for thousands of large layers: building
    # stops at the first that takes the parameters built so far past what the file's
    # arrays could fill (twice over, and a megabyte: a layer of one's own may hold a
    # placeholder until init_params, which the model calls, makes the real parameters).
    # Names, shapes and dtypes are checked once the model has made them, below.
    held = sum(math.prod(shape) * dtype.itemsize for shape, dtype in headers.values())
    budget, built = 2 * held + 2**20, 0
    layers: list[Layer] = []
    try:
        for i, entry in enumerate(entries):
            layer = _build(path, entry, layers_module, Layer, f"layers[{i}]: ", custom_objects)
            layers.append(layer)
            built += sum(p.nbytes for p in layer.params.values())
            if built > budget:
                raise ModelFormatError(path, f"layers[{i}]: the layers up to this one have "
                                             f"{built:,} bytes of parameters, more than the "
                                             f"file's arrays ({held:,} bytes) could fill")
        # The model draws the weights again, from its seed: as large an allocation.
        model = Sequential(layers, seed=seed)
    except MemoryError:  # sizes in a config that no file of this size can hold the weights of
        raise ModelFormatError(path, "the layers' sizes are too large to build; the file "
                                     "is damaged or not a model tinynet saved") from None
    weight_keys = [_take(path, headers, f"layer{i}.{name}", p, f"{type(layer).__name__}.{name}")
                   for i, layer in enumerate(model.layers) for name, p in layer.params.items()]
    for i, (entry, layer) in enumerate(zip(entries, model.layers, strict=True)):
        # Left out for a trainable layer, as in every file written before layers froze.
        trainable = _field(path, entry, "trainable", bool, f"layers[{i}]: ", optional=True)
        layer.trainable = trainable is not False

    # What training needs to go on: fit's step count (it names the epochs' random streams),
    # and the loss, optimiser and metrics, with the optimiser's state.
    steps_trained = _field(path, doc, "steps_trained", int, optional=True)
    if steps_trained is not None and steps_trained < 0:
        raise ModelFormatError(path, f"'steps_trained' must be >= 0, got {steps_trained}")
    compiled = _field(path, doc, "compile", dict, optional=True)
    optimizer: Optimizer | None = None
    state_keys: list[dict[str, str]] = []
    iterations = 0
    if compiled is not None:
        optimizer, state_keys, iterations = _compile_as_saved(path, model, compiled, headers,
                                                              custom_objects)
    if headers:
        raise ModelFormatError(path, f"unexpected arrays {sorted(headers)[:5]}: the file does "
                                     "not match the architecture it describes")
    input_shape = _field(path, doc, "input_shape", list, optional=True)
    # One sample's shape, as summary() and tinynet's CLI use it: int("a") raised a bare
    # ValueError that named no file, and 2.5 or true were taken as 2 and 1.
    if input_shape is not None and not all(is_int_at_least(d, 1) for d in input_shape):
        raise ModelFormatError(path, f"'input_shape' must be a list of ints >= 1, got "
                                     f"{input_shape!r}")

    saved_history = _field(path, doc, "history", dict, optional=True)
    history = _history(path, saved_history) if saved_history is not None else None
    metadata = _field(path, doc, "metadata", dict, optional=True) or {}

    # The description is checked: only now read the arrays, then fill the model.
    arrays = _read_arrays(path, file, [*weight_keys, *(k for keys in state_keys
                                                       for k in keys.values())])
    model.set_weights([arrays[key] for key in weight_keys])
    if optimizer is not None:
        states = [{name: arrays[key] for name, key in keys.items()} for keys in state_keys]
        try:  # shapes and dtypes are checked above; set_state checks the values too
            optimizer.set_state([p for p, _ in model.parameters()], states, iterations)
        except ValueError as err:
            raise ModelFormatError(path, f"compile.optimizer: {err}") from None
    if input_shape is not None:
        model.input_shape = tuple(input_shape)
    model.history = history
    model.metadata = metadata
    # A file written before the model kept its own count: fit's steps were the optimiser's.
    model.steps_trained = steps_trained if steps_trained is not None else iterations
    return model


def _compile_as_saved(path: Path, model: Sequential, compiled: dict[str, Any],
                      headers: dict[str, Header], custom_objects: dict[str, Any]
                      ) -> tuple[Optimizer, list[dict[str, str]], int]:
    """Compile ``model`` with the loss, optimiser and metrics of the JSON ``"compile"`` entry,
    and take the headers of the optimiser's state arrays out of ``headers``: ``(optimizer,
    keys, iterations)``, one ``{state name: array key}`` per parameter and the step count,
    checked but not yet set."""
    loss = _build(path, _field(path, compiled, "loss", dict, "compile: "),
                  losses_module, Loss, "compile.loss: ", custom_objects)
    opt_entry = _field(path, compiled, "optimizer", dict, "compile: ")
    optimizer = _build(path, opt_entry, optim_module, Optimizer, "compile.optimizer: ",
                       custom_objects)
    iterations = _field(path, opt_entry, "iterations", int, "compile.optimizer: ")
    if iterations < 0:  # set_state refuses it too, but naming the optimiser, not the file
        raise ModelFormatError(path, f"compile.optimizer: 'iterations' must be >= 0, got "
                                     f"{iterations}")
    metrics: list[str | Callable] = []
    names = []  # the file's name of each of metrics
    for name in _field(path, compiled, "metrics", list, "compile: "):
        if not isinstance(name, str):  # not a name: no function of one's own is meant
            raise ModelFormatError(path, f"compile: 'metrics' must hold names (JSON str), "
                                         f"got {name!r}")
        if name in metrics_module.METRICS:
            metrics.append(name)
            names.append(name)
        elif name in custom_objects:
            function = custom_objects[name]
            if isinstance(function, type) or not callable(function):
                raise TypeError(f"load_model: custom_objects[{name!r}] must be the metric "
                                f"function {name}(y_pred, y_true), got {function!r}")
            metrics.append(function)
            names.append(name)
        else:
            warnings.warn(f"{path}: metric {name!r} is a function of your own, which the "
                          f"file cannot hold; pass it to load it: load_model(path, "
                          f"custom_objects={{{name!r}: {name}}})", stacklevel=user_stacklevel())
    try:
        model.compile(loss, optimizer, metrics)
    except ValueError as err:  # the same metric twice, say
        raise ModelFormatError(path, f"compile: {err}") from None
    # Logged under the file's name, not the __name__ of the function given for it (another
    # def, a partial): the History saved with the model, and a callback's monitor, use it.
    model.metrics = [(name, fn) for name, (_, fn) in zip(names, model.metrics, strict=True)]
    params = [p for p, _ in model.parameters()]
    keys = [{name: _take(path, headers, f"opt.{j}.{name}", p, f"optimizer state {name} of "
                         f"parameter {j}") for name in optimizer.state_names}
            for j, p in enumerate(params)]
    return optimizer, keys, iterations


def _history(path: Path, saved: dict[str, Any]) -> History:
    """The History of the JSON ``"history"`` entry, refused unless it is one that ``fit``
    records: epochs, ints >= 0 in increasing order, and one number per epoch in each list
    (a resumed ``fit`` takes entry i of every list as epoch i's)."""
    epochs = _field(path, saved, "epoch", list, "history: ")
    values = _field(path, saved, "history", dict, "history: ")
    if not all(is_int_at_least(e, 0) for e in epochs) or any(
            a >= b for a, b in itertools.pairwise(epochs)):
        raise ModelFormatError(path, f"history: 'epoch' must be ints >= 0 in increasing "
                               f"order, got {epochs!r}")
    for key, numbers in values.items():
        if not isinstance(numbers, list) or len(numbers) != len(epochs) or not all(
                is_number(v) for v in numbers):
            raise ModelFormatError(path, f"history: {key!r} must be a list of {len(epochs)} "
                                         f"numbers, one per epoch, got {numbers!r}")
    history = History()
    history.epoch = list(epochs)
    history.history = {key: [float(v) for v in numbers] for key, numbers in values.items()}
    return history
