"""tools/mutants.py: which sites it finds, how it names them, and an end-to-end run on a toy project."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutants_tool", ROOT / "tools" / "mutants.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutants_tool"] = module
    spec.loader.exec_module(module)
    return module


mutants = _load()


def sites_of(tmp_path: Path, source: str, name: str = "mod.py") -> list:
    file = tmp_path / name
    file.write_text(textwrap.dedent(source), encoding="utf-8")
    return mutants.find_sites(tmp_path, [file])


def test_each_kind_of_site(tmp_path):
    found = sites_of(
        tmp_path,
        """
        def f(a, b, items):
            if a < b and not items:
                return all(x in items for x in a)
            return items[a:b] or [True]
        """,
    )
    assert [s.description for s in found] == [
        "`<` to `<=` in `a < b`",
        "`and` to `or` in `a < b and (not items)`",
        "`not` removed in `not items`",
        "`all` to `any` in `all((x in items for x in a))`",
        "`return all((x in items for x in a))` to `return None`",
        "`in` to `not in` in `x in items`",
        "`return items[a:b] or [True]` to `return None`",
        "slice bound `a` + 1",
        "slice bound `b` + 1",
        "`or` to `and` in `items[a:b] or [True]`",
        "`True` to `False`",
    ]
    assert {s.qualname for s in found} == {"f"}
    assert all(s.runtime for s in found)


@pytest.mark.parametrize(
    ("source", "description", "mutated"),
    [
        # Non-ASCII before the site: ast columns are UTF-8 bytes, the replacement works on characters.
        (
            'def g(n):\n    label = "héllo"; return n >= 10  # ok\n',
            "`>=` to `>` in `n >= 10`",
            'def g(n):\n    label = "héllo"; return n > 10  # ok\n',
        ),
        (
            'def g(n):\n    label = "héllo"; return n >= 10  # ok\n',
            "`10` to `11`",
            'def g(n):\n    label = "héllo"; return n >= 11  # ok\n',
        ),
        (
            'def g(n):\n    label = "héllo"; return n >= 10  # ok\n',
            "`return n >= 10` to `return None`",
            'def g(n):\n    label = "héllo"; return None  # ok\n',
        ),
        (
            "def h(a, b):\n    return (a) is not (b) or a not in b\n",
            "`is not` to `is` in `a is not b`",
            "def h(a, b):\n    return (a) is (b) or a not in b\n",
        ),
        (
            "def h(a, b):\n    return (a) is not (b) or a not in b\n",
            "`not in` to `in` in `a not in b`",
            "def h(a, b):\n    return (a) is not (b) or a in b\n",
        ),
        (
            "def h(a, b):\n    return not(a) or b[: len(a)]\n",
            "`not` removed in `not a`",
            "def h(a, b):\n    return (a) or b[: len(a)]\n",
        ),
        (
            "def h(a, b):\n    return not(a) or b[: len(a)]\n",
            "slice bound `len(a)` + 1",
            "def h(a, b):\n    return not(a) or b[: (len(a)) + 1]\n",
        ),
    ],
)
def test_a_mutant_replaces_only_its_range(tmp_path, source, description, mutated):
    found = {s.description: s for s in sites_of(tmp_path, source)}
    assert mutants.mutate(source, found[description]) == mutated


def test_typing_docstrings_and_assertions_are_not_sites(tmp_path):
    found = sites_of(
        tmp_path,
        '''
        """Docstring."""
        from typing import TYPE_CHECKING, Literal, cast
        if TYPE_CHECKING:
            LIMIT = 1
        __all__ = ["k"]
        Kind = Literal[1, 2]
        def k(x: Literal[3] = 4) -> Literal[5]:
            """Docstring."""
            assert x > 0
            y: int = cast("int", x)
            return y
        ''',
    )
    assert [(s.description, s.runtime) for s in found] == [
        ("`4` to `5`", False),  # a default is evaluated when the module is imported
        ("`return y` to `return None`", True),
    ]


def test_keys_name_no_line_and_number_repeats(tmp_path):
    body = """
        class C:
            LIMIT = 3
            def m(self, v):
                return v == 1 or v == 1
        """
    first = [s.key for s in sites_of(tmp_path, body)]
    moved = [s.key for s in sites_of(tmp_path, "import os\n\n\n" + textwrap.dedent(body))]
    assert first == moved
    assert first == [
        "mod.py::C: `3` to `4`",
        "mod.py::C.m: `return v == 1 or v == 1` to `return None`",
        "mod.py::C.m: `==` to `!=` in `v == 1`",
        "mod.py::C.m: `1` to `2`",
        "mod.py::C.m: `or` to `and` in `v == 1 or v == 1`",
        "mod.py::C.m: `==` to `!=` in `v == 1` #2",
        "mod.py::C.m: `1` to `2` #2",
    ]


def test_equivalents_file_format(tmp_path):
    listed = tmp_path / "eq.txt"
    listed.write_text("# comment\n\nmod.py::f: `1` to `2`\n    why it cannot be\n    observed\n")
    assert mutants.read_equivalents(listed) == {"mod.py::f: `1` to `2`": "why it cannot be observed"}
    listed.write_text("mod.py::f: `1` to `2`\nmod.py::g: `1` to `2`\n    why\n")
    with pytest.raises(mutants.ToolError, match=r"mod.py::f: `1` to `2` has no reason"):
        mutants.read_equivalents(listed)
    listed.write_text("mod.py::f: `1` to `2`\n    why\nmod.py::f: `1` to `2`\n    again\n")
    with pytest.raises(mutants.ToolError, match="listed twice"):
        mutants.read_equivalents(listed)


def test_every_listed_equivalent_is_a_current_site():
    """The list cannot rot: a site whose code changed must be judged again."""
    listed = mutants.read_equivalents(ROOT / "tools" / "equivalent_mutants.txt")
    keys = {s.key for s in mutants.find_sites(ROOT, mutants.package_files(ROOT, ["pytest_ecr"]))}
    assert sorted(set(listed) - keys) == []


TOY = """
def is_adult(age):
    return age >= 18


def clamp(n):
    return min(n, 10)


def unused(x):
    return x
"""

TOY_TESTS = """
from toy import clamp, is_adult


def test_adult():
    assert is_adult(18) is True
    assert is_adult(17) is False


def test_clamp():
    assert clamp(3) == 3
"""


@pytest.fixture
def toy(tmp_path):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "__init__.py").write_text(TOY)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_toy.py").write_text(TOY_TESTS)
    return tmp_path


def test_a_run_kills_reports_survivors_and_leaves_the_tree_alone(toy, capsys):
    listed = toy / "equivalents.txt"
    listed.write_text(
        "toy/__init__.py::is_adult: `18` to `19`\n    listed to be skipped\ntoy/gone.py::f: `1` to `2`\n    x\n"
    )
    argv = ["--root", str(toy), "--package", "toy", "--sample", "5", "--equivalents", str(listed)]
    assert mutants.main([*argv, "--fail-under", "70"]) == 1
    out = capsys.readouterr().out
    assert "sites: 5 in 1 files (1 listed equivalent, skipped)" in out
    assert "lists a site that no longer exists: toy/gone.py::f: `1` to `2`" in out
    assert "mutation score: 3 of 5 killed (60.0 %) [3 by a failing test, 0 by timeout]" in out
    survivors = out.split("survivors (2):")[1]
    assert "survived    toy/__init__.py:7  toy/__init__.py::clamp: `10` to `11`" in survivors
    assert "1 test function(s) passed with the mutant" in survivors  # only test_clamp runs clamp
    assert "not covered toy/__init__.py:11  toy/__init__.py::unused: `return x` to `return None`" in survivors
    assert "`18` to `19`" not in out.split("sites:")[1]
    assert (toy / "toy" / "__init__.py").read_text() == TOY
    assert sorted(p.name for p in toy.iterdir()) == ["equivalents.txt", "tests", "toy"]


def test_usage_errors(toy, capsys):
    assert mutants.main(["--root", str(toy), "--package", "toy", "--sample", "7"]) == 2
    assert "--sample 7: only 6 sites in toy" in capsys.readouterr().err
    assert mutants.main(["--root", str(toy), "--package", "toy", "--paths", "nowhere"]) == 2
    assert "--paths: nowhere does not exist" in capsys.readouterr().err
