"""tinynet: a small, readable neural-network library in NumPy.

Every layer is a forward pass and a backward pass you can read; a network is a list of
layers; training is forward, loss, backward, optimiser step. See README.md and docs/.
"""

__version__ = "0.1.0"

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
