"""Put/Get/DeleteLifecyclePolicy and every validation rule of spec §5.3, through boto3."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.ecr_time("2026-01-01T00:00:00Z")

ACCOUNT = "123456789012"
REPO = "test-repo"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
JAN1 = datetime(2026, 1, 1, tzinfo=timezone.utc)
FAILURE = (
    "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
    "'Lifecycle policy validation failure: "
)


def padded(text: str) -> str:
    """The text with trailing blanks up to the model's 100-character minimum."""
    return text + " " * max(0, 100 - len(text))


def doc(*rules: dict[str, Any]) -> str:
    return padded(json.dumps({"rules": list(rules)}))


def untagged(priority: int = 1, **selection: Any) -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "selection": {
            "tagStatus": "untagged",
            "countType": "imageCountMoreThan",
            "countNumber": 1,
            **selection,
        },
        "action": {"type": "expire"},
    }


def tagged(priority: int, *, prefixes: list[str] | None = None, patterns: list[str] | None = None) -> dict:
    selection: dict[str, Any] = {"tagStatus": "tagged"}
    if prefixes is not None:
        selection["tagPrefixList"] = prefixes
    if patterns is not None:
        selection["tagPatternList"] = patterns
    selection.update(countType="sinceImagePushed", countUnit="days", countNumber=7)
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


def any_rule(priority: int, **selection: Any) -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5, **selection},
        "action": {"type": "expire"},
    }


def archive_expiry(priority: int, days: int = 365, tag_status: str = "any") -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "selection": {
            "tagStatus": tag_status,
            "storageClass": "archive",
            "countType": "sinceImageTransitioned",
            "countUnit": "days",
            "countNumber": days,
        },
        "action": {"type": "expire"},
    }


def transition(priority: int, count_type: str = "sinceImagePulled") -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "selection": {"tagStatus": "any", "countType": count_type, "countUnit": "days", "countNumber": 90},
        "action": {"type": "transition", "targetStorageClass": "archive"},
    }


def rejection(client, text: str) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=text)
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


# -- operations -----------------------------------------------------------------------------------

PRETTY = """{
    "rules": [
        {
            "action": {"type": "expire"},
            "selection": {
                "countNumber": 14,
                "countUnit": "days",
                "countType": "sinceImagePushed",
                "tagStatus": "untagged"
            },
            "description": "Expire images older than 14 days",
            "rulePriority": 2
        },
        {
            "rulePriority": 1,
            "selection": {"tagStatus": "tagged", "tagPrefixList": ["prod"], "tagPatternList": [],
                          "countType": "imageCountMoreThan", "countNumber": 3},
            "action": {"type": "expire"}
        }
    ]
}"""
NORMALISED = (
    '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["prod"],'
    '"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}},'
    '{"rulePriority":2,"description":"Expire images older than 14 days","selection":{"tagStatus":"untagged",'
    '"countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}'
)


def test_put_returns_the_normalised_text(ecr_client, ecr_repo):
    answer = ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=PRETTY)
    answer.pop("ResponseMetadata")
    # Compact, rules by ascending priority, canonical key order, empty lists dropped.
    assert answer == {"registryId": ACCOUNT, "repositoryName": REPO, "lifecyclePolicyText": NORMALISED}


def test_get_and_delete(ecr_client, ecr_repo):
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=PRETTY)
    got = ecr_client.get_lifecycle_policy(repositoryName=REPO)
    got.pop("ResponseMetadata")
    # Never evaluated yet: 0 (the AWS CLI's delete-lifecycle-policy example shows 0.0).
    expected = {
        "registryId": ACCOUNT,
        "repositoryName": REPO,
        "lifecyclePolicyText": NORMALISED,
        "lastEvaluatedAt": EPOCH,
    }
    assert got == expected
    deleted = ecr_client.delete_lifecycle_policy(repositoryName=REPO)
    deleted.pop("ResponseMetadata")
    assert deleted == expected
    for call in (ecr_client.get_lifecycle_policy, ecr_client.delete_lifecycle_policy):
        with pytest.raises(ClientError) as exc:
            call(repositoryName=REPO)
        assert exc.value.response["Error"] == {
            "Code": "LifecyclePolicyNotFoundException",
            "Message": "Lifecycle policy does not exist for the repository with name 'test-repo' "
            "in the registry with id '123456789012'",
        }


def test_put_replaces_the_policy(ecr_client, ecr_repo):
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=PRETTY)
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=doc(untagged()))
    text = ecr_client.get_lifecycle_policy(repositoryName=REPO)["lifecyclePolicyText"]
    assert json.loads(text) == {"rules": [untagged()]}


def test_missing_repository(ecr_client):
    with pytest.raises(ClientError) as exc:
        ecr_client.put_lifecycle_policy(repositoryName="nope", lifecyclePolicyText=doc(untagged()))
    assert exc.value.response["Error"]["Code"] == "RepositoryNotFoundException"
    with pytest.raises(ClientError) as exc:
        ecr_client.get_lifecycle_policy(repositoryName="nope")
    assert exc.value.response["Error"]["Message"] == (
        "The repository with name 'nope' does not exist in the registry with id '123456789012'"
    )


def test_last_evaluated_at_follows_the_daily_evaluation(ecr, ecr_client, ecr_repo, ecr_clock):
    ecr.push_image(REPO, [], pushed_days_ago=3)
    newest = ecr.push_image(REPO, [], pushed_days_ago=1)
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=doc(untagged()))
    # Nothing happens when the policy is put...
    assert len(ecr_client.list_images(repositoryName=REPO)["imageIds"]) == 2
    ecr_clock.advance(hours=23, minutes=59)
    assert len(ecr_client.list_images(repositoryName=REPO)["imageIds"]) == 2
    assert ecr_client.get_lifecycle_policy(repositoryName=REPO)["lastEvaluatedAt"] == EPOCH
    # ...and within 24 hours the policy has acted, whatever call looks first.
    ecr_clock.advance(minutes=1)
    assert ecr_client.list_images(repositoryName=REPO)["imageIds"] == [{"imageDigest": newest.digest}]
    assert ecr_client.get_lifecycle_policy(repositoryName=REPO)["lastEvaluatedAt"] == JAN1 + timedelta(days=1)


def test_evaluations_repeat_every_day(ecr, ecr_client, ecr_repo, ecr_clock):
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=doc(untagged()))
    ecr_clock.advance(days=1)
    ecr_client.describe_images(repositoryName=REPO)  # the first evaluation
    ecr.push_image(REPO, [], pushed_days_ago=5)
    ecr.push_image(REPO, [])
    ecr_clock.advance(hours=23)
    assert len(ecr_client.describe_images(repositoryName=REPO)["imageDetails"]) == 2
    ecr_clock.advance(hours=1)
    assert len(ecr_client.describe_images(repositoryName=REPO)["imageDetails"]) == 1
    assert ecr_client.get_lifecycle_policy(repositoryName=REPO)["lastEvaluatedAt"] == JAN1 + timedelta(days=2)


def test_deleted_policy_no_longer_acts(ecr, ecr_client, ecr_repo, ecr_clock):
    ecr.push_image(REPO, [], pushed_days_ago=3)
    ecr.push_image(REPO, [], pushed_days_ago=1)
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=doc(untagged()))
    ecr_client.delete_lifecycle_policy(repositoryName=REPO)
    ecr_clock.advance(days=2)
    assert ecr.run_lifecycle() == []
    assert len(ecr_client.list_images(repositoryName=REPO)["imageIds"]) == 2


def test_expired_images_disappear_from_every_view(ecr, ecr_client, ecr_repo):
    gone = ecr.push_image(REPO, ["v1", "latest"], pushed_days_ago=3)
    ecr.push_image(REPO, ["v2"], pushed_days_ago=1)
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=doc(any_rule(1, countNumber=1)))
    [action] = ecr.run_lifecycle()
    assert (action.repository, action.image_digest, action.image_tags) == (
        REPO,
        gone.digest,
        ("v1", "latest"),
    )
    assert gone.digest not in ecr.repository(REPO).images
    assert "v1" not in ecr.repository(REPO).tag_index
    listed = ecr_client.list_images(repositoryName=REPO, filter={"imageStatus": "ANY"})["imageIds"]
    assert [i["imageTag"] for i in listed] == ["v2"]
    pulled = ecr_client.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "latest"}])
    assert pulled["failures"][0]["failureCode"] == "ImageNotFound"
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_images(repositoryName=REPO, imageIds=[{"imageDigest": gone.digest}])
    assert exc.value.response["Error"]["Code"] == "ImageNotFoundException"


def test_run_lifecycle_on_one_repository(ecr, ecr_client):
    for name in ("one", "two"):
        ecr.create_repository(name)
        ecr.push_image(name, [], pushed_days_ago=2)
        ecr.push_image(name, [])
        ecr_client.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=doc(untagged()))
    assert [a.repository for a in ecr.run_lifecycle("two")] == ["two"]
    assert len(ecr.repository("one").images) == 2
    assert [a.repository for a in ecr.run_lifecycle()] == ["one"]


def test_manifest_list_children_are_neither_expired_nor_counted(ecr, ecr_client, ecr_repo):
    multi = ecr.push_image(REPO, "multi", platforms=["linux/amd64", "linux/arm64"], pushed_days_ago=5)
    loose = ecr.push_image(REPO, [], pushed_days_ago=4)
    newest = ecr.push_image(REPO, [], pushed_days_ago=3)
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=doc(untagged()))
    # Two untagged candidates (the children do not count): keep the newest, expire the other.
    assert [a.image_digest for a in ecr.run_lifecycle()] == [loose.digest]
    left = set(ecr.repository(REPO).images)
    assert left == {multi.digest, *multi.children, newest.digest}


def test_expiring_a_manifest_list_frees_its_children(ecr, ecr_client, ecr_repo):
    multi = ecr.push_image(REPO, "multi", platforms=["linux/amd64", "linux/arm64"], pushed_days_ago=5)
    ecr.push_image(REPO, "current", pushed_days_ago=1)
    ecr_client.put_lifecycle_policy(
        repositoryName=REPO,
        lifecyclePolicyText=doc(untagged(1, countNumber=1), any_rule(2, countNumber=1)),
    )
    done = ecr.run_lifecycle()
    # The list goes (rule 2); its children, untagged images of their own now, follow (rule 1
    # keeps the most recent of them).
    assert [(a.image_digest, a.rule_priority) for a in done] == [
        (multi.digest, 2),
        (multi.children[0], 1),
    ]
    assert ecr.run_lifecycle() == []


# -- validation (spec §5.3) -------------------------------------------------------------------------


def test_rule_1_not_json_or_not_mappable(ecr_client, ecr_repo):
    for text in (padded("{ not json"), padded('{"rules": {"rulePriority": 1}}'), padded("[1, 2]")):
        assert rejection(ecr_client, text) == (
            "InvalidParameterException",
            FAILURE + "Could not map policyString into LifecyclePolicy.",
        )
    wrong_type = untagged()
    wrong_type["selection"]["countNumber"] = "1"
    assert (
        rejection(ecr_client, doc(wrong_type))[1]
        == FAILURE + "Could not map policyString into LifecyclePolicy."
    )


def test_rule_1_a_string_member_given_an_object_is_not_mappable(ecr_client, ecr_repo):
    # Spec §5.3 item 1 ("not mappable", as `rules` given an object). Found by tools/mutants.py: no
    # test reached the refusal of a non-string value for a string member.
    wrong = untagged()
    wrong["selection"]["tagStatus"] = {"value": "untagged"}
    assert rejection(ecr_client, doc(wrong)) == (
        "InvalidParameterException",
        FAILURE + "Could not map policyString into LifecyclePolicy.",
    )


def test_rule_1_a_single_string_for_a_list_is_not_mappable(ecr_client, ecr_repo):
    # Spec §5.3 item 1, as for `rules` given an object: the policy maps onto ECR's typed rule
    # (inferred: a JSON string is not an array, and nothing says ECR takes one value as a list).
    # Found by tools/mutants.py (`_is_str_list`, `and` to `or`, lets a string through: every
    # character of it is a string).
    for member in ("tagPrefixList", "tagPatternList"):
        rule = tagged(1, **{"prefixes" if member == "tagPrefixList" else "patterns": ["prod"]})
        rule["selection"][member] = "prod"
        assert rejection(ecr_client, doc(rule)) == (
            "InvalidParameterException",
            FAILURE + "Could not map policyString into LifecyclePolicy.",
        )


def test_rule_2_missing_required_properties(ecr_client, ecr_repo):
    assert rejection(ecr_client, padded('{"policy": []}')) == (
        "InvalidParameterException",
        FAILURE + 'object has missing required properties (["rules"])',
    )
    bare = {"selection": untagged()["selection"]}
    assert rejection(ecr_client, doc(bare))[1] == (
        FAILURE + 'object has missing required properties (["action","rulePriority"])'
    )
    no_count = untagged()
    del no_count["selection"]["countNumber"]
    assert rejection(ecr_client, doc(no_count))[1] == (
        FAILURE + 'object has missing required properties (["countNumber"])'
    )


@pytest.mark.parametrize("where", ["rule", "selection", "action"])
def test_rule_3_unknown_properties(ecr_client, ecr_repo, where):
    rule = untagged()
    target = rule if where == "rule" else rule[where]
    target["imageAge"] = 5
    assert rejection(ecr_client, doc(rule)) == (
        "InvalidParameterException",
        FAILURE + 'object instance has properties which are not allowed by the schema: (["imageAge"])',
    )


def one_of_cases() -> list[tuple[str, dict[str, Any]]]:
    null_unit = tagged(1, prefixes=["v"])
    null_unit["selection"]["countUnit"] = None
    null_target = transition(1)
    null_target["action"]["targetStorageClass"] = None
    unit_with_count = untagged(countUnit="days")
    no_unit = tagged(1, prefixes=["v"])
    del no_unit["selection"]["countUnit"]
    unknown_count = untagged(countType="imageCountLessThan")
    expire_with_target = untagged()
    expire_with_target["action"]["targetStorageClass"] = "archive"
    transition_without_target = transition(1)
    del transition_without_target["action"]["targetStorageClass"]
    return [
        ("null countUnit", null_unit),
        ("null targetStorageClass", null_target),
        ("countUnit with imageCountMoreThan", unit_with_count),
        ("no countUnit with sinceImagePushed", no_unit),
        ("unknown countType", unknown_count),
        ("expire with a target class", expire_with_target),
        ("transition without a target class", transition_without_target),
    ]


@pytest.mark.parametrize(("case", "rule"), one_of_cases(), ids=[c for c, _ in one_of_cases()])
def test_rule_4_fits_no_sub_schema(ecr_client, ecr_repo, case, rule):
    assert rejection(ecr_client, doc(rule)) == (
        "InvalidParameterException",
        FAILURE + "instance failed to match exactly one schema (matched 0 out of 2)",
    )


@pytest.mark.parametrize(
    ("where", "field", "value", "allowed"),
    [
        ("selection", "tagStatus", "TAGGED", '["any","tagged","untagged"]'),
        ("selection", "storageClass", "glacier", '["archive","standard"]'),
        ("selection", "countUnit", "hours", '["days"]'),  # rule 16
        ("action", "type", "delete", '["expire","transition"]'),
    ],
)
def test_rule_5_and_16_enums(ecr_client, ecr_repo, where, field, value, allowed):
    rule = tagged(1, prefixes=["v"])
    rule[where][field] = value
    assert rejection(ecr_client, doc(rule)) == (
        "InvalidParameterException",
        FAILURE + f"instance value ({value}) not found in enum :(possible values: {allowed})",
    )


def test_rule_5_target_storage_class_enum(ecr_client, ecr_repo):
    rule = transition(1)
    rule["action"]["targetStorageClass"] = "standard"
    assert rejection(ecr_client, doc(rule))[1] == (
        FAILURE + 'instance value (standard) not found in enum :(possible values: ["archive"])'
    )


def test_rule_6_minimums(ecr_client, ecr_repo):
    assert rejection(ecr_client, doc(untagged(countNumber=0))) == (
        "InvalidParameterException",
        FAILURE + "numeric instance is lower than the required minimum (minimum: 1, found: 0)",
    )
    assert rejection(ecr_client, doc(untagged(priority=-2)))[1] == (
        FAILURE + "numeric instance is lower than the required minimum (minimum: 1, found: -2)"
    )


def test_rule_7_tagged_needs_a_list(ecr_client, ecr_repo):
    for rule in (tagged(1), tagged(1, prefixes=[]), tagged(1, patterns=[])):
        assert rejection(ecr_client, doc(rule)) == (
            "InvalidParameterException",
            FAILURE + "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.",
        )


def test_rule_8_lists_only_with_tagged_and_not_both(ecr_client, ecr_repo):
    assert rejection(ecr_client, doc(untagged(tagPrefixList=["v"]))) == (
        "InvalidParameterException",
        FAILURE + "tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED, "
        "not tagStatus=UNTAGGED",
    )
    assert rejection(ecr_client, doc(any_rule(1, tagPatternList=["v*"])))[1].endswith("not tagStatus=ANY")
    assert rejection(ecr_client, doc(tagged(1, prefixes=["v"], patterns=["v*"])))[1] == (
        FAILURE + "Only one of tagPrefixList and tagPatternList can be specified in a rule."
    )


def test_rule_9_any_has_the_lowest_priority_per_storage_class(ecr_client, ecr_repo):
    assert rejection(ecr_client, doc(any_rule(1), untagged(2))) == (
        "InvalidParameterException",
        FAILURE + "Rule for tagStatus=ANY must have the lowest priority per storage class",
    )
    # One "any" per storage class, each last within its class: legal.
    ecr_client.put_lifecycle_policy(
        repositoryName=REPO, lifecyclePolicyText=doc(archive_expiry(1), transition(2, "sinceImagePushed"))
    )


def test_rule_10_one_untagged_rule_per_storage_class(ecr_client, ecr_repo):
    assert rejection(ecr_client, doc(untagged(1), untagged(2, countNumber=3))) == (
        "InvalidParameterException",
        FAILURE + "Only one rule can select Untagged images per storage class",
    )
    # An untagged rule and an any rule may coexist, as may untagged rules of different classes.
    ecr_client.put_lifecycle_policy(
        repositoryName=REPO,
        lifecyclePolicyText=doc(untagged(1), archive_expiry(2, tag_status="untagged"), any_rule(3)),
    )


def test_rule_11_unique_priorities(ecr_client, ecr_repo):
    assert rejection(ecr_client, doc(tagged(1, prefixes=["a"]), tagged(1, prefixes=["b"]))) == (
        "InvalidParameterException",
        FAILURE + "Rule priorities must be unique",
    )


def test_rule_12_unique_tag_sets_per_storage_class(ecr_client, ecr_repo):
    same = (tagged(1, prefixes=["a", "b"]), tagged(2, prefixes=["b", "a"]))
    assert rejection(ecr_client, doc(*same)) == (
        "InvalidParameterException",
        FAILURE
        + "The rules selecting one storage class must contain a unique set of tag prefixes or tag patterns",
    )
    ecr_client.put_lifecycle_policy(
        repositoryName=REPO,
        lifecyclePolicyText=doc(tagged(1, prefixes=["a"]), tagged(2, prefixes=["a", "b"])),
    )


def test_rule_13_at_most_four_wildcards_per_pattern(ecr_client, ecr_repo):
    # The documentation's own examples.
    ecr_client.put_lifecycle_policy(
        repositoryName=REPO, lifecyclePolicyText=doc(tagged(1, patterns=["*test*1*2*3", "test*1*2*3*"]))
    )
    assert rejection(ecr_client, doc(tagged(1, patterns=["test*1*2*3*4*5*6"]))) == (
        "InvalidParameterException",
        FAILURE + "The tagPatternList string 'test*1*2*3*4*5*6' has more than the maximum of 4 wildcards (*)",
    )


def test_rule_14_count_types_storage_classes_and_actions(ecr_client, ecr_repo):
    pulled_expire = transition(1)
    pulled_expire["action"] = {"type": "expire"}
    assert rejection(ecr_client, doc(pulled_expire)) == (
        "InvalidParameterException",
        FAILURE + "countType sinceImagePulled can only be used with the transition action",
    )
    standard_transitioned = archive_expiry(1)
    del standard_transitioned["selection"]["storageClass"]
    assert rejection(ecr_client, doc(standard_transitioned))[1] == (
        FAILURE
        + "countType sinceImageTransitioned can only be used with storageClass archive and the expire action"
    )
    transition_transitioned = archive_expiry(1)
    transition_transitioned["action"] = {"type": "transition", "targetStorageClass": "archive"}
    assert rejection(ecr_client, doc(transition_transitioned))[1] == (
        FAILURE
        + "countType sinceImageTransitioned can only be used with storageClass archive and the expire action"
    )
    archive_pushed = untagged(storageClass="archive")
    assert rejection(ecr_client, doc(archive_pushed))[1] == (
        FAILURE + "storageClass archive can only be used with countType sinceImageTransitioned"
    )
    assert rejection(ecr_client, doc(archive_expiry(1, days=89)))[1] == (
        FAILURE + "Images must be in archive storage for a minimum of 90 days before deletion: "
        "countNumber for sinceImageTransitioned must be at least 90"
    )
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=doc(archive_expiry(1, days=90)))


def test_rule_15_at_most_50_rules(ecr_client, ecr_repo):
    rules = [tagged(n, prefixes=[f"p{n}"]) for n in range(1, 52)]
    assert rejection(ecr_client, doc(*rules)) == (
        "InvalidParameterException",
        FAILURE + "array is too long: must have at most 50 elements but instance has 51 elements",
    )
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=doc(*rules[:50]))
    assert rejection(ecr_client, padded('{"rules": []}'))[1] == (
        FAILURE + "array is too short: must have at least 1 elements but instance has 0 elements"
    )


def test_rule_15_text_length(raw_client, ecr_repo):
    text = doc(untagged()) + " " * 30720
    with pytest.raises(ClientError) as exc:
        raw_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=text)
    assert exc.value.response["Error"] == {
        "Code": "InvalidParameterException",
        "Message": "Invalid parameter at 'lifecyclePolicyText' failed to satisfy constraint: "
        "'must have length less than or equal to 30720'",
    }


def test_validation_happens_before_anything_is_stored(ecr_client, ecr_repo):
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=doc(untagged()))
    rejection(ecr_client, doc(untagged(countNumber=0)))
    text = ecr_client.get_lifecycle_policy(repositoryName=REPO)["lifecyclePolicyText"]
    assert json.loads(text) == {"rules": [untagged()]}
