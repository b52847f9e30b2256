"""A user fixture named ``ecr`` that shadows the plugin's is reported, with where it comes from and
how to keep both (issue #18, item 3)."""

from __future__ import annotations

import pytest

#: the fixture is at line 8 (its decorator's line, as pytest counts it)
CONFTEST = """
import pytest


class MotoLikeECR:
    pass


@pytest.fixture
def ecr():
    return MotoLikeECR()
"""


def test_markers_and_fixtures_report_a_shadowing_ecr_fixture(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ecr_seed(repositories=["app"])
        def test_marker(ecr):
            pass  # before: passed, and nothing was seeded

        def test_client(ecr_client):
            pass  # before: 'MotoLikeECR' object has no attribute 'client'

        def test_own_fixture_alone(ecr):
            assert type(ecr).__name__ == "MotoLikeECR"  # a suite using only its own fixture is untouched
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.ecr_seed needs pytest-ecr's `ecr` fixture, but the fixture `ecr` defined at "
            "conftest.py:8 (returning conftest.MotoLikeECR) shadows it for this test. To keep both, rename "
            "yours (for example to `moto_ecr`)*-p no:ecr*",
            "*the `ecr_client` fixture needs pytest-ecr's `ecr` fixture, but the fixture `ecr` defined at "
            "conftest.py:8*",
        ]
    )
    assert "has no attribute 'client'" not in result.stdout.str()


def test_a_fixture_extending_the_plugins_is_not_shadowing(pytester: pytest.Pytester) -> None:
    # The way out the report names: take pytest-ecr's fixture under the same name.
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def ecr(ecr):
            ecr.create_repository("from-conftest")
            return ecr
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ecr_seed(repositories=["from-marker"])
        def test_both(ecr_client):
            names = {r["repositoryName"] for r in ecr_client.describe_repositories()["repositories"]}
            assert names == {"from-conftest", "from-marker"}
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_a_wider_scoped_shadowing_fixture_is_reported_by_type(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def ecr():
            return {"client": "moto"}
        """
    )
    pytester.makepyfile(
        """
        def test_first(ecr):
            pass

        def test_client(ecr_client):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*the `ecr_client` fixture needs pytest-ecr's `ecr` fixture, but the fixture `ecr`*(returning builtins.dict)*"
        ]
    )
