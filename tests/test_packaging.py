"""The package's metadata says what is true of the project (issue #23): its links agree with the
site the plugin's messages name, its licence is shipped, its version is written once, and an
editable install is one that type checkers can follow."""

from __future__ import annotations

import importlib.metadata
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import pytest_ecr
from pytest_ecr import plugin

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest depends on tomli below 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT: dict[str, Any] = PYPROJECT["project"]


def installed() -> importlib.metadata.Distribution:
    """pytest-ecr's installed metadata, not the egg-info a build may leave in the checkout."""
    [distribution] = [
        d
        for d in importlib.metadata.distributions(name="pytest-ecr")
        if Path(str(d.locate_file(""))).resolve() != ROOT
    ]
    return distribution


def test_documentation_url_is_the_site_messages_link_to() -> None:
    urls = PROJECT["urls"]
    # Source and Issues wait for the public repository's address (pyproject.toml says so).
    assert set(urls) == {"Documentation", "Changelog"}
    assert urls["Documentation"].rstrip("/") == plugin.DOCS
    assert urls["Changelog"] == f"{plugin.DOCS}/changelog.html"
    # Every link to the docs site, in the package and the README, is under that one address.
    texts = [path.read_text(encoding="utf-8") for path in (ROOT / "pytest_ecr").rglob("*.py")]
    texts.append((ROOT / "README.md").read_text(encoding="utf-8"))
    links = {link for text in texts for link in re.findall(r"https://[\w.-]*readthedocs\.io[^\s\"')]*", text)}
    assert links, "no documentation links found"
    assert all(link.startswith(plugin.DOCS) for link in links), sorted(links)


def test_licence_file_matches_the_declared_licence() -> None:
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")
    # PEP 639: a licence expression replaces the licence classifiers, which build backends refuse beside it.
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]


def test_classifiers_say_how_mature_and_what_for() -> None:
    classifiers = PROJECT["classifiers"]
    assert len([c for c in classifiers if c.startswith("Development Status :: ")]) == 1
    assert "Framework :: Pytest" in classifiers
    versions = {
        c.rsplit(" ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    # requires-python's floor is the oldest classified version.
    assert min(versions, key=lambda v: tuple(map(int, v.split(".")))) == PROJECT[
        "requires-python"
    ].removeprefix(">=")


def test_version_is_written_once() -> None:
    assert "version" not in PROJECT
    assert PROJECT["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "pytest_ecr.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", pytest_ecr.__version__)
    # The installed metadata was built from it (a stale install: reinstall the checkout).
    assert installed().version == pytest_ecr.__version__


def test_readthedocs_builds_with_the_docs_extra() -> None:
    config = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text(encoding="utf-8"))
    assert config["version"] == 2
    assert (ROOT / config["sphinx"]["configuration"]).is_file()
    assert config["sphinx"]["fail_on_warning"] is True
    [install] = config["python"]["install"]
    assert install["extra_requirements"] == ["docs"]
    theme = re.search(r'^html_theme = "(\w+)"', (ROOT / "docs" / "conf.py").read_text(encoding="utf-8"), re.M)
    assert theme is not None
    assert any(
        requirement.startswith(theme.group(1)) for requirement in PROJECT["optional-dependencies"]["docs"]
    )


def test_editable_install_is_a_path_entry() -> None:
    # setuptools' import-hook finder (its default for a flat layout) is invisible to mypy and pyright;
    # package-dir = {"" = "."} makes the editable install a .pth line naming the checkout instead.
    distribution = installed()
    direct_url = distribution.read_text("direct_url.json")
    if direct_url is None or not json.loads(direct_url).get("dir_info", {}).get("editable"):
        pytest.skip("pytest-ecr is not installed in editable mode here")
    files = [str(file) for file in distribution.files or ()]
    assert not [name for name in files if name.endswith("_finder.py")], files
    [pth] = [file for file in distribution.files or () if str(file).endswith(".pth")]
    assert Path(pth.read_text(encoding="utf-8").strip()).resolve() == ROOT
