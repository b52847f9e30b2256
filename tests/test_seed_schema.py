"""Seeds (markers, ``ecr.seed``, seed files) are checked as a whole before anything is created;
marker arguments fail with messages naming the marker (issue #18, item 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_ecr import FakeECR
from pytest_ecr.seed_schema import SeedError
from pytest_ecr.server.cli import main


def assert_lines(result: pytest.RunResult, *starts: str) -> None:
    """Each of ``starts`` begins a line of the output, in this order (literally: key paths hold
    brackets, which fnmatch patterns would read as character sets)."""
    lines = iter(result.stdout.lines)
    for start in starts:
        assert any(line.startswith(start) for line in lines), (start, result.stdout.str())


def test_a_string_of_tags_is_not_one_image_per_character(pytester: pytest.Pytester) -> None:
    # The issue: images={"app": "v1"} seeded two images tagged "v" and "1" (and the test passed).
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ecr_seed(images={"app": "v1"})
        def test_seeded(ecr_client):
            assert len(ecr_client.list_images(repositoryName="app")["imageIds"]) == 2
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    assert_lines(
        result,
        "E   pytest_ecr.seed_schema.SeedError: @pytest.mark.ecr_seed: images['app']: the images of a "
        "repository are a list, got the string 'v1' (which would be 2 images tagged 'v', '1'); write "
        "['v1'] for one image tagged 'v1'",
        "    Usage: ecr_seed(repositories=(), images=None, upstream=None, account=None, region=None)",
    )
    # Plugin frames are hidden: the report is the message, not FakeECR.push_image's source.
    assert "def push_image" not in result.stdout.str()
    assert "seed_schema.py" not in result.stdout.str()


def test_every_problem_is_reported_at_once_with_its_key_path(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ecr_seed(
            repositories=["ok-repo", {"repositoryName": "locked", "imageTagMutabilty": "IMMUTABLE"}],
            images={"app": [{"tag": ["x"]}, {"pushed_days_agoo": 3}, {"format": "tar"}, 7]},
        )
        def test_x(ecr):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    assert_lines(
        result,
        "E   pytest_ecr.seed_schema.SeedError: @pytest.mark.ecr_seed: ",
        "      repositories[1]: unknown key 'imageTagMutabilty'; did you mean imageTagMutability,",
        "      images['app'][0]: unknown key 'tag'; did you mean tags? Accepted: tags, size, pushed_at, "
        "pushed_days_ago, format, platforms, findings, referrers",
        "      images['app'][1]: unknown key 'pushed_days_agoo'; did you mean pushed_days_ago",
        "      images['app'][2]['format']: format must be one of 'oci', 'docker', got 'tar'",
        "      images['app'][3]: an image is a tag, a list of tags, None or a dict of push_image options, "
        "got int 7",
    )
    assert "TypeError: FakeECR.push_image() got an unexpected keyword" not in result.stdout.str()


def test_seed_checks_everything_before_creating_anything() -> None:
    fake = FakeECR()
    # The second repository's name breaks ECR's rule; the first must not be created meanwhile.
    with pytest.raises(SeedError, match=r"ecr.seed\(\): repositories\[1\]: repository name 'Bad Name'"):
        fake.seed(repositories=["good-one", "Bad Name"], images={"app": ["v1"]})
    with pytest.raises(SeedError, match=r"repositories\[1\]: repository 'twice' is listed twice"):
        fake.seed(repositories=["twice", "twice"])
    with pytest.raises(TypeError, match=r"images\['app'\]\[0\]\['size'\]: size must be a number"):
        fake.seed(images={"app": [{"size": "big"}]})
    # PutImage's rule for tags, as the fake's API applies it (service/images.py, TAG_RE).
    with pytest.raises(ValueError, match=r"images\['app'\]\[0\]\['tags'\]\[1\]: tag 'bad tag!' is not valid"):
        fake.seed(images={"app": [{"tags": ["ok", "bad tag!"]}]})
    with pytest.raises(
        SeedError, match=r"upstream\['quay.io'\]\['coreos/etcd'\]: the images of a repository"
    ):
        fake.seed(upstream={"quay.io": {"coreos/etcd": "v3"}})
    with pytest.raises(SeedError, match=r"region: must be a string such as 'us-east-1', got str 'Europe'"):
        fake.seed(repositories=["app"], region="Europe")
    # Nothing of any of those seeds was created: no repository, no upstream image.
    assert not any(reg.repositories for reg in fake.store.registries.values())
    with pytest.raises(KeyError):
        fake.repository("good-one")
    fake.seed(repositories=["good-one"])  # the same seed, once right, applies
    assert fake.repository("good-one").name == "good-one"


def test_config_marker_values_are_checked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ecr_config(account_id=123456789012)
        def test_number(ecr):
            pass

        @pytest.mark.ecr_config(regoin="eu-west-1")
        def test_typo(ecr):
            pass

        @pytest.mark.ecr_config(allow_services="sts")
        def test_string(ecr):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=3)
    out = result.stdout.str()
    assert "dataclasses" not in out  # the issue: 40 lines of dataclasses.replace
    result.stdout.fnmatch_lines(
        [
            "E   TypeError: @pytest.mark.ecr_config: account_id must be a string such as '123456789012', "
            "got int 123456789012",
            "E   TypeError: @pytest.mark.ecr_config: unknown argument 'regoin'; did you mean region? *",
            "E   TypeError: @pytest.mark.ecr_config: allow_services must be a list of service names*",
        ]
    )


def test_time_marker_takes_dates_and_names_itself_otherwise(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import datetime
        import pytest

        @pytest.mark.ecr_time(datetime.date(2025, 1, 31))
        def test_date(ecr_clock):
            # A date freezes at its midnight, UTC (as a naive datetime does).
            assert ecr_clock.now() == datetime.datetime(2025, 1, 31, tzinfo=datetime.timezone.utc)

        @pytest.mark.ecr_time(object())
        def test_object(ecr):
            pass

        @pytest.mark.ecr_time()
        def test_nothing(ecr):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=2)
    out = result.stdout.str()
    assert "AttributeError" not in out
    assert "_seed_args" not in out
    result.stdout.fnmatch_lines(
        [
            "E   TypeError: @pytest.mark.ecr_time: cannot read <object object at *> as a moment in time*",
            "E   TypeError: @pytest.mark.ecr_time: give the moment to freeze at",
        ]
    )


def test_seed_file_problems_name_the_file_and_key_path(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"images": {"app": "v1", "web": [{"pushed_days_agoo": 1}]}}))
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--seed", str(seed), "--quiet"])
    message = str(exited.value)
    assert message.startswith(f"pytest-ecr: {seed}: \n  images['app']: the images of a repository are a list")
    assert "images['web'][0]: unknown key 'pushed_days_agoo'; did you mean pushed_days_ago" in message
