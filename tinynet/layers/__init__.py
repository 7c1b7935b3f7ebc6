"""Layers: each one a forward pass and a backward pass (see :class:`Layer` for the contract).

The lines between ``# BEGIN SOLUTION <part>`` and ``# END SOLUTION`` are the math of a
homework part, which ``tinynet homework export`` turns into a stub in a student's copy; the
``# HINT:`` lines at the top of a region are what the stub tells the student
(docs/homework.md).
"""

from tinynet.layers.activations import ReLU, Sigmoid, Softmax, Tanh, log_softmax, softmax
from tinynet.layers.augment import RandomShift
from tinynet.layers.base import Layer
from tinynet.layers.conv import Conv2D
from tinynet.layers.dense import Dense
from tinynet.layers.dropout import Dropout
from tinynet.layers.pooling import MaxPool2D
from tinynet.layers.reshape import Flatten

__all__ = [
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "MaxPool2D",
    "RandomShift",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "log_softmax",
    "softmax",
]
