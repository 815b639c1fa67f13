"""
The mutation gate's list (C{tools/mutations.py}) stays in step with the code: every mutation
applies to the tree as it is, and names tests that exist.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _gate() -> ModuleType:
    name = "tools_mutations"
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "mutations.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the dataclasses' module must be importable
    spec.loader.exec_module(module)
    return module


gate = _gate()


@pytest.mark.parametrize("mutation", gate.MUTATIONS, ids=lambda m: m.name)
def test_applies(mutation: object) -> None:
    """
    The mutation's text is in its file exactly once, the replacement differs, and its
    tests exist.
    """
    text = (ROOT / mutation.path).read_text()  # type: ignore[attr-defined]
    assert gate.mutated(mutation, text) != text
    for test in mutation.tests:  # type: ignore[attr-defined]
        assert (ROOT / test.split("::")[0]).is_file(), test


def test_namesUnique() -> None:
    names = [m.name for m in gate.MUTATIONS]
    assert len(names) == len(set(names))


def test_doesNotApply() -> None:
    """
    A mutation whose text is gone stops the gate rather than passing as caught.
    """
    mutation = gate.MUTATIONS[0]
    with pytest.raises(gate.NotApplicable):
        gate.mutated(mutation, "")
    with pytest.raises(gate.NotApplicable):
        gate.mutated(mutation, mutation.old * 2)


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert gate.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert all(m.name in out for m in gate.MUTATIONS)
