"""Optimisers: how a parameter moves given its gradient. The equations:
docs/optimizers.md#the-update-equations.

Contract: ``opt.step(pairs)`` takes the ``(param, grad)`` pairs of
:meth:`tinynet.Sequential.parameters` and updates every ``param`` *in place* (so the layer
holding it sees the change). State (velocities, moments) is kept per parameter array.
Defaults are Keras's.

The updates are written with in-place operations (``*=``, ``out=``) into a work array kept
per parameter: ``a = b * c + d`` would allocate a temporary array per operation, and for a
784x512 weight matrix those allocations cost more than the arithmetic. The comment above
each group of lines gives the equation it computes.

Arguments are named as in the equations: ``lr``, ``beta1``, ``beta2``, ``eps`` where Keras
writes ``learning_rate``, ``beta_1``, ``beta_2``, ``epsilon``; a Keras name is refused with a
TypeError that gives tinynet's. So are PyTorch's (``alpha`` for ``rho``, ``betas``), and the
parameters given first, as PyTorch's ``SGD(model.parameters(), lr=0.01)`` takes them: here
they come with each step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from copy import deepcopy
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tinynet.checks import (
    RefusesOtherLibraries,
    class_given,
    described,
    flag,
    int_at_least,
    keywords_taken,
    listed,
    no_attribute,
    number_in,
    other_library_message,
    other_name_message,
    real_array,
)

__all__ = ["OPTIMIZERS", "SGD", "Adam", "Optimizer", "Pairs", "RMSprop", "get"]

#: What ``step`` takes: ``(param, grad)`` pairs, as ``Sequential.parameters()`` gives them
#: (a grad is None before the first backward, which ``step`` refuses with a clear error).
Pairs = Iterable[tuple[np.ndarray, np.ndarray | None]]
#: The values a hyper-parameter may take: numbers in ``(low, high, low_inclusive)``, as
#: :func:`tinynet.checks.number_in` takes them (``high`` None: no upper bound); or, for None,
#: True or False (a flag, such as SGD's nesterov).
Range = tuple[float, float | None, bool] | None
#: The learning rate's :data:`Range` in every optimiser: any rate >= 0 (0 freezes training).
LR_RANGE: tuple[float, float | None, bool] = (0.0, None, True)

#: Keras's names of the arguments that tinynet names as its equations do.
KERAS_NAMES = {"learning_rate": "lr", "beta_1": "beta1", "beta_2": "beta2", "epsilon": "eps"}
#: PyTorch's (its Adam's ``betas=(beta1, beta2)`` is refused on its own: two names in one).
PYTORCH_NAMES = {"alpha": "rho"}

_WITH_THE_MODEL = ("model.save('model.npz') saves the optimiser's state with the model, and "
                   "tinynet.load_model('model.npz') restores both")
#: PyTorch's optimiser methods that a training loop ported from PyTorch calls, and how
#: tinynet says the same.
PYTORCH_METHODS = {
    "zero_grad": "tinynet's backward overwrites every gradient, never adds to it, so there is "
                 "nothing to zero: model.backward(dy), then optimizer.step(model.parameters())",
    "state_dict": _WITH_THE_MODEL,
    "load_state_dict": _WITH_THE_MODEL,
}


class Optimizer(RefusesOtherLibraries):
    """Base class. Subclasses implement :meth:`update` for one parameter, name their
    per-parameter state arrays in ``state_names``, and return their constructor's arguments
    from :meth:`get_config` (for saving). Example:
    docs/optimizers.md#an-optimiser-of-your-own."""

    #: Names of the per-parameter state arrays, in the order :meth:`update` uses them.
    state_names: tuple[str, ...] = ()
    #: Those of them that are running means of squared gradients, never negative: a
    #: negative one restored would make the step's square root NaN.
    square_states: tuple[str, ...] = ()
    #: Each hyper-parameter and its :data:`Range`: ``__setattr__`` checks every value set,
    #: the constructor's and a callback's alike.
    hyper_parameters: ClassVar[dict[str, Range]] = {"lr": LR_RANGE}

    def __init__(self, lr: float) -> None:
        self.lr = lr  # checked by __setattr__, as every hyper-parameter is
        self.iterations = 0  # number of steps taken, t in the equations
        # id(param) -> (param, {name: array}); the param itself is kept so its id is never
        # reused by another array while the state is alive.
        self._state: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        self._work: dict[int, np.ndarray] = {}  # id(param) -> scratch array, not state

    def step(self, pairs: Pairs) -> None:
        """Update each ``param`` in place from its ``grad``, of the param's shape, given as
        ``pairs``, ``[(param, grad), ...]``; ``self.iterations`` counts the steps (Adam's t).

        Every pair is checked before any parameter moves (a gradient of real numbers of its
        parameter's shape, a float parameter that can be written, each parameter once): a
        refused step changes nothing.
        """
        checked = self._checked_pairs(pairs)
        self.iterations += 1
        for param, grad in checked:
            key = id(param)
            if key not in self._work:
                self._work[key] = np.empty_like(param)
            self.update(param, grad, self.state(param), self._work[key])

    def _checked_pairs(self, pairs: Pairs) -> list[tuple[np.ndarray, np.ndarray]]:
        """``pairs`` as a list, each pair checked by :meth:`_checked`, or the error that
        refuses the step."""
        expected = "(param, grad) pairs, as model.parameters() gives them"
        if hasattr(pairs, "parameters"):  # the model itself (callable, model(x), too)
            raise TypeError(f"{self!r}: step takes {expected}, got a {type(pairs).__name__}: "
                            "give its pairs, opt.step(model.parameters())")
        if callable(pairs):  # model.parameters, the method, where its result belongs
            name = getattr(pairs, "__qualname__", type(pairs).__name__)
            raise TypeError(f"{self!r}: step takes {expected}, got {name}, a function: call "
                            "it, opt.step(model.parameters())")
        if not isinstance(pairs, Iterable):
            raise TypeError(f"{self!r}: step takes {expected}, got {type(pairs).__name__}")
        if (isinstance(pairs, tuple | list) and len(pairs) == 2
                and isinstance(pairs[0], np.ndarray) and pairs[0].dtype != object):
            # (W, dW) or [W, dW], whatever dW is: a list of pairs never starts with an array
            # of numbers. Refused below too, as such an item is, but this says what to do.
            raise TypeError(f"{self!r}: step takes {expected}, got one pair: put it in a list, "
                            "opt.step([(param, grad)])")
        checked = []
        for pair in pairs:
            # A tuple or a list of two, or a row of an object array of pairs: not any two
            # things, as the two rows of a weight matrix would be.
            if not ((isinstance(pair, tuple | list) and len(pair) == 2)
                    or (isinstance(pair, np.ndarray) and pair.dtype == object
                        and pair.shape == (2,))):
                raise TypeError(f"{self!r}: step takes {expected}, got {described(pair)} among "
                                "them")
            checked.append(self._checked(pair[0], pair[1]))
        # A parameter given twice would move twice in one step, and its state (momentum,
        # moments) would count the gradient twice.
        if len({id(param) for param, _ in checked}) < len(checked):
            raise ValueError(f"{self!r}: a parameter appears twice in the pairs, expected "
                             "each once (it would move twice in one step)")
        return checked

    def _checked(self, param: np.ndarray,
                 grad: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """``(param, grad)`` as ``step`` uses them, or the error that refuses the step: a
        grad of real numbers of param's shape, for a float param that can be written."""
        if not isinstance(param, np.ndarray):
            raise TypeError(f"{self!r}: a parameter must be a NumPy array (the step "
                            f"updates it in place), got {type(param).__name__}")
        if grad is None:
            raise RuntimeError(f"{self!r}: a parameter of shape {param.shape} has no "
                               "gradient yet: call model.backward before opt.step")
        # Each would fail inside update, once the parameters before it had moved.
        grad = real_array(grad, f"the gradient of a parameter of shape {param.shape}", self)
        if param.shape != grad.shape:
            raise ValueError(
                f"{self!r}: gradient of shape {grad.shape} for a parameter of shape "
                f"{param.shape}"
            )
        if param.dtype.kind != "f":
            raise ValueError(f"{self!r}: a parameter of shape {param.shape} has dtype "
                             f"{param.dtype}, expected a float dtype (it moves by "
                             "fractional steps, in place)")
        if not param.flags.writeable:
            raise ValueError(f"{self!r}: a parameter of shape {param.shape} is read-only, "
                             "expected an array the step can update in place")
        if self.square_states and param.dtype.itemsize < 4:
            # Training in float16 needs what tinynet leaves out (float32 copies of the
            # weights, a scaled loss). Without it the mean of squares that a step divides
            # by rounds to 0: float16's smallest number is 6e-8, and Adam adds
            # (1 - beta2) g**2 = 0.001 g**2 to it, 0 for |g| below 5e-3. Adam's first step
            # for g = 1e-3 would then be lr * m_hat / eps_hat, about 300 times lr (265 with
            # eps rounded to float16).
            raise ValueError(f"{self!r}: a parameter of shape {param.shape} is "
                             f"{param.dtype}, too narrow for the mean of squared gradients "
                             f"(float16 rounds what a step adds to it to 0 for small "
                             f"gradients: Adam's 0.001 * g**2 below 5e-3, RMSprop's "
                             f"0.1 * g**2 below 5e-4): build the layers in float32")
        return param, grad

    def state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        """The state arrays of ``param`` (zeros, of its shape and dtype, on first use)."""
        key = id(param)
        if key not in self._state:
            self._state[key] = (param, self._fresh_state(param))
        return self._state[key][1]

    def _fresh_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        """A state for ``param`` before its first step: each of :attr:`state_names`, zeros of
        its shape and dtype."""
        return {n: np.zeros_like(param) for n in self.state_names}

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
               work: np.ndarray) -> None:
        """Update ``param`` in place from ``grad`` and its ``state`` arrays; ``work`` is a
        scratch array of param's shape and dtype, whose contents mean nothing."""
        raise NotImplementedError(f"{type(self).__name__} has no update: an optimiser overrides "
                                  "update(param, grad, state, work), which changes param in "
                                  "place (docs/optimizers.md#an-optimiser-of-your-own)")

    def has_state_only_for(self, params: list[np.ndarray]) -> bool:
        """Whether every array this optimiser has stepped (or kept a state for) is one of
        ``params``: False for an optimiser that has trained another model."""
        ids = {id(p) for p in params}
        return all(key in ids for key in self._state)

    def get_state(self, params: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
        """Copies of the state arrays of each of ``params`` (for saving a checkpoint): zeros
        for a parameter not stepped yet, whose state this leaves uncreated."""
        return [{k: v.copy() for k, v in self._state[id(p)][1].items()} if id(p) in self._state
                else self._fresh_state(p) for p in params]

    def set_state(self, params: list[np.ndarray], states: list[dict[str, np.ndarray]],
                  iterations: int) -> None:
        """Restore what :meth:`get_state` returned, and the step count, for ``params``.

        Raises ValueError, before any state changes, unless each of ``params`` has a state
        with the names, dtypes and shapes its own has, none of its :attr:`square_states`
        negative, and ``iterations`` is an int >= 0; TypeError unless ``params`` is a list
        of arrays and ``states`` a list of dicts of arrays. (NaN and infinity are restored,
        as ``set_weights`` restores them: a run saved after it diverged loads as it was.)"""
        # Checked first, as the states are: converted after the states are copied in, a bad
        # count would refuse them half restored.
        iterations = int_at_least(f"{type(self).__name__}: iterations", iterations, 0)
        expected = "a list, one item per parameter"
        params = listed(params, "params", self, expected)
        states = listed(states, "states", self, expected)
        for i, p in enumerate(params):
            if not isinstance(p, np.ndarray):
                raise TypeError(f"{self!r}: params[{i}] must be a parameter array, got "
                                f"{described(p)}")
        for i, saved in enumerate(states):
            if not isinstance(saved, Mapping):
                raise TypeError(f"{self!r}: states[{i}] must be a dict of arrays, as get_state"
                                f"() gives it, got {described(saved)}")
        if len(states) != len(params):
            raise ValueError(f"{self!r}: states must hold one state per parameter, "
                             f"{len(params)}, got {len(states)}")
        # A parameter never stepped is checked against a fresh state, stored only once all
        # is checked: stored by a refused restore, it would tie the optimiser to the model
        # (has_state_only_for), and another model's compile would refuse it.
        triples = [(p, self._state[id(p)][1] if id(p) in self._state else self._fresh_state(p),
                    saved) for p, saved in zip(params, states, strict=True)]
        for i, (_, state, saved) in enumerate(triples):
            if set(saved) != set(state):
                raise ValueError(f"{self!r}: state names {sorted(saved)}, expected "
                                 f"{sorted(state)}")
            for k, v in saved.items():
                if not isinstance(v, np.ndarray):
                    raise TypeError(f"{self!r}: states[{i}][{k!r}] must be an array, got "
                                    f"{described(v)}")
                if v.shape != state[k].shape or v.dtype != state[k].dtype:
                    raise ValueError(f"{self!r}: state {k!r} is {v.dtype} {v.shape}, expected "
                                     f"{state[k].dtype} {state[k].shape}")
                negative = np.count_nonzero(v < 0) if k in self.square_states else 0
                if negative:
                    raise ValueError(f"{self!r}: state {k!r} has negative values ({negative} of "
                                     f"{v.size}), expected values >= 0 (a mean of squared "
                                     "gradients)")
        # All checked first: a refused restore leaves the optimiser as it was (half a
        # checkpoint with the old step count would be neither run).
        for p, state, saved in triples:
            self._state.setdefault(id(p), (p, state))
            for k, v in saved.items():
                state[k][...] = v
        self.iterations = iterations

    def __deepcopy__(self, memo: dict[int, Any]) -> Optimizer:
        # The state is kept by id(param). copy.deepcopy(model) copies the layers, and so each
        # parameter, before the optimiser: a parameter's copy is then in memo, and the copy's
        # state is kept for it, so the copied model trains on as the model would (under the
        # old ids it would find nothing and start Adam's moments from zero). An optimiser
        # copied alone copies its state for the same parameters: a snapshot of it.
        copy = type(self).__new__(type(self))
        memo[id(self)] = copy
        # __dict__ directly: __setattr__ would check every hyper-parameter again.
        for name, value in self.__dict__.items():
            if name not in ("_state", "_work"):
                copy.__dict__[name] = deepcopy(value, memo)
        params = [(memo.get(id(p), p), arrays) for p, arrays in self._state.values()]
        copy.__dict__["_state"] = {id(p): (p, deepcopy(arrays, memo)) for p, arrays in params}
        copy.__dict__["_work"] = {}  # scratch arrays, not state: made again when needed
        return copy

    # Pickled (by multiprocessing, joblib or the user; tinynet's own files never are), the
    # parameters come back as new arrays, with new ids: the state is keyed by them again.
    # Pickled with the model, each is the array its layer holds (pickle keeps one object
    # one object), so the unpickled model trains on as the model would.
    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_work": {}}  # scratch arrays, not state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)  # directly: __setattr__ would check them all again
        self.__dict__["_state"] = {id(p): (p, arrays) for p, arrays in state["_state"].values()}

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON values, that rebuild this optimiser (for
        saving); a subclass with arguments of its own returns them all."""
        return {"lr": self.lr}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # Not part of the optimiser's math: Keras's names (Adam(learning_rate=0.01)) and
    # PyTorch's SGD(model.parameters(), lr=0.01), which Python would refuse as "unexpected
    # keyword argument" and "multiple values for argument 'lr'"; see RefusesOtherLibraries.
    @classmethod
    def _refuse_other_libraries(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        takes = keywords_taken(cls)  # ["lr", ...], or None for an __init__ with **kwargs
        if takes is not None:
            _refuse_parameters(cls, takes, args, kwargs)
            _refuse_unknown_keywords(cls, takes, kwargs)

    # The same for attributes: a Keras callback that sets model.optimizer.learning_rate
    # would otherwise add an attribute that nothing reads, and training would go on at the
    # old rate without a word. Refused when the optimiser has tinynet's name for it.
    def __setattr__(self, name: str, value: Any) -> None:
        self._refuse_keras_name(name, f" = {value!r}")
        if name in self.hyper_parameters:
            # Checked here, not in step: a string, or NaN, set by a callback would fail (or
            # turn the weights to NaN) inside the next step, once Adam had updated a
            # parameter's moments and counted the step.
            value = self._accept(name, value)
        super().__setattr__(name, value)

    def _accept(self, name: str, value: Any) -> Any:
        """``value`` as kept for the hyper-parameter ``name`` (a float, or a bool for a flag),
        or an error naming ``name`` unless it is in its :data:`Range`, which leaves the
        optimiser as it was. A subclass may check more, such as how two of them go together,
        and prepare for the value (SGD allocates velocities for a momentum set)."""
        values = self.hyper_parameters[name]
        if values is None:  # a flag: bool("no") is True, so a string would turn it on
            return flag(value, name, type(self).__name__)
        return number_in(f"{type(self).__name__}: {name}", value, *values)

    # For the run only: to a type checker a __getattr__ would make any name an attribute,
    # opt.zero_grad() and a read of opt.learning_rate included, where it should report them.
    if not TYPE_CHECKING:
        def __getattr__(self, name: str) -> Any:  # called only for a name the object lacks
            self._refuse_keras_name(name)
            # optimizer.zero_grad() in a loop ported from PyTorch
            raise no_attribute(self, name, PYTORCH_METHODS)

    def _refuse_keras_name(self, name: str, assignment: str = "") -> None:
        """An AttributeError giving tinynet's name when ``name`` is Keras's name of one of
        this optimiser's attributes (``learning_rate`` for ``lr``); ``assignment`` is the
        ``" = value"`` being set, if any, shown in the example."""
        right = KERAS_NAMES.get(name)
        if right is not None and right in vars(self):
            raise AttributeError(other_name_message(type(self), name, right,
                                                    f"optimizer.{right}{assignment}"))


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov and weight decay.

    With g = grad + weight_decay * param (L2 regularisation), velocity v (starts at 0)::

        plain (momentum = 0):  param -= lr * g
        momentum:              v = momentum * v - lr * g;  param += v
        Nesterov:              v = momentum * v - lr * g;  param += momentum * v - lr * g

    Nesterov looks ahead: it applies the gradient step on top of the updated velocity.
    Why: docs/optimizers.md#each-one-in-a-sentence-or-two. Two steps by hand:
    docs/optimizers.md#two-steps-by-hand.
    """

    state_names: tuple[str, ...] = ("velocity",)  # () while momentum is 0
    hyper_parameters: ClassVar[dict[str, Range]] = {
        **Optimizer.hyper_parameters, "momentum": (0.0, 1.0, True), "nesterov": None,
        "weight_decay": (0.0, None, True),
    }

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        # Each checked by __setattr__; momentum before nesterov, which needs it
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.nesterov = nesterov

    def _accept(self, name: str, value: Any) -> Any:
        value = super()._accept(name, value)
        if name in ("momentum", "nesterov"):
            momentum = value if name == "momentum" else self.momentum
            # nesterov is not set yet when the constructor sets momentum
            nesterov = value if name == "nesterov" else getattr(self, "nesterov", False)
            if nesterov and momentum == 0:
                raise ValueError(f"SGD: nesterov=True needs a momentum > 0, got momentum="
                                 f"{momentum!r}")
        if name == "momentum" and (value == 0) != (self.state_names == ()):
            # Plain SGD keeps no velocity: nothing to allocate or save. A momentum set later,
            # by a callback, starts from a velocity of 0, as the constructor's does; one set to
            # 0 drops the velocities, which its step would forget anyway (v = 0 * v - lr * g).
            self.state_names = ("velocity",) if value else ()
            for param, arrays in self._state.values():
                arrays.clear()
                arrays.update(self._fresh_state(param))
        return value

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
               work: np.ndarray) -> None:
        """One step of ``param`` (any shape) in place, from ``grad``, ``work`` and the
        velocity in ``state``, all of param's shape (the rule in the class docstring)."""
        if self.weight_decay:
            grad = grad + self.weight_decay * param  # g
        step = np.multiply(grad, self.lr, out=work)  # lr * g, held in the scratch array
        if self.momentum == 0:
            param -= step
            return
        # BEGIN SOLUTION sgd-momentum
        # HINT: v = state['velocity']; v = momentum * v - step, in place; then param += v, or
        # HINT: with self.nesterov param += momentum * v - step (v the velocity just updated)
        v = state["velocity"]
        v *= self.momentum
        v -= step  # v = momentum * v - lr * g
        if self.nesterov:
            # param += momentum * v - lr * g, in two steps: once step is taken off, the
            # scratch array that holds it is free for momentum * v
            param -= step
            param += np.multiply(v, self.momentum, out=work)
        else:
            param += v
        # END SOLUTION

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}


class RMSprop(Optimizer):
    """Divide each step by a running root-mean-square of recent gradients.

    With the mean square v (starts at 0)::

        v = rho * v + (1 - rho) * grad**2
        param -= lr * grad / sqrt(v + eps)

    Parameters whose gradients are large take smaller steps, and vice versa. ``eps`` goes
    inside the square root, as in Keras, so the smallest divisor is sqrt(eps) ~ 3e-4.
    Why: docs/optimizers.md#each-one-in-a-sentence-or-two. Two steps by hand:
    docs/optimizers.md#two-steps-by-hand.
    """

    state_names = ("mean_square",)
    square_states = ("mean_square",)
    hyper_parameters: ClassVar[dict[str, Range]] = {
        **Optimizer.hyper_parameters, "rho": (0.0, 1.0, True), "eps": (0.0, None, False),
    }

    def __init__(self, lr: float = 0.001, rho: float = 0.9, eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.rho, self.eps = rho, eps  # each checked by __setattr__

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
               work: np.ndarray) -> None:
        """One step of ``param`` (any shape) in place, from ``grad``, ``work`` and the mean
        square in ``state``, all of param's shape (the rule in the class docstring)."""
        # BEGIN SOLUTION rmsprop
        # HINT: v = state['mean_square']; v = rho * v + (1 - rho) * grad**2, in place; then
        # HINT: param -= lr * grad / sqrt(v + eps)
        v = state["mean_square"]
        # v = rho * v + (1 - rho) * grad**2
        v *= self.rho
        np.square(grad, out=work)
        work *= 1 - self.rho
        v += work
        # param -= lr * grad / sqrt(v + eps)
        np.add(v, self.eps, out=work)
        np.sqrt(work, out=work)
        np.divide(grad, work, out=work)
        work *= self.lr
        param -= work
        # END SOLUTION

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr, "rho": self.rho, "eps": self.eps}


class Adam(Optimizer):
    """RMSprop's scaling plus momentum, both bias-corrected (Keras's form).

    With first moment m and second moment v (both start at 0), at step t = 1, 2, ...::

        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
        param -= lr_t * m / (sqrt(v) + eps)

    The correction undoes the pull towards 0 of moments that started at 0.
    Why: docs/optimizers.md#each-one-in-a-sentence-or-two. Two steps by hand:
    docs/optimizers.md#two-steps-by-hand.
    """

    state_names = ("m", "v")
    square_states = ("v",)
    hyper_parameters: ClassVar[dict[str, Range]] = {
        **Optimizer.hyper_parameters, "beta1": (0.0, 1.0, True), "beta2": (0.0, 1.0, True),
        "eps": (0.0, None, False),
    }

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps  # each checked by __setattr__

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
               work: np.ndarray) -> None:
        """One step of ``param`` (any shape) in place, from ``grad``, ``work`` and the
        moments m and v in ``state``, all of param's shape (the rule in the class
        docstring)."""
        # BEGIN SOLUTION adam
        # HINT: m, v = state['m'], state['v'], updated in place (see the docstring); with
        # HINT: t = self.iterations, lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t) and
        # HINT: param -= lr_t * m / (sqrt(v) + eps)
        t = self.iterations
        m, v = state["m"], state["v"]
        # m = beta1 * m + (1 - beta1) * grad
        m *= self.beta1
        m += np.multiply(grad, 1 - self.beta1, out=work)
        # v = beta2 * v + (1 - beta2) * grad**2
        v *= self.beta2
        np.square(grad, out=work)
        work *= 1 - self.beta2
        v += work
        # param -= lr_t * m / (sqrt(v) + eps)
        lr_t = self.lr * math.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        np.sqrt(v, out=work)
        work += self.eps
        np.divide(m, work, out=work)
        work *= lr_t
        param -= work
        # END SOLUTION

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


#: Each optimiser by its Keras name: called with no argument, it has Keras's defaults.
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}


def get(optimizer: str | Optimizer) -> Optimizer:
    """An optimiser from an :class:`Optimizer` or a Keras name with Keras's defaults."""
    if isinstance(optimizer, Optimizer):
        if not hasattr(optimizer, "_state"):  # one's own, whose __init__ forgot the base's
            raise ValueError(f"optimizer, a {type(optimizer).__name__}, has no step count or "
                             f"state: its __init__ must call super().__init__(lr) first")
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(class_given("optimizer", optimizer, Optimizer, "an optimiser") or
                     f"optimizer must be an Optimizer or one of {sorted(OPTIMIZERS)}, got "
                     f"{optimizer!r}")


def _refuse_parameters(cls: type[Optimizer], takes: list[str], args: tuple[Any, ...],
                       kwargs: dict[str, Any]) -> None:
    """A TypeError when the parameters are given to the constructor, as PyTorch's take them
    (``SGD(model.parameters(), lr=0.01)``, or ``params=``): a list or an iterator where
    ``cls`` takes ``lr`` first (or given as ``params``, which it does not take). The message
    shows the constructor without them; tinynet's optimiser takes them at each step.
    ``takes``: the names of the arguments ``cls.__init__`` takes, in order."""
    if args:
        params, rest = args[0], args[1:]
        if takes[:1] != ["lr"]:  # a class of one's own that takes something else first
            return
    elif "params" in kwargs and "params" not in takes:
        params, rest = kwargs["params"], ()
    else:
        return
    if not isinstance(params, list | tuple | Iterator):
        return  # a number, or not: lr's own check says what is wrong with it
    size = f" of {len(params)} items" if isinstance(params, list | tuple) else ""
    # PyTorch's lr after the parameters is tinynet's first argument, lr
    given = [*zip(takes, rest, strict=False), *((k, v) for k, v in kwargs.items()
                                               if k != "params")]
    example = f"{cls.__name__}({', '.join(f'{k}={v!r}' for k, v in given)})"
    raise TypeError(other_library_message(
        cls, f"params=<{type(params).__name__}{size}>", "a PyTorch argument",
        "tinynet's optimiser is given the parameters at each step, "
        f"optimizer.step(model.parameters()), or by model.compile(loss, optimizer): {example}"))


def _refuse_unknown_keywords(cls: type[Optimizer], takes: list[str],
                             kwargs: dict[str, Any]) -> None:
    """A TypeError for the first keyword argument that ``cls.__init__`` does not take (not
    among ``takes``): for a Keras or PyTorch name, one that gives tinynet's (``learning_rate``
    -> ``lr``); for any other, one that lists the names it takes."""
    for name, value in kwargs.items():
        if name in takes:
            continue
        for whose, names in (("Keras", KERAS_NAMES), ("PyTorch", PYTORCH_NAMES)):
            if names.get(name) in takes:
                right = names[name]
                raise TypeError(other_name_message(cls, f"{name}={value!r}", right,
                                                   f"{cls.__name__}({right}={value!r})", whose))
        if name == "betas" and "beta1" in takes:  # PyTorch's Adam(betas=(0.9, 0.999))
            pair = value if isinstance(value, tuple | list) and len(value) == 2 else ("...",) * 2
            raise TypeError(other_library_message(
                cls, f"{name}={value!r}", "a PyTorch argument", f"{cls.__name__} takes the "
                f"betas one by one, as its equations name them: {cls.__name__}(beta1="
                f"{pair[0]}, beta2={pair[1]})"))
        raise TypeError(f"{cls.__name__}: unexpected argument {name}={value!r}; "
                        f"{cls.__name__} takes {', '.join(takes)}")
