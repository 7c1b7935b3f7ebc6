"""Layers: each one a forward pass and a backward pass (see :class:`Layer` for the contract)."""

from tinynet.layers.activations import ReLU, Sigmoid, Softmax, Tanh, log_softmax, softmax
from tinynet.layers.base import Layer
from tinynet.layers.dense import Dense
from tinynet.layers.dropout import Dropout
from tinynet.layers.reshape import Flatten

__all__ = [
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "log_softmax",
    "softmax",
]
