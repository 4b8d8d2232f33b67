"""The examples in the package's docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import fleetcarbon


def modules() -> list[str]:
    names = [fleetcarbon.__name__]
    for info in pkgutil.walk_packages(fleetcarbon.__path__, prefix="fleetcarbon."):
        if not info.name.endswith("._core"):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_examples_exist():
    """The public entry points carry examples, so the test above tests something."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    examples = {
        t.name: len(t.examples) for m in modules() for t in finder.find(importlib.import_module(m))
    }
    for name in (
        "fleetcarbon.estimate.estimate",
        "fleetcarbon.simulate.simulate",
        "fleetcarbon.simulate.simulate_detailed",
        "fleetcarbon.factors.bundled.load_factors",
        "fleetcarbon.quantiles.quantiles",
        "fleetcarbon.reference.estimate_python",
    ):
        assert examples.get(name, 0) > 0, f"{name} has no example"
