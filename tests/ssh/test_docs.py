"""
The SSH guide shows the code of its runnable example.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_docs import pythonBlocks

ROOT = Path(__file__).resolve().parents[2]


def test_pageShowsTheExample() -> None:
    blocks = pythonBlocks(ROOT / "docs" / "ssh.md")
    example = (ROOT / "docs" / "examples" / "ssh_command.py").read_text()
    assert len(blocks) == 2
    assert blocks[1].strip() in example
