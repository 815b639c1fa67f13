"""
The examples of docs/dane.md run, and print what the page says they print.
"""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from .test_openssl_vectors import DANETEST

PAGE = Path(__file__).resolve().parents[2] / "docs" / "dane.md"


def test_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # OpenSSL's vector 9: example.com, issued by "Issuer CA", valid until 3015.
    leaf, issuer = DANETEST[8].chain[:2]
    (tmp_path / "server.pem").write_bytes(leaf.public_bytes(Encoding.PEM))
    (tmp_path / "chain.pem").write_bytes(
        leaf.public_bytes(Encoding.PEM) + issuer.public_bytes(Encoding.PEM)
    )
    monkeypatch.chdir(tmp_path)
    text = PAGE.read_text()
    examples = "\n".join(
        block for block in text.split("```pycon\n")[1:] for block in [block.split("```")[0]]
    )
    assert examples.count(">>>") > 30
    parser = doctest.DocTestParser()
    test = parser.get_doctest(examples, {}, "dane.md", str(PAGE), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    outcome = runner.summarize(verbose=False)
    assert outcome.failed == 0
    assert os.getcwd() == str(tmp_path)
