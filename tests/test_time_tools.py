"""The fake's clock with time-machine, conflicting freezes, and ``FakeECR.clock.advance`` taking
what ``ecr_clock.advance`` takes (issue #18, item 5)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from pytest_ecr import FakeECR


def test_ecr_clock_freezes_with_time_machine_when_the_test_travels_with_it(pytester: pytest.Pytester) -> None:
    # Before: ecr_clock froze with freezegun, and time_machine.move_to raised
    # "time-machine cannot start when freezegun is active".
    pytester.makepyfile(
        """
        import datetime
        import pytest

        UTC = datetime.timezone.utc

        def test_fixture(ecr_clock, time_machine, ecr_client):
            time_machine.move_to(datetime.datetime(2030, 5, 1, tzinfo=UTC), tick=False)
            assert ecr_clock.now() == datetime.datetime(2030, 5, 1, tzinfo=UTC)
            assert ecr_clock.advance(hours=2) == datetime.datetime(2030, 5, 1, 2, tzinfo=UTC)
            # the code under test sees the same time as the fake
            assert datetime.datetime.now(UTC) == datetime.datetime(2030, 5, 1, 2, tzinfo=UTC)
            ecr_client.create_repository(repositoryName="app")
            created = ecr_client.describe_repositories()["repositories"][0]["createdAt"]
            assert created == datetime.datetime(2030, 5, 1, 2, tzinfo=UTC)

        @pytest.mark.time_machine(datetime.datetime(2031, 1, 1, tzinfo=UTC), tick=False)
        def test_marker(ecr_clock):
            assert ecr_clock.now() == datetime.datetime(2031, 1, 1, tzinfo=UTC)
            ecr_clock.advance(days=1)
            assert datetime.datetime.now(UTC) == datetime.datetime(2031, 1, 2, tzinfo=UTC)

        def test_fixture_unused_so_far(ecr_clock, time_machine):
            # ecr_clock froze with time-machine itself: the test can still travel later.
            frozen = ecr_clock.now()
            assert ecr_clock.advance(seconds=5) == datetime.datetime.now(UTC)
            assert (ecr_clock.now() - frozen).total_seconds() == 5
            time_machine.move_to(datetime.datetime(2032, 1, 1, tzinfo=UTC), tick=False)
            assert ecr_clock.now() == datetime.datetime(2032, 1, 1, tzinfo=UTC)

        @pytest.mark.ecr_time("2025-06-01T00:00:00Z")
        def test_ecr_time_with_time_machine(ecr_clock, time_machine):
            assert datetime.datetime.now(UTC) == datetime.datetime(2025, 6, 1, tzinfo=UTC)
            ecr_clock.advance(minutes=1)
            assert datetime.datetime.now(UTC) == datetime.datetime(2025, 6, 1, 0, 1, tzinfo=UTC)
            time_machine.move_to(datetime.datetime(2026, 1, 1, tzinfo=UTC), tick=False)
            assert ecr_clock.now() == datetime.datetime(2026, 1, 1, tzinfo=UTC)

        def test_freezegun_still_the_default(ecr_clock):
            assert type(datetime.datetime.now()).__name__ == "FakeDatetime"
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=5)


def test_a_module_travelling_with_time_machine_gets_a_time_machine_clock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import datetime
        import time_machine

        UTC = datetime.timezone.utc

        def test_travel_in_the_body(ecr_clock):
            moment = datetime.datetime(2029, 3, 1, tzinfo=UTC)
            with time_machine.travel(moment, tick=False):
                assert ecr_clock.now() == moment
                assert ecr_clock.advance(minutes=5) == datetime.datetime.now(UTC)
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_freeze_time_and_ecr_time_on_one_test_is_an_error_naming_both(pytester: pytest.Pytester) -> None:
    # Before: freezegun's decorator started after the fixtures and its time silently won.
    pytester.makepyfile(
        """
        import datetime
        import pytest
        import time_machine
        from freezegun import freeze_time

        @freeze_time("2020-01-01")
        @pytest.mark.ecr_time("2025-01-01T00:00:00Z")
        def test_freezegun(ecr_client):
            pass

        class TestClass:
            @pytest.mark.ecr_time("2025-01-01T00:00:00Z")
            @freeze_time("2019-02-03")
            def test_method(self, ecr):
                pass

        @time_machine.travel(datetime.datetime(2021, 1, 1), tick=False)
        @pytest.mark.ecr_time("2025-01-01T00:00:00Z")
        def test_time_machine_decorator(ecr):
            pass

        @pytest.mark.time_machine("2022-01-01")
        @pytest.mark.ecr_time("2025-01-01T00:00:00Z")
        def test_time_machine_marker(ecr):
            pass

        @pytest.mark.ecr_time("2025-01-01T00:00:00Z")
        def test_alone(ecr_clock):
            assert datetime.datetime.now() == datetime.datetime(2025, 1, 1)
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=4)
    result.stdout.fnmatch_lines_random(
        [
            "@pytest.mark.ecr_time('2025-01-01T00:00:00Z') and @freeze_time('2020-01-01T00:00:00') both "
            "freeze time for this test; keep one of them (ecr_time freezes for the fake and the code under "
            "test alike)",
            "@pytest.mark.ecr_time('2025-01-01T00:00:00Z') and @freeze_time('2019-02-03T00:00:00') both*",
            "@pytest.mark.ecr_time('2025-01-01T00:00:00Z') and @time_machine.travel('2021-01-01T00:00:00+00:00')"
            " both freeze time*",
            "@pytest.mark.ecr_time('2025-01-01T00:00:00Z') and @pytest.mark.time_machine('2022-01-01') both*",
        ]
    )


def test_fake_clock_advance_takes_the_units_ecr_clock_takes() -> None:
    # docs/server.rst: fake.clock.advance(hours=12) (it raised TypeError).
    fake = FakeECR()
    start = fake.clock.now()
    moved = fake.clock.advance(hours=12)
    assert isinstance(moved, datetime)
    assert moved.tzinfo == timezone.utc
    assert fake.clock.now() - start == pytest.approx(12 * 3600, abs=1)
    fake.clock.advance(30, minutes=1, days=1)
    assert fake.clock.now() - start == pytest.approx(12 * 3600 + 90 + 86400, abs=1)
    with pytest.raises(ValueError, match="never goes backwards"):
        fake.clock.advance(hours=-1)


def test_pytest_reports_real_durations_of_a_test_in_ecr_time(pytester: pytest.Pytester) -> None:
    # freezegun swaps the time functions of every loaded module; pytest's own (_pytest.timing)
    # must keep the real ones, or --durations and junitxml report 1.7e9-second tests.
    pytester.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.ecr_time("2026-01-01T00:00:00Z")
        def test_frozen(ecr_client):
            assert time.time() == 1767225600.0
            ecr_client.describe_repositories()
        """
    )
    result = pytester.runpytest(
        "-p", "no:randomly", "--durations=0", "--durations-min=0", "--junitxml=out.xml"
    )
    result.assert_outcomes(passed=1)
    durations = [
        float(m) for m in re.findall(r"^([0-9.]+)s (?:setup|call|teardown) ", result.stdout.str(), re.M)
    ]
    assert durations, result.stdout.str()
    assert max(durations) < 600, result.stdout.str()
    times = [float(t) for t in re.findall(r'time="([0-9.]+)"', (pytester.path / "out.xml").read_text())]
    assert times
    assert max(times) < 600
