"""The README's example and the docs' test examples are real: they run, as written, with the plugin."""

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


@pytest.mark.parametrize("page", ["lifecycle.rst", "faults.rst", "events.rst"])
def test_docs_examples_pass(pytester: pytest.Pytester, page: str) -> None:
    text = (README.parent / "docs" / page).read_text()
    [block] = re.findall(r"\.\. code-block:: python\n\n(.*?)\n(?=\S)", text, flags=re.S)
    example = "\n".join(line[4:] for line in block.splitlines())
    pytester.makepyfile(**{f"test_{page.split('.')[0]}_example": example})
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=example.count("\ndef test_") + example.startswith("def test_"))
