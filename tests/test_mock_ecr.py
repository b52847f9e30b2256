"""``mock_ecr()`` as a class decorator: a fresh fake per test, with setUp/tearDown inside it."""

from __future__ import annotations

import io
import unittest

import boto3
import pytest

from pytest_ecr import mock_ecr

#: Records FakeECR starts/stops and the test steps, in order (the pytester files share it via conftest).
RECORDER = """
import pytest
from pytest_ecr.fake import FakeECR

EVENTS = []
_start, _stop = FakeECR.start, FakeECR.stop

def start(self):
    EVENTS.append("start")
    return _start(self)

def stop(self):
    EVENTS.append("stop")
    return _stop(self)

FakeECR.start, FakeECR.stop = start, stop
"""


def test_testcase_gets_a_fresh_fake_per_test_with_setup_inside(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORDER)
    pytester.makepyfile(
        """
        import unittest

        import boto3
        from conftest import EVENTS
        from pytest_ecr import mock_ecr

        def names(client):
            return sorted(r["repositoryName"] for r in client.describe_repositories()["repositories"])

        @mock_ecr(region="eu-west-1")
        class TestRepositories(unittest.TestCase):
            def setUp(self):
                EVENTS.append("setUp")
                self.client = boto3.client("ecr", region_name="eu-west-1")
                self.client.create_repository(repositoryName="from-setup")  # inside the fake
                self.addCleanup(lambda: EVENTS.append("cleanup %s" % names(self.client)))

            def tearDown(self):
                EVENTS.append("tearDown %s" % names(self.client))  # still the test's fake

            def test_1_first(self):
                self.client.create_repository(repositoryName="first-only")
                self.assertEqual(names(self.client), ["first-only", "from-setup"])

            def test_2_second(self):
                # Nothing the first test created is visible: a fresh fake, set up again.
                self.assertEqual(names(self.client), ["from-setup"])

        def test_order():
            one = ["start", "setUp", "tearDown ['first-only', 'from-setup']",
                   "cleanup ['first-only', 'from-setup']", "stop"]
            two = ["start", "setUp", "tearDown ['from-setup']", "cleanup ['from-setup']", "stop"]
            assert EVENTS == one + two
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_plain_classes(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORDER)
    pytester.makepyfile(
        """
        import boto3
        from conftest import EVENTS
        from pytest_ecr import mock_ecr

        def names():
            client = boto3.client("ecr", region_name="us-east-1")
            return sorted(r["repositoryName"] for r in client.describe_repositories()["repositories"])

        @mock_ecr()
        class TestWrapped:
            def test_a(self):
                boto3.client("ecr", region_name="us-east-1").create_repository(repositoryName="aa")
                assert names() == ["aa"]

            def test_b(self):
                assert names() == []

            def helper(self):  # not a test: not wrapped
                return "plain"

        @mock_ecr()
        class TestWithSetupMethod:
            def setup_method(self, method):
                boto3.client("ecr", region_name="us-east-1").create_repository(repositoryName=method.__name__)

            def teardown_method(self, method):
                EVENTS.append("teardown %s" % names())

            def test_c(self):
                assert names() == ["test_c"]

            def test_d(self):
                assert names() == ["test_d"]

        @mock_ecr()
        class TestSetupWithoutArgument:
            def setup_method(self):  # pytest also accepts it without the method
                boto3.client("ecr", region_name="us-east-1").create_repository(repositoryName="plain")

            def test_e(self):
                assert names() == ["plain"]

        def test_order():
            assert TestWrapped().helper() == "plain"
            assert EVENTS == ["start", "stop"] * 2 + [
                "start", "teardown ['test_c']", "stop", "start", "teardown ['test_d']", "stop", "start", "stop"
            ]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=6)


def test_testcase_under_the_unittest_runner() -> None:
    seen: list[list[str]] = []

    @mock_ecr()
    class Case(unittest.TestCase):
        def setUp(self) -> None:
            self.client = boto3.client("ecr", region_name="us-east-1")

        def test_one(self) -> None:
            self.client.create_repository(repositoryName="one")
            seen.append([r["repositoryName"] for r in self.client.describe_repositories()["repositories"]])

        def test_two(self) -> None:
            seen.append([r["repositoryName"] for r in self.client.describe_repositories()["repositories"]])

    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Case)
    result = unittest.TextTestRunner(stream=io.StringIO()).run(suite)
    assert result.wasSuccessful(), result.errors + result.failures
    assert seen == [["one"], []]


def test_decorating_a_class_returns_the_class() -> None:
    class Case(unittest.TestCase):
        pass

    assert mock_ecr()(Case) is Case
