"""The public surface: the fixtures' types exported from ``pytest_ecr``, the hooks page's example
surviving ``-p no:ecr``, the API reference generated from the docstrings (issue #18, item 6)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_ecr

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_exported_name_resolves() -> None:
    for name in set(pytest_ecr.__all__) - {"UNSUPPORTED_IMAGE", "Call"}:
        assert getattr(pytest_ecr, name).__name__ == name
    assert pytest_ecr.Call.__name__ == "Exchange"  # what the call log holds, under its public name
    assert isinstance(pytest_ecr.UNSUPPORTED_IMAGE, pytest_ecr.ScanFailure)
    with pytest.raises(AttributeError, match="no attribute 'EcrClok'"):
        _ = pytest_ecr.EcrClok  # type: ignore[attr-defined]


def test_importing_the_package_does_not_load_botocore() -> None:
    code = "import sys, pytest_ecr; from pytest_ecr import __all__; print('botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_fixtures_return_the_exported_types(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest_ecr
        from pytest_ecr import CallLog, EcrClock, EcrServer, EventLog, FakeECR, Faults, RepositoryHandle

        def test_types(ecr, ecr_clock, ecr_repo, ecr_server):
            assert type(ecr) is FakeECR
            assert type(ecr_clock) is EcrClock
            assert type(ecr_repo) is RepositoryHandle
            assert type(ecr_server) is EcrServer
            assert type(ecr.calls) is CallLog
            assert type(ecr.events) is EventLog
            assert type(ecr.faults) is Faults
            assert type(ecr.clock) is pytest_ecr.Clock
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def _hooks_example() -> str:
    text = (DOCS / "hooks.rst").read_text()
    [block] = re.findall(r"\.\. code-block:: python\n\n(.*?)\n(?=\S)", text, flags=re.S)
    return "\n".join(line[4:] for line in block.splitlines())


def test_hooks_page_example_works_and_survives_without_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(_hooks_example())
    pytester.makepyfile(
        """
        import pytest

        def test_plain():
            pass

        @pytest.mark.ecr_seed(images={"app": ["vulnerable"]})
        def test_findings(ecr, ecr_client, ecr_clock):
            if not hasattr(ecr, "push_image"):
                pytest.skip("pytest-ecr not loaded")
            ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "vulnerable"})
            ecr_clock.advance(seconds=ecr.options.scan_seconds)
            found = ecr_client.describe_image_scan_findings(
                repositoryName="app", imageId={"imageTag": "vulnerable"}
            )["imageScanFindings"]["findings"]
            assert [f["name"] for f in found] == ["CVE-2024-0001"]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
    # Without the plugin the hook implementations are ignored, not an "unknown hook" error.
    without = pytester.runpytest(
        "-p",
        "no:randomly",
        "-p",
        "no:ecr",
        "test_hooks_page_example_works_and_survives_without_the_plugin.py::test_plain",
    )
    without.assert_outcomes(passed=1)
    assert "unknown hook" not in without.stdout.str()


def test_a_hook_without_optionalhook_breaks_no_ecr(pytester: pytest.Pytester) -> None:
    # Why the page marks the hooks optional: the old example failed every run with -p no:ecr.
    pytester.makeconftest("def pytest_ecr_scan_findings(scan):\n    return None\n")
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:ecr")
    assert result.ret != 0
    assert "unknown hook 'pytest_ecr_scan_findings'" in result.stdout.str() + result.stderr.str()


def test_api_reference_is_generated_from_the_docstrings() -> None:
    api = (DOCS / "api.rst").read_text()
    assert ".. autoclass:: FakeECR" in api
    assert "sphinx.ext.autodoc" in (DOCS / "conf.py").read_text()
    # No hand-written signature of the fake is left to drift (the issue: seed()'s had).
    for page in DOCS.glob("*.rst"):
        assert ".. py:method:: seed(" not in page.read_text(), page.name
        assert ".. py:class:: pytest_ecr.FakeECR" not in page.read_text(), page.name
    # Every exported name is in the reference.
    for name in pytest_ecr.__all__:
        assert re.search(rf"^\.\. auto\w+:: {name}$", api, flags=re.M), name
