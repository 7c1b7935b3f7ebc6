"""How well `tinynet predict` reads phone photos of handwritten digits, condition by condition.

    python benchmarks/photo_digits.py MODEL [--count N] [--only NAME,NAME] [--show DIR]

MNIST test digits are drawn as photos of a digit written on paper: the digit's 28x28 box
scaled up (bilinearly) to 200-500 pixels on a page of 360-600, black ink (reflecting 0.12 of
the light) on white paper (0.92), then given the defects of a real photo, one at a time and
together: uneven lighting, sensor noise, specks, paper texture, ruled lines, blur, JPEG.
Each photo goes through ``tinynet.imaging.prepare_digit``, as ``tinynet predict`` does, then
the model (for example ``runs/model.npz`` from ``tinynet train``); the script prints the
accuracy per condition next to the model's accuracy on the same digits as they are in MNIST.

The photos are drawn from fixed seeds, the same for every version of ``prepare_digit``, so
two versions compare image for image. ``--show DIR`` saves, per condition, the first 16
photos above what was prepared from them. Only NumPy and matplotlib are used (matplotlib
writes and reads the JPEG).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

PAPER, INK = 0.92, 0.12  # how much of the light each reflects

# Each condition: a list of (defect, strength), see render().
PHONE = [("gradient", 0.25), ("vignette", 0.2), ("noise", 0.03), ("texture", 0.01),
         ("blur", 1), ("jpeg", 60), ("specks", (8, 0.25))]
CONDITIONS = {
    "clean photo": [],
    "gradient 0.35": [("gradient", 0.35)],
    "vignette 0.35": [("vignette", 0.35)],
    "shadow 0.35": [("shadow", 0.35)],
    "noise 0.04": [("noise", 0.04)],
    "noise 0.08": [("noise", 0.08)],
    "15 specks": [("specks", (15, 0.2))],
    "paper texture": [("texture", 0.01)],
    "blur": [("blur", 2)],
    "JPEG quality 30": [("jpeg", 30)],
    "ruled lines": [("lines", 0.0)],
    "ruled lines tilted 3 degrees": [("lines", 3.0)],
    "pencil and black specks": [("pencil", 0.5), ("specks", (15, 0.0))],
    "light pencil": [("pencil", 0.7)],
    "light pencil and black specks": [("pencil", 0.7), ("specks", (15, 0.0))],
    "chalk on a board and gradient": [("chalk", True), ("gradient", 0.3), ("noise", 0.03)],
    "the desk along a side": [("desk", 0.3)],
    "phone photo": PHONE,
    "phone photo and shadow": [*PHONE, ("shadow", 0.3)],
    "everything strong": [("gradient", 0.35), ("vignette", 0.35), ("shadow", 0.35),
                          ("noise", 0.04), ("specks", (15, 0.2)), ("texture", 0.01),
                          ("blur", 2), ("jpeg", 30)],
}


def render(digit: np.ndarray, rng: np.random.Generator, defects) -> np.ndarray:
    """A photo (H, W) in [0, 1] of an MNIST digit (28, 28) uint8, with ``defects``.

    A photo is the light falling on the page times what the page reflects: the lighting
    defects multiply the whole picture, so the ink in a shadow is fainter too.

    - gradient g: the light falls off by g across the page, in a random direction;
    - vignette v: the corners get 1 - v of the light of the centre;
    - shadow s: a soft-edged shadow taking s of the light over part of the page;
    - noise sigma: Gaussian sensor noise; texture t: paper fibres of a few pixels, about
      +-3t; blur r: a box blur of radius r applied 3 times (close to a Gaussian);
    - jpeg q: saved and read back as a JPEG of quality q;
    - specks (count, level): dots of radius 1-3 pixels reflecting ``level``;
    - lines tilt: light blue ruled lines (0.78 of the paper's light), every 7-10% of the
      page, tilted by up to ``tilt`` degrees; pencil level: ink reflecting ``level``;
    - desk level: the page does not fill the picture: along the side farthest from the
      digit, a strip of desk reflecting ``level``, 30% to 80% as wide as the paper there;
    - chalk: light on dark, the photo's grey levels turned over.
    """
    d = dict(defects)
    height, width = rng.integers(360, 600), rng.integers(360, 600)
    size = int(min(height, width) * rng.uniform(0.55, 0.85))  # the digit's 28x28 box
    ink = np.zeros((height, width))
    top, left = rng.integers(0, height - size + 1), rng.integers(0, width - size + 1)
    ink[top:top + size, left:left + size] = _bilinear(digit / 255, size, size)
    rows, cols = np.mgrid[0:height, 0:width]
    y, x = rows / (height - 1), cols / (width - 1)  # in [0, 1]

    reflect = np.full((height, width), PAPER)
    if "texture" in d:
        reflect *= 1 + 3 * d["texture"] * _box_blur(rng.standard_normal((height, width)), 2)
    if "lines" in d:
        gap = int(min(height, width) * rng.uniform(0.07, 0.1))
        tilt = np.tan(np.radians(rng.uniform(-d["lines"], d["lines"])))
        on_line = (rows + tilt * cols - rng.integers(0, gap)) % gap < 3
        reflect = np.where(on_line, 0.78 * reflect, reflect)
    reflect = reflect * (1 - ink) + d.get("pencil", INK) * ink
    if "desk" in d:
        gaps = {"top": top, "bottom": height - top - size, "left": left,
                "right": width - left - size}
        side = max(gaps, key=gaps.__getitem__)
        strip = max(1, int(gaps[side] * rng.uniform(0.3, 0.8)))
        edge = {"top": rows < strip, "bottom": rows >= height - strip, "left": cols < strip,
                "right": cols >= width - strip}[side]
        reflect = np.where(edge, d["desk"], reflect)
    if "specks" in d:
        count, level = d["specks"]
        for _ in range(count):
            r, c, radius = rng.integers(0, height), rng.integers(0, width), rng.uniform(1, 3)
            reflect[(rows - r) ** 2 + (cols - c) ** 2 <= radius ** 2] = level

    light = np.ones((height, width))
    if "gradient" in d:
        a = rng.uniform(0, 2 * np.pi)
        t = np.cos(a) * x + np.sin(a) * y
        light *= 1 - d["gradient"] * (t - t.min()) / np.ptp(t)
    if "vignette" in d:
        light *= 1 - d["vignette"] * ((x - 0.5) ** 2 + (y - 0.5) ** 2) / 0.5
    if "shadow" in d:
        a = rng.uniform(0, 2 * np.pi)
        t = np.cos(a) * (x - 0.5) + np.sin(a) * (y - 0.5) - rng.uniform(-0.3, 0.3)
        light *= 1 - d["shadow"] / (1 + np.exp(-t / 0.04))

    photo = reflect * light
    if "blur" in d:
        photo = _box_blur(photo, d["blur"])
    if "noise" in d:
        photo = photo + rng.normal(0, d["noise"], photo.shape)
    photo = np.clip(photo, 0, 1)
    if "jpeg" in d:
        photo = _jpeg(photo, d["jpeg"])
    if "chalk" in d:
        photo = 1 - photo
    return photo


def _bilinear(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """``img`` (h, w) scaled to (height, width) by bilinear interpolation."""
    def weights(n_in: int, n_out: int) -> np.ndarray:
        x = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        left = np.floor(x).astype(int)
        m = np.zeros((n_out, n_in))
        m[np.arange(n_out), left] += 1 - (x - left)
        m[np.arange(n_out), np.minimum(left + 1, n_in - 1)] += x - left
        return m
    return weights(img.shape[0], height) @ img @ weights(img.shape[1], width).T


def _box_blur(img: np.ndarray, radius: int) -> np.ndarray:
    """Three passes of a (2 radius + 1)-wide box blur along each axis, edges repeated."""
    for _ in range(3):
        for axis in (0, 1):
            padded = np.moveaxis(img, axis, 0)
            padded = np.concatenate([padded[:1].repeat(radius + 1, 0), padded,
                                     padded[-1:].repeat(radius, 0)])
            sums = np.cumsum(padded, axis=0)
            img = np.moveaxis((sums[2 * radius + 1:] - sums[:-2 * radius - 1])
                              / (2 * radius + 1), 0, axis)
    return img


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    from matplotlib import image as mpimg

    buffer = io.BytesIO()
    mpimg.imsave(buffer, img, cmap="gray", vmin=0, vmax=1, format="jpeg",
                 pil_kwargs={"quality": quality})
    buffer.seek(0)
    return mpimg.imread(buffer, format="jpeg")[..., 0] / 255


def main(argv: list[str] | None = None) -> int:
    from tinynet import metrics, reference
    from tinynet.cli import CommandError, _load_classifier  # as predict loads a model
    from tinynet.datasets import load_mnist
    from tinynet.imaging import prepare_digit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="a saved model (.npz), e.g. runs/model.npz")
    parser.add_argument("--count", type=reference.int_in_range(1, 10_000), default=500,
                        help="how many MNIST test digits, from the first: 1 to 10000 "
                             "(default 500)")
    parser.add_argument("--only", default="", help="conditions to run, by name, with commas")
    parser.add_argument("--show", type=Path, help="a folder to save photos and results in")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(CONDITIONS)
    unknown = [name for name in names if name not in CONDITIONS]
    if unknown:
        parser.error(f"--only: unknown condition(s) {unknown}; expected some of "
                     f"{list(CONDITIONS)}")
    try:  # a missing model or not a model: one line, as from tinynet predict
        model, scaling = _load_classifier(args.model)
    except CommandError as err:
        parser.error(str(err))
    if args.show:
        try:  # before the photos: a file in the way failed after the first condition's
            reference.make_output_folder(args.show, [_image_name(name) for name in names])
        except ValueError as err:
            parser.error(f"--show: {err}")
    _, (images, labels) = load_mnist()
    images, labels = images[:args.count], labels[:args.count]

    def accuracy(digits: np.ndarray) -> float:
        return metrics.accuracy(model.predict(scaling(digits)), labels)

    print(f"{len(labels)} MNIST test digits, model {args.model}")
    print(f"| {'condition':30} | accuracy | refused | ms per photo |")
    print(f"| {'MNIST digits as they are':30} | {accuracy(images):8.1%} |         |              |")
    prepared = np.array([prepare_digit(image / 255) for image in images])
    print(f"| {'MNIST digits, prepared':30} | {accuracy(prepared):8.1%} |         |              |")
    for name in names:
        rng = np.random.default_rng(0)  # the same photos for every version of prepare_digit
        photos, prepared, refused, seconds = [], [], 0, 0.0
        for image in images:
            photo = render(image, rng, CONDITIONS[name])
            start = time.perf_counter()
            try:
                prepared.append(prepare_digit(photo))
            except ValueError:  # counted wrong: predict would refuse the picture
                prepared.append(np.zeros((28, 28), np.uint8))
                refused += 1
            seconds += time.perf_counter() - start
            if args.show and len(photos) < 16:
                photos.append(photo)
        prepared = np.array(prepared)
        print(f"| {name:30} | {accuracy(prepared):8.1%} | {refused:7} | "
              f"{1000 * seconds / len(images):12.0f} |", flush=True)
        if args.show:
            _show(args.show / _image_name(name), photos, prepared[:16])
    return 0


def _image_name(condition: str) -> str:
    """The file --show writes for ``condition``."""
    return f"{condition.replace(' ', '_')}.png"


def _show(path: Path, photos: list[np.ndarray], prepared: np.ndarray) -> None:
    # A Figure of its own, as tinynet.plot draws: savefig needs no pyplot, and no backend
    # switched for the whole process (main runs inside the tests' process too).
    from matplotlib.figure import Figure

    from tinynet.atomic import write_atomic

    fig = Figure(figsize=(12, 6))
    axes = fig.subplots(4, 8)
    for i, (photo, digit) in enumerate(zip(photos, prepared, strict=False)):
        top, bottom = axes[2 * (i // 8), i % 8], axes[2 * (i // 8) + 1, i % 8]
        top.imshow(photo, cmap="gray", vmin=0, vmax=1)
        bottom.imshow(digit, cmap="gray", vmin=0, vmax=255)
    for ax in axes.flat:
        ax.axis("off")
    # Written as tinynet writes its images: never seen half-written.
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=60))


if __name__ == "__main__":
    sys.exit(main())
