"""The reference programs R1-R4 in PyTorch, for ``run.py`` and ``accuracy.py`` only.

Same architectures, losses, optimisers and hyper-parameters as ``tinynet.reference``, in
float32 on the CPU. The weights start as tinynet's do
(Glorot-uniform weights, zero biases, R1's biases at 1) so that both libraries train the same
kind of network; the random numbers themselves differ.

The softmax of R1 is a layer (R1's loss is MSE on probabilities); for R2, R3 and R4 the
models output logits and ``nn.CrossEntropyLoss`` applies the softmax, the fused form that
tinynet's Sequential also trains with. Classification targets are integer labels, PyTorch's
usual (and fastest) form; R1's MSE needs one-hot rows.

Importing this module imports torch: tinynet itself never does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn


@dataclass(frozen=True)
class TorchProgram:
    """One reference program in PyTorch: everything a training loop needs besides data."""

    name: str
    build: Callable[[], nn.Module]
    loss: Callable[[], nn.Module]
    optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
    batch_size: int
    #: The shape of one input sample: (784,) for the MLPs, channels first (1, 28, 28) for R3.
    input_shape: tuple[int, ...]
    one_hot: bool = False  # targets as one-hot float rows (MSE) instead of int64 labels
    #: True when the model outputs logits, so inference applies the softmax itself.
    logits: bool = True


def _keras_init(model: nn.Module, bias: float = 0.0) -> nn.Module:
    """Glorot-uniform weights and constant biases on every Linear and Conv2d, as in Keras
    and tinynet (PyTorch's default is a scaled Kaiming-uniform)."""
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            nn.init.xavier_uniform_(module.weight)
            nn.init.constant_(module.bias, bias)
    return model


def r1_model() -> nn.Module:
    """R1: Dense 784->10 with biases at 1, softmax."""
    return _keras_init(nn.Sequential(nn.Linear(784, 10), nn.Softmax(dim=1)), bias=1.0)


def r2_model() -> nn.Module:
    """R2: Dense 784->512, ReLU, Dense 512->10 (logits)."""
    return _keras_init(nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10)))


def r3_model() -> nn.Module:
    """R3 on (N, 1, 28, 28): Conv 28@3x3, pool, Conv 10@4x4, pool, Dense 20, Dense 10."""
    return _keras_init(nn.Sequential(
        nn.Conv2d(1, 28, 3), nn.ReLU(), nn.MaxPool2d(2),   # (28, 26, 26) -> (28, 13, 13)
        nn.Conv2d(28, 10, 4), nn.ReLU(), nn.MaxPool2d(2),  # (10, 10, 10) -> (10, 5, 5)
        nn.Flatten(),                                      # 250
        nn.Linear(250, 20), nn.ReLU(), nn.Linear(20, 10),
    ))


def r4_model() -> nn.Module:
    """R4: Dense 784-512-256-128-64-10 with ReLU between, logits out."""
    sizes = (784, 512, 256, 128, 64, 10)
    layers: list[nn.Module] = []
    for d_in, d_out in pairwise(sizes):
        layers += [nn.Linear(d_in, d_out), nn.ReLU()]
    return _keras_init(nn.Sequential(*layers[:-1]))  # no ReLU after the logits


PROGRAMS: dict[str, TorchProgram] = {
    "r1": TorchProgram("r1", r1_model, nn.MSELoss,
                       lambda params: torch.optim.SGD(params, lr=0.2),
                       batch_size=32, input_shape=(784,), one_hot=True, logits=False),
    # Keras's RMSprop defaults: rho (PyTorch's alpha) 0.9, epsilon 1e-7. One difference
    # remains: PyTorch adds eps after the square root, sqrt(v) + eps, where Keras and
    # tinynet add it inside, sqrt(v + eps), so their smallest divisor is sqrt(1e-7) ~ 3e-4.
    "r2": TorchProgram("r2", r2_model, nn.CrossEntropyLoss,
                       lambda params: torch.optim.RMSprop(params, lr=0.001, alpha=0.9, eps=1e-7),
                       batch_size=128, input_shape=(784,)),
    # Keras's Adam epsilon, 1e-7. PyTorch adds it to sqrt(v_hat), the bias-corrected
    # square root; Keras and tinynet to sqrt(v), before the correction (see
    # docs/optimizers.md): the same work per step, slightly different steps.
    "r3": TorchProgram("r3", r3_model, nn.CrossEntropyLoss,
                       lambda params: torch.optim.Adam(params, lr=0.001, eps=1e-7),
                       batch_size=32, input_shape=(1, 28, 28)),
    "r4": TorchProgram("r4", r4_model, nn.CrossEntropyLoss,
                       lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.5),
                       batch_size=64, input_shape=(784,)),
}


class Trainer:
    """A model, its loss and optimiser, and the training set as pre-made float32 tensors.

    ``epoch()`` is the plain PyTorch loop, without a DataLoader: a fresh permutation, then
    per batch index, forward, loss, ``zero_grad``, ``backward``, ``step``. It reads each
    batch's loss as a Python float, as tinynet's ``fit`` does.
    """

    def __init__(self, program: TorchProgram, x, y, seed: int = 0) -> None:
        """``x``: float32 NumPy inputs (N, *input_shape); ``y``: one-hot float32 rows or
        integer labels, as ``program.one_hot`` says."""
        torch.manual_seed(seed)
        self.program = program
        self.model = program.build()
        self.loss_fn = program.loss()
        self.opt = program.optimizer(self.model.parameters())
        self.x = torch.from_numpy(x).reshape(len(x), *program.input_shape)
        self.y = torch.from_numpy(y).float() if program.one_hot else torch.from_numpy(y).long()
        self.gen = torch.Generator().manual_seed(seed)

    def epoch(self, n: int | None = None) -> None:
        """One pass over the first ``n`` samples (all by default) in a random order."""
        n = len(self.x) if n is None else n
        self.model.train()
        order = torch.randperm(n, generator=self.gen)
        batch = self.program.batch_size
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb, yb = self.x[idx], self.y[idx]
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(xb), yb)
            loss.backward()
            self.opt.step()
            loss.item()


def predict(model: nn.Module, x, batch_size: int, logits: bool = True) -> torch.Tensor:
    """Probabilities for the float32 NumPy inputs ``x``, batch by batch, without autograd:
    what tinynet's ``predict`` returns."""
    model.eval()
    xt = torch.from_numpy(x)
    outs = []
    with torch.no_grad():
        for start in range(0, len(xt), batch_size):
            out = model(xt[start:start + batch_size])
            outs.append(torch.softmax(out, dim=1) if logits else out)
    return torch.cat(outs)
