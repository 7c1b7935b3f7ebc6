"""tinynet: a small, readable neural-network library in NumPy.

Every layer is a forward pass and a backward pass you can read; a network is a list of
layers; training is forward, loss, backward, optimiser step. See README.md and docs/.
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from tinynet import datasets, gradcheck, init, layers, losses, metrics, optim
from tinynet.callbacks import (
    Callback,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
)
from tinynet.io import load_model
from tinynet.layers import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    RandomShift,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from tinynet.losses import MSE, CrossEntropy
from tinynet.model import Sequential
from tinynet.optim import SGD, Adam, RMSprop

__all__ = [
    "MSE",
    "SGD",
    "Adam",
    "Callback",
    "Conv2D",
    "CrossEntropy",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "Flatten",
    "History",
    "LearningRateScheduler",
    "MaxPool2D",
    "ModelCheckpoint",
    "ProgressBar",
    "RMSprop",
    "RandomShift",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "__version__",
    "datasets",
    "gradcheck",
    "init",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "optim",
]

#: Modules imported on first use (PEP 562), so that ``import tinynet`` stays fast: plot
#: imports matplotlib, half a second; the others serve the command line. ``tinynet.plot``
#: works after ``import tinynet`` all the same, as the other modules do.
_ON_FIRST_USE = ("homework", "imaging", "plot", "reference")

if TYPE_CHECKING:
    # What type checkers read instead of __getattr__, which would make every misspelt
    # name (tinynet.Dens) a valid attribute to them; "as" marks them re-exported.
    from tinynet import homework as homework
    from tinynet import imaging as imaging
    from tinynet import plot as plot
    from tinynet import reference as reference
else:
    def __getattr__(name: str) -> ModuleType:
        if name in _ON_FIRST_USE:
            return importlib.import_module(f"tinynet.{name}")
        raise AttributeError(f"module 'tinynet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_ON_FIRST_USE})
