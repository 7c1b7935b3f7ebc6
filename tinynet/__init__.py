"""tinynet: a small, readable neural-network library in NumPy.

Every layer is a forward pass and a backward pass you can read; a network is a list of
layers; training is forward, loss, backward, optimiser step. See README.md and docs/.
"""

__version__ = "0.1.0"

# Under private names: dir(tinynet), and so an editor's completion, lists what it offers.
import importlib as _importlib
import types as _types
import typing as _typing

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

if _typing.TYPE_CHECKING:
    # What type checkers read instead of __getattr__, which would make every misspelt
    # name (tinynet.Dens) a valid attribute to them; "as" marks them re-exported.
    from tinynet import homework as homework
    from tinynet import imaging as imaging
    from tinynet import plot as plot
    from tinynet import reference as reference
else:
    def __getattr__(name: str) -> _types.ModuleType:
        """tinynet.plot, .imaging, .reference and .homework, imported on first use."""
        if name in _ON_FIRST_USE:
            return _importlib.import_module(f"tinynet.{name}")
        raise AttributeError(f"module 'tinynet' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The package's names, with the modules imported on first use."""
    return sorted({*globals(), *_ON_FIRST_USE})
