"""The hand-written training loop: it learns MNIST (examples/manual_loop.py --quick), and
model.fit is that loop, nothing more."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from checkout import ENV

from tinynet import SGD, Dense, ReLU, Sequential
from tinynet.losses import CrossEntropy

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "manual_loop.py"


def test_manual_loop_quick_learns_mnist():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--seed", "0"],
        capture_output=True, text=True, timeout=300, check=False, env=ENV,
    )
    assert result.returncode == 0, result.stderr
    assert "epoch 1/1 - loss:" in result.stdout, result.stdout
    match = re.search(r"^test accuracy: (\d+\.\d+)$", result.stdout, re.MULTILINE)
    assert match, f"no 'test accuracy: ...' line in:\n{result.stdout}"
    accuracy = float(match.group(1))
    # Chance is 0.1 for ten digits; 2,000 images and one epoch give about 0.83.
    assert 0.7 < accuracy <= 1, result.stdout  # a fraction of the test images


def test_the_epoch_loss_weighs_each_batch_by_its_size(monkeypatch, capsys):
    # 2,000 images in batches of 64 leave a last batch of 16: the epoch's loss is the mean
    # over the images, each batch's mean weighted by its size. With every batch's loss 0.5,
    # so is the epoch's; weighting the last batch as 64 images would print 0.5120.
    spec = importlib.util.spec_from_file_location("manual_loop", SCRIPT)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    original = CrossEntropy.forward

    def forward(self, z, y):
        original(self, z, y)  # keeps what backward needs
        return 0.5

    monkeypatch.setattr(CrossEntropy, "forward", forward)
    example.main(["--quick", "--seed", "0"])
    assert re.search(r"^epoch 1/1 - loss: 0\.5000 - ", capsys.readouterr().out, flags=re.M)


def test_fit_is_the_hand_written_loop():
    # model.fit hides nothing: forward, loss, backward in reverse and one optimiser step per
    # batch, written by hand as in examples/manual_loop.py, end with the same weights, bit
    # for bit, and the same epoch loss (a mean per sample: the smaller last batch weighs less).
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3)).astype(np.float32)
    y = rng.integers(0, 4, size=20)
    batch_size = 8  # 8 + 8 + 4

    def make() -> Sequential:
        model = Sequential([Dense(3, 5), ReLU(), Dense(5, 4)], seed=1)
        model.compile(CrossEntropy(from_logits=True), SGD(0.1, momentum=0.9), metrics=None)
        return model

    fitted = make()
    history = fitted.fit(x, y, epochs=2, batch_size=batch_size, shuffle=False, verbose=0)

    model, loss_fn, opt = make(), CrossEntropy(from_logits=True), SGD(0.1, momentum=0.9)
    for epoch in range(2):
        total = 0.0
        for first in range(0, len(x), batch_size):
            xb, yb = x[first:first + batch_size], y[first:first + batch_size]
            z = model.forward(xb, training=True)
            loss = loss_fn.forward(z, yb)
            model.backward(loss_fn.backward())
            opt.step(model.parameters())
            total += loss * len(xb)
        assert history.history["loss"][epoch] == total / len(x)
    for a, b in zip(fitted.get_weights(), model.get_weights(), strict=True):
        assert a.tobytes() == b.tobytes()
