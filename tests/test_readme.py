"""The README's example is real: it runs, as written, with the plugin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_passes(pytester: pytest.Pytester) -> None:
    [example] = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    pytester.makepyfile(test_readme_example=example)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=example.count("\ndef test_"))
    assert example.count("\ndef test_") >= 2
