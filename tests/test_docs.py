"""The docs stay true: their Python examples run, and their links lead somewhere."""

import ast
import doctest
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import tinynet.datasets as datasets

ROOT = Path(__file__).resolve().parents[1]
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
#: The doctest options the pages need, which docs/README.md's command must give too.
FLAGS = ("NORMALIZE_WHITESPACE", "ELLIPSIS")


# The pages show the naive softmax overflowing on purpose.
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_examples_in_the_page_run(page):
    # Pages set NumPy's print options for their readers; np.printoptions() puts the options
    # back after the page, or every later test in the process would print arrays that way.
    with np.printoptions():
        result = doctest.testfile(str(page), module_relative=False, verbose=False,
                                  optionflags=sum(getattr(doctest, flag) for flag in FLAGS))
    assert result.failed == 0, f"{result.failed} example(s) of {page.name} failed (see above)"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_lead_to_files(page):
    text = page.read_text()
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes for the headings of ``page``: lower case, punctuation other
    than - and _ dropped, spaces as -, and -1, -2, ... after repeats."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)  # not code's #
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        if count:
            seen[f"{slug}-{count}"] = 1
    return set(seen)


def test_anchors_finds_headings_as_github_does(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Dense\n## Backward: a Jacobian-vector product\n```python\n# no\n```\n"
                    "## `fit`, step by step\n## Dense\n")
    assert anchors(page) == {"dense", "backward-a-jacobian-vector-product",
                             "fit-step-by-step", "dense-1"}


SOURCES = [*sorted((ROOT / "tinynet").rglob("*.py")), *sorted((ROOT / "examples").glob("*.py")),
           *PAGES]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_to_a_section_find_its_heading(source):
    # Markdown links [..](page.md#anchor) and (#anchor), and docs/page.md#anchor in code.
    text = source.read_text()
    links = []
    if source.suffix == ".md":
        links += [(source.parent / (target or source.name), anchor) for target, anchor
                  in re.findall(r"\]\(([^)#\s]*)#([^)\s]+)\)", text)]
    links += [(ROOT / "docs" / target, anchor)
              for target, anchor in re.findall(r"docs/([\w.-]+\.md)#([\w-]+)", text)]
    for target, anchor in links:
        assert target.exists(), f"{source.name} links to missing {target.name}"
        assert anchor in anchors(target), f"{source.name}: no section #{anchor} in {target.name}"


def test_the_index_checks_the_examples_with_the_flags_of_this_test():
    # docs/README.md tells readers how to run every example; training.md needs ELLIPSIS.
    command = re.search(r"-m doctest (.*) docs/\*\.md", (ROOT / "docs" / "README.md").read_text())
    assert set(re.findall(r"-o (\w+)", command.group(1))) == set(FLAGS)


def test_the_backward_snippets_of_conv_md_compute_what_the_layers_do():
    from tinynet.layers import Conv2D, MaxPool2D

    text = (ROOT / "docs" / "conv.md").read_text()
    col2im, pool = [b for b in re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
                    if ">>>" not in b]
    rng = np.random.default_rng(0)
    conv = Conv2D(3, 4, (3, 2), stride=(2, 1), padding="same", dtype=np.float64, rng=rng)
    x = rng.standard_normal((2, 7, 6, 3))
    dy = rng.standard_normal(conv.forward(x).shape)
    (kh, kw), (sh, sw) = conv.kernel_size, conv.stride
    top, bottom, left, right = conv.pads(7, 6)
    names = dict(np=np, self=conv, x=x, kh=kh, kw=kw, sh=sh, sw=sw, top=top, bottom=bottom,
                 left=left, right=right, H_out=dy.shape[1], W_out=dy.shape[2],
                 dy2=dy.reshape(-1, 4))
    exec(col2im, names)
    np.testing.assert_allclose(names["dx"], conv.backward(dy))

    pool_layer = MaxPool2D(2, stride=1)
    x = rng.integers(0, 3, (2, 5, 5, 3)).astype(float)  # many ties
    y = pool_layer.forward(x)
    dy = rng.standard_normal(y.shape)
    names = dict(np=np, self=pool_layer, x=x, y=y, dy=dy, H_out=4, W_out=4)
    exec(pool, names)
    np.testing.assert_array_equal(names["dx"], pool_layer.backward(dy))


@pytest.mark.parametrize("page, name", [("softmax.md", "softmax"),
                                        ("cross_entropy.md", "log_softmax")])
def test_the_pages_softmax_functions_compute_what_the_librarys_do(page, name):
    # A page's log_softmax without the code's np.errstate would, under the
    # errstate(all="raise") that softmax.md shows, raise on an underflow the code takes.
    from tinynet import layers

    text = (ROOT / "docs" / page).read_text()
    [snippet] = [b for b in re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
                 if b.startswith(f"def {name}(")]
    names = {"np": np}
    exec(snippet, names)
    z = np.array([[1e4, -1e4, 0.0], [1.0, 2.0, 3.0], [-1e4, -1e4, -1e4]])
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(names[name](z), getattr(layers, name)(z))


def test_the_data_page_names_each_functions_parameters_as_the_code_does():
    """A docs/data.md table that called read_idx's parameter path_or_file would show a call
    read_idx(path_or_file=...) refuses: each call shown must use the real names, in order,
    and the real defaults."""
    rows = re.findall(r"^\| `(\w+)\(([^`]*)\)` \|", (ROOT / "docs" / "data.md").read_text(),
                      flags=re.M)
    assert {name for name, _ in rows} >= {"load_mnist", "read_idx", "write_idx",
                                          "download_mnist", "one_hot"}
    for name, args in rows:
        parameters = list(inspect.signature(getattr(datasets, name)).parameters.values())
        shown = [arg.partition("=") for arg in args.split(", ")]
        assert [p.name for p in parameters[:len(shown)]] == [arg for arg, _, _ in shown], name
        for parameter, (arg, has_default, default) in zip(parameters, shown, strict=False):
            if has_default:
                value = (getattr(datasets, default) if default.isidentifier()
                         and default not in ("None", "True", "False")
                         else ast.literal_eval(default))
                assert parameter.default == value, f"{name}: {arg}={default}"
            else:
                assert parameter.default is inspect.Parameter.empty, f"{name}: {arg}"
