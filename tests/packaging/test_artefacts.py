"""
The sdist and the wheel hold what they should (L{tests.packaging.contents}).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging import contents

pytestmark = pytest.mark.slow


def test_contents(dist: Path) -> None:
    assert contents.problems(dist) == []
