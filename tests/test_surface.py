"""
The public surface: every name of C{txdane.__all__} resolves, and importing a layer loads
nothing above it.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import txdane
from txdane.cli import SUBCOMMANDS

#: Modules that must not be loaded by importing the DANE layer or by C{txdane --help}.
_ABOVE_DANE = ("txdane.transport", "txdane.validation", "twisted.internet.reactor")


@pytest.mark.parametrize("name", txdane.__all__)
def test_everyNameResolves(name: str) -> None:
    value = getattr(txdane, name)
    assert getattr(value, "__name__", name) == name
    assert name in dir(txdane)


def test_eachNameOnce() -> None:
    """
    C{__all__} names each thing once, and each comes from one of the modules the lazy loader
    looks in, which defines it or exports it.
    """
    assert len(set(txdane.__all__)) == len(txdane.__all__)
    for name in txdane.__all__:
        value = getattr(txdane, name)
        homes = [
            where
            for where in txdane._MODULES
            if name in getattr(importlib.import_module(where), "__all__", ())
            or getattr(value, "__module__", "") == where
        ]
        assert homes, name


def test_endpointsSurface() -> None:
    """
    Every public name of the endpoints' package is one of txdane's, or documented there as
    the endpoints' own (the registry of STARTTLS protocols and its errors).
    """
    import txdane.endpoints

    own = {"PROTOCOLS", "NoSuchServiceError", "UnknownProtocolError"}
    assert set(txdane.endpoints.__all__) - set(txdane.__all__) == own


def test_apiGuideNamesEveryError() -> None:
    """
    The API guide's table names every error C{txdane} exports, so that a new one is found
    where users look for what to catch.
    """
    from pathlib import Path

    guide = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    errors = [name for name in txdane.__all__ if name.endswith("Error")]
    assert [name for name in errors if f"`{name}`" not in guide] == []


def test_unknownName() -> None:
    with pytest.raises(AttributeError, match="colour"):
        txdane.colour  # noqa: B018


def loaded(code: str) -> set[str]:
    """
    The modules a fresh interpreter has loaded after running C{code}.
    """
    output = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(output.split())


@pytest.mark.parametrize(
    "code",
    [
        "import txdane.dane",
        "from txdane import verifyChain, TLSARecord, tlsaName, DANEVerificationError",
        "import contextlib, io\n"
        "from txdane.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass",
    ],
    ids=["import txdane.dane", "from txdane import the DANE check", "txdane --help"],
)
def test_layersLoadNothingAbove(code: str) -> None:
    modules = loaded(code)
    assert "txdane.dane" in modules or "txdane.cli" in modules
    assert not [m for m in modules if m.startswith(_ABOVE_DANE)]


@pytest.mark.parametrize("name, module, description", SUBCOMMANDS)
def test_subcommandRegistry(name: str, module: str, description: str) -> None:
    """
    The registry is the one place that names and describes the subcommands (so that
    C{txdane --help} lists them without importing them): each module provides the two
    functions and repeats neither its name nor its description.
    """
    imported = importlib.import_module(module)
    assert callable(imported.addArguments) and callable(imported.run)
    assert not hasattr(imported, "NAME") and not hasattr(imported, "HELP")
    assert module == f"txdane.cli.{name}" and description


def test_registryNamesEachOnce() -> None:
    names = [name for name, _, _ in SUBCOMMANDS]
    assert len(set(names)) == len(names)
