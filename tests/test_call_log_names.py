"""Call-log queries take the names test authors type (ECR operation names and boto3 method names);
any other name is an error with a suggestion, never a check that cannot fail (issue #18, item 1)."""

from __future__ import annotations

import pytest

from pytest_ecr import FakeECR


def test_assert_not_called_with_a_boto3_name_fails_after_the_call(pytester: pytest.Pytester) -> None:
    # The silent pass: this test file passed before, although the call was made.
    pytester.makepyfile(
        """
        def test_deletes(ecr, ecr_repo, ecr_client):
            ecr.push_image(ecr_repo.name, "v1")
            ecr_client.batch_delete_image(repositoryName=ecr_repo.name, imageIds=[{"imageTag": "v1"}])
            ecr.calls.assert_not_called("batch_delete_image")
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*AssertionError: expected BatchDeleteImage 0 time(s), found 1; calls were:*", "*BatchDeleteImage(*"]
    )


def test_boto3_and_ecr_names_find_the_same_calls(ecr: FakeECR, ecr_client: object) -> None:
    ecr.create_repository("app")
    ecr.push_image("app", "v1")
    client = ecr.client()
    client.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    client.describe_repositories()
    by_method = ecr.calls.filter("batch_delete_image")
    assert [c.operation for c in by_method] == ["BatchDeleteImage"]
    assert by_method == ecr.calls.filter("BatchDeleteImage", repositoryName="app")
    assert len(ecr.calls.assert_called("describe_repositories", times=1)) == 1
    # A name of no operation is not an empty match: it is an error naming the closest names.
    with pytest.raises(ValueError, match=r"no operation 'BatchDeleteImages'.*did you mean BatchDeleteImage"):
        ecr.calls.filter("BatchDeleteImages")
    with pytest.raises(ValueError, match=r"no operation 'batch_delete_images'.*batch_delete_image"):
        ecr.calls.assert_not_called("batch_delete_images")
    with pytest.raises(ValueError, match=r"no operation 'delete'"):
        ecr.calls.assert_called("delete")


def test_request_member_names_are_checked(ecr: FakeECR) -> None:
    ecr.create_repository("app")
    ecr.client().describe_images(repositoryName="app")
    # boto3 users write keyword arguments in camelCase, as the API does; snake_case never matched.
    with pytest.raises(ValueError, match=r"DescribeImages has no request member 'repository_name'"):
        ecr.calls.assert_not_called("DescribeImages", repository_name="other")
    with pytest.raises(ValueError, match=r"did you mean repositoryName"):
        ecr.calls.filter("describe_images", repositoryNme="app")
    with pytest.raises(ValueError, match=r"No ECR operation has request member 'imageTagg'"):
        ecr.calls.filter(imageTagg="v1")
    assert len(ecr.calls.filter(repositoryName="app")) == 1
    ecr.calls.assert_not_called("describe_images", repositoryName="other")


def test_event_types_are_checked(ecr: FakeECR) -> None:
    ecr.create_repository("app")
    ecr.push_image("app", "v1")
    assert len(ecr.events.filter("ECR Image Action", action_type="PUSH")) == 1
    # "ECR Image Push" is not a detail-type ECR sends (the User Guide's list); it matched nothing.
    with pytest.raises(ValueError, match=r"ECR sends no 'ECR Image Push' events; did you mean"):
        ecr.events.filter("ECR Image Push")


def test_the_call_log_slices_like_a_list(ecr: FakeECR) -> None:
    # CallLog is documented as a sequence; a bounded deque underneath must not take slicing away
    # (bench/scale.py read ``ecr.calls[start:]`` and broke when the log became a deque).
    client = ecr.client()
    client.create_repository(repositoryName="app")
    client.create_repository(repositoryName="web")
    client.describe_repositories()
    assert [c.operation for c in ecr.calls[1:]] == ["CreateRepository", "DescribeRepositories"]
    assert [c.params.get("repositoryName") for c in ecr.calls[:2]] == ["app", "web"]
    assert ecr.calls[-1].operation == "DescribeRepositories"
    assert ecr.calls[5:] == []
