"""The migration report of ``--ecr-replace-moto``: why each test that pytest-ecr answered failed.

A failed test is classified from what the fake saw (its call log), never from the test's source:
each rule below looks for the request and answer that a moto-only assumption produces. The report
groups the tests by cause and says what real ECR does, the source, and the edit that makes the
test faithful. Nothing here changes what the code under test receives: ECR's own errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .protocol.dispatch import Exchange

DOCS = "https://pytest-ecr.readthedocs.io/en/latest"


@dataclass(frozen=True)
class Cause:
    key: str
    title: str
    real_ecr: str
    source: str
    change: str


@dataclass(frozen=True)
class Failure:
    """What the report knows of one failed test: the fake's calls and the failure's first line."""

    nodeid: str
    calls: Sequence[Exchange]
    message: str
    #: ECR repositories moto's own store holds (made by another moto service) that the fake lacks
    moto_only_repositories: frozenset[str] = frozenset()


def _errors(failure: Failure, operation: str | None, code: str) -> list[Exchange]:
    return [
        c for c in failure.calls if c.error_code == code and (operation is None or c.operation == operation)
    ]


def _evidence(calls: Iterable[Exchange]) -> list[str]:
    return [f"{c.operation}: {c.error_code}: {c.error_message}" for c in calls]


def _fake_bug(failure: Failure) -> list[str]:
    return [f"{c.operation}: {c.error_code}" for c in failure.calls if c.traceback and not c.injected]


def _layers(failure: Failure) -> list[str]:
    return _evidence(_errors(failure, "PutImage", "LayersNotFoundException"))


def _media_type(failure: Failure) -> list[str]:
    return [
        line
        for line in _evidence(_errors(failure, "PutImage", "InvalidParameterException"))
        if "imageManifestMediaType" in line or "Invalid JSON syntax" in line
    ]


def _other_account(failure: Failure) -> list[str]:
    return _evidence(
        c
        for c in _errors(failure, None, "AccessDeniedException")
        if c.params.get("registryId") not in (None, c.account)
    )


def _malformed(failure: Failure) -> list[str]:
    return [
        line
        for line in _evidence(_errors(failure, None, "InvalidParameterException"))
        if "must satisfy regular expression" in line or "Member must satisfy constraint" in line
    ]


def _part_size(failure: Failure) -> list[str]:
    return _evidence(_errors(failure, "CompleteLayerUpload", "LayerPartTooSmallException"))


def _moto_store(failure: Failure) -> list[str]:
    return [
        f"{c.operation}: {c.error_code} for {c.params.get('repositoryName')!r}, which moto's own store holds"
        for c in _errors(failure, None, "RepositoryNotFoundException")
        if c.params.get("repositoryName") in failure.moto_only_repositories
        or any(name in failure.moto_only_repositories for name in c.params.get("repositoryNames", ()))
    ]


def _policy_text(failure: Failure) -> list[str]:
    operations = ("SetRepositoryPolicy", "GetRepositoryPolicy", "DeleteRepositoryPolicy")
    answered = [c for c in failure.calls if c.operation in operations and c.error_code is None]
    if not answered or not _assertion(failure):
        return []
    return [f"{answered[-1].operation} answered policyText: {answered[-1].response.get('policyText', '')!r}"]


def _lifecycle(failure: Failure) -> list[str]:
    return [
        line
        for line in _evidence(_errors(failure, None, "InvalidParameterException"))
        if "Lifecycle policy validation failure" in line
    ]


def _token(failure: Failure) -> list[str]:
    asked = [c for c in failure.calls if c.operation == "GetAuthorizationToken" and c.error_code is None]
    return (
        ["GetAuthorizationToken answered; the test's assertion on it failed"]
        if asked and _assertion(failure)
        else []
    )


def _assertion(failure: Failure) -> bool:
    return failure.message.startswith(("assert", "AssertionError", "Failed: DID NOT RAISE"))


def _wording(failure: Failure) -> list[str]:
    errors = [c for c in failure.calls if c.error_code is not None]
    if not errors or not _assertion(failure) or failure.message.startswith("Failed: DID NOT RAISE"):
        return []
    return _evidence(errors[-1:])


def _accepted(failure: Failure) -> list[str]:
    if not failure.message.startswith("Failed: DID NOT RAISE"):
        return []
    answered = [c for c in failure.calls if c.error_code is None]
    return [f"{c.operation}: answered without an error" for c in answered[-1:]]


#: (cause, rule) in the order they are tried; a failure takes the first cause whose rule finds evidence
RULES: tuple[tuple[Cause, Callable[[Failure], list[str]]], ...] = (
    (
        Cause(
            "fake-bug",
            "pytest-ecr could not answer a call (a pytest-ecr bug)",
            "ECR answers this request.",
            "the traceback in the fake's call log (ecr.problems())",
            "Report it at https://github.com/pytest-ecr/pytest-ecr/issues with the traceback.",
        ),
        _fake_bug,
    ),
    (
        Cause(
            "layers-never-uploaded",
            "Manifest pushed without its layers",
            "PutImage refuses a manifest whose config and layer blobs were never uploaded to the "
            "repository: LayersNotFoundException. moto stores any manifest.",
            "ECR API Reference, PutImage (Errors: LayersNotFoundException); docs/behaviour.rst",
            "Push real images: `ecr.push_image(repository, tags)` (the `ecr` fixture is the mock_aws "
            "scope's fake), or upload each blob with InitiateLayerUpload / UploadLayerPart / "
            "CompleteLayerUpload before PutImage.",
        ),
        _layers,
    ),
    (
        Cause(
            "manifest-media-type",
            "Manifest media type missing or contradicted",
            "PutImage takes the media type from imageManifestMediaType or the manifest's own "
            "mediaType; a manifest without one is 'Invalid JSON syntax', and a parameter that "
            "contradicts the manifest's mediaType is an InvalidParameterException.",
            "boto3#3295, aws/containers-roadmap#1873 (recorded 'Invalid JSON syntax' answers); "
            "ECR user guide, image manifest formats",
            "Give the manifest its `mediaType` (or pass the same one as imageManifestMediaType), and "
            "assert ECR's message.",
        ),
        _media_type,
    ),
    (
        Cause(
            "other-account-registry",
            "Another account's registry used as one's own",
            "A registryId of another account addresses that account's registry: without a "
            "repository or registry policy granting the caller, ECR answers AccessDeniedException. "
            "moto serves every registryId from the caller's store.",
            "ECR user guide, private repository policies and registry permissions",
            "Create the repository as the other account (`ecr.client(account=...)`) and grant the "
            "caller with set_repository_policy or put_registry_policy, or drop the registryId.",
        ),
        _other_account,
    ),
    (
        Cause(
            "malformed-parameter",
            "Request members ECR's validator refuses",
            "ECR checks each member against its model constraint (registryId is 12 digits, uploadId "
            "a UUID from InitiateLayerUpload...) before looking anything up: InvalidParameterException.",
            "botocore's ECR model (patterns of registryId, uploadId); docs/behaviour.rst",
            "Use well-formed values (a 12-digit account id, the uploadId InitiateLayerUpload "
            "returned) and assert the not-found error they then get.",
        ),
        _malformed,
    ),
    (
        Cause(
            "layer-part-size",
            "Layer parts smaller than 5 MiB",
            "CompleteLayerUpload refuses an upload whose parts other than the last are under "
            "5 MiB: LayerPartTooSmallException.",
            "dotnet/sdk-container-builds#424 (recorded answer); ECR service quotas",
            "Upload the layer in one part, or in parts of at least 5 MiB except the last.",
        ),
        _part_size,
    ),
    (
        Cause(
            "lifecycle-policy",
            "Lifecycle policy ECR's grammar refuses",
            "PutLifecyclePolicy validates the rules (tagPatternList and tagPrefixList only for "
            "tagStatus tagged and not together, countUnit only with sinceImagePushed...): "
            "InvalidParameterException 'Lifecycle policy validation failure'. moto accepts them.",
            "ECR user guide, lifecycle policy properties; docs/lifecycle.rst",
            "Write the policy as ECR accepts it (`ecr.run_lifecycle` can check what it expires).",
        ),
        _lifecycle,
    ),
    (
        Cause(
            "policy-text",
            "Repository policy asserted as sent",
            "ECR stores the policy re-serialised (its indentation and key order, a one-element "
            "Action list as a string) and returns that text from Set, Get and Delete.",
            "AWS CLI examples set-repository-policy / get-repository-policy (input vs output); "
            "cloud-custodian placebo recordings",
            "Compare the parsed policies' meaning (for instance normalise one-element lists), not "
            "the text or the exact JSON sent.",
        ),
        _policy_text,
    ),
    (
        Cause(
            "moto-store",
            "Repository created by another moto service in moto's own ECR store",
            "(not an ECR behaviour) moto's CloudFormation (or another moto service) created the "
            "repository in moto's ECR backend, which pytest-ecr does not see.",
            "moto's ECR backend held the repository while the fake did not",
            "Create the repository through the ECR API (or `ecr.create_repository`) in the test, or "
            "run this test without --ecr-replace-moto.",
        ),
        _moto_store,
    ),
    (
        Cause(
            "authorization-token",
            "Authorization token asserted as moto's constant",
            "GetAuthorizationToken returns a fresh base64 'AWS:<password>' token valid for 12 hours "
            "per requested registry; moto returns a fixed token expiring in 2015.",
            "ECR API Reference, GetAuthorizationToken; AWS CLI example get-authorization-token",
            "Decode the token and assert its shape ('AWS:' prefix) and expiresAt 12 hours after the "
            "fake's clock (`ecr_clock`).",
        ),
        _token,
    ),
    (
        Cause(
            "error-wording",
            "The test asserts moto's error code or message",
            "ECR answered the request with its own error code and message (shown as evidence).",
            f"{DOCS}/behaviour.html and {DOCS}/comparison.html",
            "Assert the code and message ECR gives (the evidence line), not moto's.",
        ),
        _wording,
    ),
    (
        Cause(
            "accepted",
            "A request moto refuses is accepted",
            "ECR accepts it (moto refuses, for instance, more than one replication rule or any "
            "registry-policy action but two).",
            f"{DOCS}/comparison.html",
            "Drop the expectation of an error, or make the request one ECR refuses.",
        ),
        _accepted,
    ),
)

UNCLASSIFIED = Cause(
    "unclassified",
    "Other differences from moto",
    "none of the known moto-only patterns is in the fake's calls; the test asserts a result only "
    "moto gives (for instance retagging deleting the old image, moto's digests or sizes, or moto's "
    "rewriting of a policy).",
    f"{DOCS}/comparison.html",
    "Compare the assertion with what the call log (`ecr.calls`) shows and the comparison page.",
)

CAUSES = {cause.key: cause for cause, _ in RULES}


@dataclass
class Classified:
    nodeid: str
    cause: Cause
    evidence: list[str] = field(default_factory=list)

    def to_json(self) -> list[Any]:
        """Plain data, for the test report (pytest-xdist sends reports from workers as JSON)."""
        return [self.nodeid, self.cause.key, self.evidence]

    @classmethod
    def from_json(cls, data: list[Any]) -> Classified:
        nodeid, key, evidence = data
        return cls(str(nodeid), CAUSES.get(str(key), UNCLASSIFIED), [str(line) for line in evidence])


def classify(failure: Failure) -> Classified:
    for cause, rule in RULES:
        evidence = rule(failure)
        if evidence:
            return Classified(failure.nodeid, cause, evidence)
    return Classified(failure.nodeid, UNCLASSIFIED, [])


def render(classified: Sequence[Classified]) -> list[str]:
    """The report's lines: causes with the most tests first, each with its tests and evidence."""
    if not classified:
        return ["no failing test was answered by pytest-ecr"]
    groups: dict[str, list[Classified]] = {}
    for item in classified:
        groups.setdefault(item.cause.key, []).append(item)
    lines = [f"{len(classified)} failing test(s) answered by pytest-ecr, in {len(groups)} cause(s):"]
    for items in sorted(groups.values(), key=lambda group: (-len(group), group[0].cause.key)):
        cause = items[0].cause
        lines += [
            "",
            f"{cause.title} [{cause.key}]: {len(items)} test(s)",
            f"  real ECR: {cause.real_ecr}",
            f"  source:   {cause.source}",
            f"  change:   {cause.change}",
        ]
        for item in items:
            lines.append(f"  - {item.nodeid}")
            lines += [f"      {line[:200]}" for line in item.evidence[:1]]
    return lines
