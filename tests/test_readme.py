"""The README's example and the docs' test examples are real: they run, as written, with the plugin."""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
from test_other_sdks import NODE, NODE_MODULES, needs_js_sdk

README = Path(__file__).resolve().parent.parent / "README.md"
DOCS = README.parent / "docs"


#: the widest code line that furo's content column shows whole at a 1280 px wide window
#: (checked in headless Chromium: 89 and more scroll sideways)
CODE_WIDTH = 88


def all_code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, dedented body) of every ``.. code-block::`` of a page, nested ones included: a
    body is the lines indented deeper than its directive."""
    lines = text.splitlines()
    blocks = []
    for number, line in enumerate(lines):
        directive = re.match(r"( *)\.\. code-block:: (\w+)$", line)
        if directive is None:
            continue
        body = []
        for following in lines[number + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= len(directive.group(1)):
                break
            body.append(following)
        blocks.append((directive.group(2), textwrap.dedent("\n".join(body)).strip("\n") + "\n"))
    return blocks


def code_blocks(page: str, language: str) -> list[str]:
    """The ``.. code-block:: <language>`` blocks of docs/<page>."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return [body for lang, body in all_code_blocks(text) if lang == language]


def run_as_test_module(pytester: pytest.Pytester, name: str, example: str) -> None:
    pytester.makepyfile(**{name: example})
    result = pytester.runpytest("-p", "no:randomly")
    tests = len(re.findall(r"^def test_", example, flags=re.M))
    assert tests >= 1
    result.assert_outcomes(passed=tests)


def test_readme_example_passes(pytester: pytest.Pytester) -> None:
    [example] = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert example.count("\ndef test_") >= 2
    run_as_test_module(pytester, "test_readme_example", example)


def test_readme_speaks_to_users_first() -> None:
    # Issue #23: a reader meets the package and how to install it before the contributors' set-up.
    text = README.read_text(encoding="utf-8")
    assert text.index("pip install pytest-ecr") < text.index("<!-- setup-commands -->")
    # .ci/run reads exactly two commands, each starting with `python3 `, between the markers.
    block = text.split("<!-- setup-commands -->")[1].split("<!-- /setup-commands -->")[0]
    assert len(re.findall(r"^python3 ", block, flags=re.M)) == 2


@pytest.mark.parametrize("page", ["lifecycle.rst", "faults.rst", "events.rst", "contract.rst"])
def test_docs_examples_pass(pytester: pytest.Pytester, page: str) -> None:
    [example] = code_blocks(page, "python")
    run_as_test_module(pytester, f"test_{page.split('.')[0]}_example", example)


RECIPES = code_blocks("recipes.rst", "python")


@pytest.mark.parametrize("example", RECIPES, ids=[f"recipe{n}" for n in range(len(RECIPES))])
def test_recipes_pass(pytester: pytest.Pytester, example: str) -> None:
    run_as_test_module(pytester, "test_recipe", example)


def test_every_recipe_is_run() -> None:
    # cleanup job, CI login, scan gate, cross-account promotion (the JavaScript one is below)
    assert len(RECIPES) == 4


@needs_js_sdk
def test_javascript_recipe_passes_on_server_mode(ecr_server: object, tmp_path: Path) -> None:
    # The recipe's suite against the fixture's server (which sets AWS_ENDPOINT_URL_ECR), as it would
    # run against `pytest-ecr serve`.
    [script] = code_blocks("recipes.rst", "javascript")
    (tmp_path / "ecr.test.js").write_text(script, encoding="utf-8")
    result = subprocess.run(
        [str(NODE), "--test", "ecr.test.js"],
        cwd=tmp_path,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# pass 2" in result.stdout
    assert "# fail 0" in result.stdout


def test_docs_code_fits_the_page() -> None:
    # Issue #23: code wider than the theme's column. Output and messages quoted verbatim (``::``
    # literal blocks, ``code-block:: text``) may scroll sideways; code is wrapped to fit.
    wide = [
        f"{path.name}: {line}"
        for path in sorted(DOCS.glob("*.rst"))
        for language, body in all_code_blocks(path.read_text(encoding="utf-8"))
        if language != "text"
        for line in body.splitlines()
        if len(line) > CODE_WIDTH
    ]
    assert not wide, f"code lines over {CODE_WIDTH} characters:\n" + "\n".join(wide)
