"""Argument checks that several modules share, so that their messages read alike."""

from __future__ import annotations

import inspect
import math
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    # typing.Self from Python 3.11 on; only type checkers read this import, and they all
    # know typing_extensions: tinynet does not depend on it at run time.
    from typing_extensions import Self


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning raised by the caller of this function point
    at the first line outside tinynet: the line calling ``fit`` or ``load_model``, or the
    line of a callback of one's own that called the one warning
    (``super().on_train_begin(logs)``)."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    level, frame = 1, sys._getframe(1)  # the caller's frame is stacklevel 1
    while os.path.abspath(frame.f_code.co_filename).startswith(package):
        if frame.f_back is None:  # tinynet called from nowhere else: its first frame
            break
        level, frame = level + 1, frame.f_back
    return level


def verbose_level(verbose: object, owner: str | None = None) -> int:
    """``verbose`` as a level, or a ValueError: fit's (``owner`` None) 0 (silent), 1 (a
    progress bar) or 2 (a line per epoch), where Keras's default, ``"auto"``, is 1; a
    callback's, ``owner``, 0 or 1 (a line when it acts: a 2 would suggest a level that does
    not exist). False and True are 0 and 1, as Python counts them (NumPy's too), but not
    2.0 (a float is no level) nor "no" (which would be truthy)."""
    if owner is None and isinstance(verbose, str) and verbose == "auto":
        return 1
    levels = (0, 1, 2) if owner is None else (0, 1)
    if not isinstance(verbose, int | np.integer | np.bool_) or verbose not in levels:
        allowed = "'auto', 0, 1 or 2" if owner is None else "0 or 1"
        raise ValueError(f"{owner + ': ' if owner else ''}verbose must be {allowed}, got "
                         f"{verbose!r}")
    return int(verbose)


def is_int_at_least(value: object, low: int) -> TypeGuard[int | np.integer]:
    """Whether ``value`` is an int >= ``low``. NumPy integers count (``len(x) // 2`` of an
    array shape is one); bools do not, although Python counts True as 1, nor do floats, 2.0
    and JSON's 2.5 alike."""
    return (isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
            and bool(value >= low))


def int_at_least(name: str, value: object, low: int) -> int:
    """``value`` as an int >= ``low`` (:func:`is_int_at_least`), or a ValueError "<name> must
    be an int >= <low>, got <value>". ``name`` says whose argument it is, as in
    ``"EarlyStopping: patience"``."""
    if not is_int_at_least(value, low):
        shown = value.item() if isinstance(value, np.generic) else value  # 0, not np.int64(0)
        raise ValueError(f"{name} must be an int >= {low}, got {shown!r}")
    return int(value)


def number_in(name: str, value: object, low: float | None, high: float | None = None,
              low_inclusive: bool = True) -> float:
    """``value`` as a float in [low, high) (or (low, high) when not ``low_inclusive``; no
    upper bound when ``high`` is None), or a ValueError "<name> must be a number in
    [low, high), got <value>". Infinity and NaN are refused: an infinite step size or
    tolerance is never meant, and neither is a number that no float holds (10**400). Bools
    are not numbers here. With ``low`` and ``high`` both None, any finite number: "<name>
    must be a finite number, got <value>"."""
    if (is_number(value, finite=True)
            and (low is None or (value >= low if low_inclusive else value > low))
            and (high is None or value < high)):
        return float(value)
    if low is None and high is None:
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    bounds = (f"{'[' if low_inclusive else '('}{'-inf' if low is None else low}, "
              f"{'inf' if high is None else high})")
    raise ValueError(f"{name} must be a number in {bounds}, got {value!r}")


def unwrapped(value: object) -> Any:
    """The scalar a 0-d array holds (``np.where(epoch < 10, 0.1, 0.01)`` and some arithmetic
    give one where a number is meant); any other value as it is."""
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value


def described(value: object) -> str:
    """What an error says it got where a pair, or a list of them, was expected: "a tuple of
    3 items", "an array of shape (2, 2)", "None", "a value of type dict"."""
    if value is None:
        return "None"
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a value of type {type(value).__name__}"


def is_number(value: object, finite: bool = False
              ) -> TypeGuard[int | float | np.integer | np.floating]:
    """Whether ``value`` is one real number that a float holds: an int or a float (NumPy's
    too), not a bool (although Python counts True as 1), nor an int past the largest float
    (10**400, which JSON may hold); with ``finite``, not infinity or NaN either. Not
    np.isfinite, which refuses a Python int past 2**64 with a TypeError, and finds 1e4000
    in long double finite."""
    if not isinstance(value, int | float | np.integer | np.floating) \
            or isinstance(value, bool | np.bool_):
        return False
    try:
        as_float = float(value)
    except OverflowError:  # a Python int past the largest float
        return False
    return math.isfinite(as_float) or not finite


def class_given(where: str, value: object, base: type, what: str,
                call: str = "(...)") -> str | None:
    """The refusal of ``value``, given as ``where``, when it is ``base`` or a subclass, a
    class where an object of it was meant (``callbacks=[EarlyStopping]``, ``compile(loss=
    CrossEntropy)``); None for anything else. ``what`` names such an object, "a loss";
    ``call`` is what makes one, after the class's name."""
    if isinstance(value, type) and issubclass(value, base):
        return (f"{where} is the class {value.__name__}, not {what}: make one, "
                f"{value.__name__}{call}")
    return None


def as_array(x: object, name: str, owner: object = None,
             what: str = "an array of real numbers") -> np.ndarray:
    """``np.asarray(x)``, or for ragged nested lists (rows of different lengths), whose
    NumPy error names neither, a ValueError "<owner>: <name> must be <what>, got a list
    that is not one (NumPy's reason)"; without ``owner``, the message begins with ``name``.
    """
    try:
        return np.asarray(x)
    except ValueError as error:
        who = "" if owner is None else f"{_who(owner)}: "
        raise ValueError(f"{who}{name} must be {what}, got a {type(x).__name__} that is not "
                         f"one ({error})") from None


def real_array(x: object, name: str, owner: object) -> np.ndarray:
    """``x`` as an array, or a ValueError naming ``owner`` (a function's name, or a layer,
    shown by its repr) and ``name`` unless it holds real numbers: bool, int, uint or float
    (complex numbers, strings and objects are refused, not converted by guess). Never
    copies an array, and builds the owner's name only for an error: a layer's repr costs
    microseconds, and layers call this in every forward and backward of training."""
    array = as_array(x, name, owner)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{_who(owner)}: {name} must hold real numbers (bool, int, uint or "
                         f"float), got dtype {array.dtype}")
    return array


def beyond(low: float, high: float, dtype: np.dtype) -> bool:
    """Whether the finite numbers from ``low`` to ``high`` reach past what the float
    ``dtype`` holds, so that converting them to it would make infinities (1e39 in float32)."""
    # As Python floats: NumPy would cast float64's limit down to a float32 low's dtype.
    return max(-low, high) > float(np.finfo(dtype).max)


def too_large(a: np.ndarray, dtype: np.dtype) -> bool:
    """Whether ``a`` holds finite numbers too large for the float ``dtype`` (see
    :func:`beyond`). Infinities and NaN already in ``a`` are not counted: no conversion
    makes them. An ``a`` whose dtype converts without loss (load_model's weights, uint8
    pixels for float32) is not read at all."""
    if a.dtype.kind not in "iuf" or not a.size or np.can_cast(a.dtype, dtype, "safe"):
        return False
    # min and max rather than np.abs(a).max(): no array as large as a is made.
    low, high = float(a.min()), float(a.max())
    if math.isfinite(low) and math.isfinite(high):
        return beyond(low, high, dtype)
    finite = a[np.isfinite(a)]  # rare: only for an a holding NaN or infinities
    return bool(finite.size) and beyond(float(finite.min()), float(finite.max()), dtype)


def listed(values: object, name: str, owner: object, expected: str) -> list[Any]:
    """``values`` as a list, or a TypeError "<owner>: <name> must be <expected>, got <what it
    is>" unless it is a list or another iterable of items, one per parameter: an object array
    of one axis too (``np.save`` keeps a list of arrays so), never a dict (whose order is not
    the parameters'), a str, or one array of numbers."""
    if isinstance(values, Mapping | str) or not isinstance(values, Iterable) or (
            isinstance(values, np.ndarray) and (values.dtype != object or values.ndim != 1)):
        raise TypeError(f"{_who(owner)}: {name} must be {expected}, got {described(values)}")
    return list(values)


def copy_into(params: list[np.ndarray], weights: Iterable[ArrayLike], owner: str) -> None:
    """Copy ``weights`` into ``params``, one array into each in order, in place, converted to
    its dtype: ``set_weights`` of a model or of a layer (``owner``, which errors name)."""
    weights = listed(weights, "weights", owner,
                     "a list of arrays, one per parameter in the order of get_weights()")
    if len(weights) != len(params):
        raise ValueError(f"{owner}: weights must hold {len(params)} arrays, one per parameter, "
                         f"got {len(weights)}")
    arrays = [real_array(w, f"weights[{i}]", owner) for i, w in enumerate(weights)]
    for i, (p, w) in enumerate(zip(params, arrays, strict=True)):
        if w.shape != p.shape:
            raise ValueError(f"{owner}: weights[{i}] must have shape {p.shape}, got {w.shape}")
        if too_large(w, p.dtype):
            largest = float(np.abs(w[np.isfinite(w)]).max())  # NaN and inf are let through
            raise ValueError(f"{owner}: weights[{i}] holds numbers too large for the "
                             f"parameter's {p.dtype}, expected |w| <= "
                             f"{float(np.finfo(p.dtype).max):.4g}, got {largest:.4g}")
    # All checked first: a refused list leaves every parameter as it was.
    for p, w in zip(params, arrays, strict=True):
        p[...] = w


def flag(value: object, name: str, owner: object) -> bool:
    """``value`` as a bool, or a TypeError naming ``owner`` (as in :func:`real_array`) and
    ``name`` unless it is True or False (NumPy's too): a truthy string such as "no", or 1,
    would otherwise be taken for True without a word."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{_who(owner)}: {name} must be True or False, got {value!r}")
    return bool(value)


def not_a_folder(name: str, path: str, example: str) -> None:
    """A ValueError "<name> must name a file, got the folder <path> (to save in it:
    <path>/<example>)" when ``path`` ends in a path separator or is an existing folder, and
    "<name> must name a file, got ''" when it is empty (Path("") is the folder "."). Saving
    to "runs", with runs/ a folder, would write runs.npz beside it, which loading "runs"
    then refuses as a folder; and to "runs/" too, not a file in it. ``path`` is a str, not a
    Path, which would drop the trailing "/"."""
    if not path:
        raise ValueError(f"{name} must name a file, got ''")
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise ValueError(f"{name} must name a file, got the folder {path!r} (to save in it: "
                         f"{str(Path(path) / example)!r})")


def targets_hint(name: str, targets: tuple[int, ...], outputs: tuple[int, ...]) -> str:
    """The end of an error about targets of shape ``targets`` that a loss or metric compares
    entry by entry with outputs of shape ``outputs``: how to write what was likely meant,
    or "" when nothing is likely. ``name`` is the targets' argument name."""
    if len(targets) == 1 and outputs[1:] == (1,):  # a regression's (N,) for outputs (N, 1)
        return f" (one target per sample: {name}.reshape(-1, 1))"
    if len(targets) == 1 and len(outputs) == 2:  # class labels for (N, K) outputs
        return (f" (labels? one-hot encode them: tinynet.datasets.one_hot({name}, "
                f"{outputs[1]}))")
    return ""


def keywords_taken(cls: type[Any]) -> list[str] | None:
    """The names of the arguments ``cls.__init__`` takes, in order, or None when it takes
    any (``**kwargs``). A refusal of Keras's argument names asks first: a class of one's own
    may take one of them."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return [name for name in params if name != "self"]


class RefusesOtherLibraries:
    """The base of :class:`~tinynet.layers.Layer`, :class:`~tinynet.Sequential` and
    :class:`~tinynet.optim.Optimizer` that gives a clearer error for a constructor called the
    way Keras or PyTorch call theirs. Not part of any math.

    Python calls ``__new__`` with the constructor's arguments just before ``__init__`` binds
    them, so ``__new__`` sees ``Dense(784, 512, activation="relu")`` or
    ``SGD(model.parameters(), lr=0.01)`` before Python refuses it with a bare TypeError
    ("unexpected keyword argument", "multiple values for argument") that leaves the user to
    guess how tinynet says it. Each class says what it refuses in
    :meth:`_refuse_other_libraries`.
    """

    # A base class of its own, rather than a __new__ in each class: help() and Jupyter show
    # a class's arguments from whichever of __new__ and __init__ comes first along its bases,
    # and this (*args, **kwargs) must come after the class's own __init__.
    # Typed Self: to a type checker, a __new__ that returns this class would make Dense(...)
    # a bare RefusesOtherLibraries, whose constructor arguments and attributes it no longer
    # knows.
    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        cls._refuse_other_libraries(args, kwargs)
        return super().__new__(cls)

    @classmethod
    def _refuse_other_libraries(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Raise a TypeError that says how tinynet says it, for constructor arguments given
        the way another library takes them; leave any other mistake to Python's own error."""


def other_name_message(cls: type, given: str, right: str, example: str,
                       whose: str = "Keras") -> str:
    """The one wording of a name of Keras's (or of ``whose``, "PyTorch") that tinynet spells
    otherwise, for a layer or an optimiser, as an argument or as an attribute: "Adam:
    learning_rate=0.01 is Keras's name; tinynet's is lr, as in Adam(lr=0.01)"."""
    return f"{cls.__name__}: {given} is {whose}'s name; tinynet's is {right}, as in {example}"


def other_library_message(cls: type, given: str, what: str, hint: str) -> str:
    """The one wording of something of Keras's or PyTorch's that tinynet does without, for a
    layer, an optimiser or a model: "Dense: activation='relu' is a Keras argument; <how
    tinynet says it>" (``what`` is "a Keras argument", "a PyTorch method", ...)."""
    return f"{cls.__name__}: {given} is {what}; {hint}"


def no_attribute(owner: object, name: str, pytorch_methods: dict[str, str],
                 keras_methods: dict[str, str] | None = None) -> AttributeError:
    """The error for ``owner.name`` that ``owner`` lacks, for a ``__getattr__`` to raise:
    for one of ``pytorch_methods`` or ``keras_methods`` (the methods code ported from PyTorch
    or Keras calls, and how tinynet says the same), one in :func:`other_library_message`'s
    wording; for any other name, Python's own "object has no attribute"."""
    cls = type(owner)
    if name in pytorch_methods:
        return AttributeError(other_library_message(cls, name, "a PyTorch method",
                                                    pytorch_methods[name]))
    if keras_methods and name in keras_methods:
        return AttributeError(other_library_message(cls, name, "a Keras method",
                                                    keras_methods[name]))
    return AttributeError(f"{cls.__name__!r} object has no attribute {name!r}")


def _who(owner: object) -> str:
    """How an error message names ``owner``: a function's name as it is, a layer by its repr."""
    return owner if isinstance(owner, str) else repr(owner)


def generator(owner: str, rng: object) -> np.random.Generator:
    """``rng``, or a fresh ``np.random.default_rng()`` when it is None; a TypeError naming
    ``owner`` for anything else (an int seed, a legacy RandomState), which would otherwise
    fail only at the first draw, far from the cause."""
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{owner}: rng must be a numpy.random.Generator, e.g. "
                        f"np.random.default_rng(seed), or None, got {rng!r}")
    return rng
