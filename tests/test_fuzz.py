"""Model-driven fuzzing: requests drawn from botocore's input shapes, answers checked against the model.

For every operation the fake implements, valid requests (through a validating client) and requests
broken in one place (through a client with ``parameter_validation=False``) are sent to a fake
seeded with a few repositories and images; the names in requests come from a small pool, so calls
hit existing state. Nothing may come back as a ServerException or an unhandled error, every error
code must be in the operation's modelled list (SerializationException for type errors), and every
success must validate against the output shape.

Profiles: ``HYPOTHESIS_PROFILE=ci`` (default; a few thousand calls) or ``HYPOTHESIS_PROFILE=fuzz``
(many more). The number of calls and violations is printed in the terminal summary.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from conftest import shape_violations
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from model_strategies import Violation, invalid_requests, requests, violations

from pytest_ecr import FakeECR
from pytest_ecr._hook import FAKE_CREDENTIALS
from pytest_ecr.protocol.model import operation, operation_names
from pytest_ecr.service.catalog import handlers

_COMMON = {
    "deadline": None,
    "database": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
}
settings.register_profile("pytest-ecr-ci", max_examples=30, **_COMMON)
settings.register_profile("pytest-ecr-fuzz", max_examples=500, **_COMMON)
PROFILE = "pytest-ecr-fuzz" if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else "pytest-ecr-ci"

IMPLEMENTED = sorted(set(handlers()) & operation_names())  # this botocore's model has them
UNIMPLEMENTED = sorted(operation_names() - set(IMPLEMENTED))

OTHER_ACCOUNT = "210987654321"
SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
UPLOAD_ID = "0f0e0d0c-0b0a-4909-8807-060504030201"
POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow",'
    '"Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":["ecr:BatchGetImage"]}]}'
)


def seed(fake: FakeECR) -> None:
    """The state every example starts from; deterministic, so digests are the same each time."""
    fake.create_repository("app", tags=[{"Key": "team", "Value": "core"}])
    fake.create_repository("team/web", imageTagMutability="IMMUTABLE")
    fake.create_repository("empty")
    fake.push_image("app", ["v1", "latest"])
    fake.push_image("app")
    fake.push_image("app", "multi", platforms=["linux/amd64", "linux/arm64"])
    fake.push_image("app", "signed", referrers=[SIG])
    fake.push_image("team/web", "v1")
    fake._call("SetRepositoryPolicy", {"repositoryName": "app", "policyText": POLICY}, None, None)
    upload_id = fake._call("InitiateLayerUpload", {"repositoryName": "app"}, None, None)["uploadId"]
    repo = fake.repository("app")
    upload = repo.uploads.pop(upload_id)
    upload.upload_id = UPLOAD_ID
    repo.uploads[UPLOAD_ID] = upload


def pools() -> dict[str, list[Any]]:
    """Values that exist in the seeded fake, by the model's shape name."""
    with FakeECR() as fake:
        seed(fake)
        repos = fake.store.registry(fake.account_id, fake.region).repositories
        digests = sorted(d for r in repos.values() for d in r.images)
        blobs = sorted(d for r in repos.values() for d in r.blobs)
        tokens = [
            fake._call(op, {"maxResults": 1, **extra}, None, None).get("nextToken")
            for op, extra in (("DescribeRepositories", {}), ("ListImages", {"repositoryName": "app"}))
        ]
        return {
            "RepositoryName": [*sorted(repos), "missing-repo"],
            "ImageTag": ["v1", "latest", "multi", "signed", "absent"],
            "ImageDigest": [*digests, "sha256:" + "0" * 64],
            "RegistryId": [fake.account_id, OTHER_ACCOUNT],
            "LayerDigest": [*blobs, "sha256:" + "1" * 64],
            "BatchedOperationLayerDigest": blobs,
            "UploadId": [UPLOAD_ID],
            "ImageManifest": sorted(i.manifest for r in repos.values() for i in r.images.values()),
            "MediaType": [
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.oci.image.index.v1+json",
            ],
            "RepositoryPolicyText": [POLICY, "{}", "not json"],
            "Arn": [r.arn for r in repos.values()]
            + ["arn:aws:ecr:us-east-1:123456789012:repository/missing"],
            "NextToken": [t for t in tokens if t],
            "AccountSettingName": ["BASIC_SCAN_TYPE_VERSION", "REGISTRY_POLICY_SCOPE", "BLOB_MOUNTING"],
            "AccountSettingValue": ["ENABLED", "DISABLED", "AWS_NATIVE", "V2"],
            "ArtifactType": [SIG],
            "MaxResults": [1, 2],
            "FiftyMaxResults": [1, 2],
        }


POOLS = pools()


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    rejected_by_client: int = 0
    violations: list[str] = field(default_factory=list)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.calls:
            return
        total = sum(self.calls.values())
        terminalreporter.write_sep("-", "pytest-ecr fuzz")
        terminalreporter.write_line(
            f"{total} calls to {len(self.calls)} operations (profile {PROFILE}); "
            f"{self.rejected_by_client} broken requests the client refused to serialize; "
            f"{len(self.violations)} violations"
        )
        common = ", ".join(f"{code} {n}" for code, n in self.outcomes.most_common(12))
        terminalreporter.write_line(f"outcomes: {common}")


@pytest.fixture(scope="session")
def fuzz_stats(pytestconfig: pytest.Config) -> Stats:
    stats = Stats()
    pytestconfig.pluginmanager.register(stats, "pytest-ecr-fuzz-stats")
    return stats


@dataclass
class Clients:
    valid: Any
    unvalidated: Any


@pytest.fixture(scope="module")
def clients() -> Iterator[Clients]:
    with FakeECR():
        session = boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS[0],
            aws_secret_access_key=FAKE_CREDENTIALS[1],
            region_name="us-east-1",
        )
        once = {"mode": "standard", "total_max_attempts": 1}
        yield Clients(
            session.client("ecr", config=Config(retries=once)),
            session.client("ecr", config=Config(retries=once, parameter_validation=False)),
        )


def send(op_name: str, batch: list[dict[str, Any]], client: Any, stats: Stats, valid: bool) -> None:
    """Send each request of ``batch`` to a freshly seeded fake and check every answer."""
    method = getattr(client, xform_name(op_name))
    with FakeECR() as fake:
        seed(fake)
        for params in batch:
            before = len(fake.calls)
            refused: Exception | None = None
            try:
                method(**params)
            except ClientError:
                pass
            except (ParamValidationError, TypeError, AttributeError, ValueError, KeyError) as exc:
                refused = exc
            if refused is not None:
                # botocore could not build the request (validation on, or a value its serializer
                # cannot write): nothing reached the fake. A valid request must always be sent.
                assert not valid, f"{op_name}({params!r}) was refused by the client: {refused!r}"
                assert len(fake.calls) == before, f"{op_name}: the client failed after an answer: {refused!r}"
                stats.rejected_by_client += 1
                continue
            assert len(fake.calls) == before + 1
            call = fake.calls[-1]
            stats.calls[op_name] += 1
            stats.outcomes[call.error_code or "success"] += 1
            problems = shape_violations(call)
            if valid and call.error_code == "SerializationException":
                problems.append(f"{op_name}: SerializationException for a valid request")
            problems += [
                f"{c.operation}: fake failed: {c.error_code}\n{c.traceback}" for c in fake.problems()
            ]
            if problems:
                stats.violations.extend(problems)
                raise AssertionError(f"{op_name}({params!r}):\n" + "\n".join(problems))


def test_every_operation_is_fuzzed_or_not_implemented(clients):
    """The skip list is exactly the set of operations the fake answers with NotImplementedByFake."""
    answered_not_implemented = set()
    with FakeECR():
        for op_name in sorted(operation_names()):
            shape = operation(op_name).input_shape
            params = first_example(requests(shape, POOLS)) if shape is not None else {}
            try:
                getattr(clients.unvalidated, xform_name(op_name))(**params)
            except ClientError as err:
                if err.response["Error"]["Code"] == "NotImplementedByFake":
                    answered_not_implemented.add(op_name)
    assert sorted(answered_not_implemented) == UNIMPLEMENTED
    assert set(IMPLEMENTED) | set(UNIMPLEMENTED) == operation_names()


def first_example(strategy: st.SearchStrategy[Any]) -> Any:
    """One value of ``strategy``, drawn without shrinking (``find`` would shrink, slowly)."""
    found: list[Any] = []

    @settings(
        database=None,
        deadline=None,
        max_examples=1,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(value: Any) -> None:
        found.append(value)

    draw()
    return found[0]


@pytest.mark.parametrize("op_name", IMPLEMENTED)
def test_valid_requests(op_name, clients, fuzz_stats):
    shape = operation(op_name).input_shape
    strategy = st.lists(requests(shape, POOLS) if shape is not None else st.just({}), min_size=1, max_size=3)

    @settings(settings.get_profile(PROFILE))
    @given(batch=strategy)
    def run(batch: list[dict[str, Any]]) -> None:
        send(op_name, batch, clients.valid, fuzz_stats, valid=True)

    run()


@pytest.mark.parametrize("op_name", [n for n in IMPLEMENTED if operation(n).input_shape is not None])
def test_invalid_requests(op_name, clients, fuzz_stats):
    shape = operation(op_name).input_shape
    strategy = st.lists(invalid_requests(shape, POOLS), min_size=1, max_size=2)

    @settings(settings.get_profile(PROFILE))
    @given(batch=strategy)
    def run(batch: list[dict[str, Any]]) -> None:
        send(op_name, batch, clients.unvalidated, fuzz_stats, valid=False)

    run()


#: How ECR refuses a request that breaks the model (spec §1.3): InvalidParameterException on the
#: older operations, ValidationException on those that model it.
REFUSALS = {"InvalidParameterException", "ValidationException"}
BREAKABLE = [
    n for n in IMPLEMENTED if operation(n).input_shape is not None and violations(operation(n).input_shape)
]


def broken(draw: st.DrawFn, shape: Any, case: Violation) -> dict[str, Any]:
    """A valid request of ``shape`` with ``case``'s one constraint broken."""
    request = draw(requests(shape, POOLS))
    path, what, value = case
    target, member = request, shape
    for part in path[:-1]:
        member = member.members[part]
        if not isinstance(target.get(part), dict):
            target[part] = draw(requests(member, POOLS))
        target = target[part]
    leaf = member.members[path[-1]]
    if what == "required":
        target.pop(path[-1], None)
    elif what == "max items":
        target[path[-1]] = [draw(requests(leaf.member, POOLS))] * value
    else:
        target[path[-1]] = value
    return request


def state(fake: FakeECR) -> str:
    """Everything a request could change, as text."""
    return repr(fake.store.registry(fake.account_id, fake.region))


@pytest.mark.parametrize("op_name", BREAKABLE)
def test_broken_requests_are_refused_and_change_nothing(op_name, clients):
    """Each constraint the model states for a member, broken alone in an otherwise valid request,
    is refused with ECR's validation error naming that member, and the fake's state is as before."""
    shape = operation(op_name).input_shape
    method = getattr(clients.unvalidated, xform_name(op_name))

    @settings(settings.get_profile(PROFILE))
    @given(case=st.sampled_from(violations(shape)), data=st.data())
    def run(case: Violation, data: st.DataObject) -> None:
        request = broken(data.draw, shape, case)
        with FakeECR() as fake:
            seed(fake)
            before = state(fake)
            with pytest.raises(ClientError) as refused:
                method(**request)
            code = refused.value.response["Error"]["Code"]
            message = refused.value.response["Error"]["Message"]
            assert code in REFUSALS, f"{op_name}: {case[1]} of {'.'.join(case[0])}: {code}: {message}"
            assert case[0][-1].lower() in message.lower(), f"{op_name}: {message!r} names no {case[0][-1]}"
            assert state(fake) == before, f"{op_name}: a refused request changed the fake"

    run()


def _member(op_name: str, name: str) -> Any:
    shape = operation(op_name).input_shape
    assert shape is not None
    return shape.members[name]


repository_names = requests(_member("CreateRepository", "repositoryName"), {})
#: The model gives ImageTag no pattern; ECR's server refuses tags outside this one (spec §1.4,
#: observed in alexjurkiewicz/ecr-scan-image#40).
image_tags = requests(_member("PutImage", "imageTag"), {}).filter(
    lambda t: re.fullmatch(r"[a-zA-Z0-9-_.]+", t) is not None
)


@settings(settings.get_profile(PROFILE))
@given(
    names=st.lists(repository_names, min_size=1, max_size=5, unique=True),
    gone=st.sets(st.integers(0, 4)),
)
def test_created_repositories_are_described_and_deleted_ones_are_gone(clients, names, gone):
    ecr = clients.valid
    with FakeECR():
        for name in names:
            created = ecr.create_repository(repositoryName=name)["repository"]
            assert created["repositoryName"] == name
        deleted = {n for i, n in enumerate(names) if i in gone}
        for name in deleted:
            assert ecr.delete_repository(repositoryName=name)["repository"]["repositoryName"] == name
        pages = ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 2})
        listed = [r["repositoryName"] for page in pages for r in page["repositories"]]
        assert sorted(listed) == sorted(set(names) - deleted)
        for name in names:
            if name in deleted:
                with pytest.raises(ClientError) as missing:
                    ecr.describe_repositories(repositoryNames=[name])
                assert missing.value.response["Error"]["Code"] == "RepositoryNotFoundException"
            else:
                (found,) = ecr.describe_repositories(repositoryNames=[name])["repositories"]
                assert found["repositoryName"] == name
                assert found["repositoryArn"].endswith(f":repository/{name}")


@settings(settings.get_profile(PROFILE))
@given(tags=st.lists(image_tags, min_size=1, max_size=6, unique=True), data=st.data())
def test_pushed_tags_are_listed_and_deleted_ones_are_gone(clients, tags, data):
    with FakeECR() as fake:
        ecr = clients.valid
        fake.create_repository("app")
        digests = {tag: fake.push_image("app", [tag]).digest for tag in tags}
        listed = ecr.list_images(repositoryName="app")["imageIds"]
        assert sorted((i["imageTag"], i["imageDigest"]) for i in listed) == sorted(digests.items())
        drop = data.draw(st.lists(st.sampled_from(tags), unique=True), label="deleted tags")
        if drop:
            answer = ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": t} for t in drop])
            assert answer["failures"] == []
            assert sorted(i["imageTag"] for i in answer["imageIds"]) == sorted(drop)
        kept = {t: d for t, d in digests.items() if t not in drop}
        described = ecr.describe_images(repositoryName="app")["imageDetails"]
        assert sorted((d["imageTags"][0], d["imageDigest"]) for d in described) == sorted(kept.items())
        for tag in drop:
            (failure,) = ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": tag}])["failures"]
            assert failure["failureCode"] == "ImageNotFound"
