"""What a handler knows about the request it serves: who, where, when, and the state."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..clock import Clock
from ..store import Registry, Repository, ScanFailure, Store
from ..upstreams import UpstreamProvider
from .errors import RepositoryNotFoundException


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def repository_arn(account: str, region: str, name: str) -> str:
    """The ARN of repository ``name`` in the registry of ``account`` in ``region``."""
    return f"arn:{partition_of(region)}:ecr:{region}:{account}:repository/{name}"


def dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


#: names the registry endpoint of (account, region) as ``scheme://host[:port]``
RegistryEndpoint = Callable[[str, str], str]


def aws_registry_endpoint(account: str, region: str) -> str:
    """AWS's name of a registry: what ``proxyEndpoint`` and ``repositoryUri`` say in-process."""
    return f"https://{account}.dkr.ecr.{region}.{dns_suffix(region)}"


#: an IAM principal ARN: its partition and account (``arn:aws:iam::123456789012:role/ci``)
PRINCIPAL_RE = re.compile(r"arn:(aws(?:-[a-z]+)*):(?:iam|sts)::([0-9]{12}):\S+")


def root_principal(account: str, region: str) -> str:
    """The principal of a caller that named only an account: the account's root,
    ``arn:aws:iam::<account>:root``. It is how IAM names "the account itself", and it is neither a
    role nor a user, so it can never be a pull-time update exclusion: plain clients always record
    pulls, as they did before principals existed."""
    return f"arn:{partition_of(region)}:iam::{account}:root"


def principal_account(principal: str) -> str:
    """The account of an IAM principal ARN; ValueError if it is not one."""
    match = PRINCIPAL_RE.fullmatch(principal)
    if match is None:
        raise ValueError(
            f"not an IAM principal ARN: {principal!r} (expected arn:aws:iam::<account>:role/<name>, "
            "...:user/<name> or ...:root)"
        )
    return match.group(2)


@dataclass(frozen=True)
class ScanRequest:
    """What a findings provider is told about the scan it supplies findings for."""

    registry_id: str
    region: str
    repository: str
    image_digest: str
    image_tags: tuple[str, ...]
    scan_type: str  # BASIC or ENHANCED


FindingsProvider = Callable[[ScanRequest], "list[dict[str, Any]] | ScanFailure | None"]


@dataclass
class Options:
    """How the fake plays the parts of ECR that take time or come from elsewhere."""

    #: virtual seconds from the start of a scan to its completion
    scan_seconds: float = 10.0
    #: supplies the findings of a completed scan (the pytest hook, in the plugin); None = no findings
    scan_findings: FindingsProvider | None = None
    #: virtual seconds from UpdateImageStorageClass(STANDARD) to the image being ACTIVE again;
    #: ECR says a restore "typically takes up to 20 minutes"
    restore_seconds: float = 1200.0
    #: virtual seconds from StartLifecyclePolicyPreview to the preview being COMPLETE (two polls of
    #: the LifecyclePolicyPreviewComplete waiter, which polls every 5 s)
    lifecycle_preview_seconds: float = 10.0
    #: virtual seconds between evaluations of a repository's lifecycle policy, the first one
    #: counted from PutLifecyclePolicy; ECR acts "within 24 hours". Read when a policy is put;
    #: 0 or less schedules no runs (only ``FakeECR.run_lifecycle``)
    lifecycle_interval_seconds: float = 86400.0
    #: virtual seconds from a push to its replicas being in the destination registries (status
    #: COMPLETE); ECR says most replications complete within 30 minutes
    replication_seconds: float = 30.0
    #: virtual seconds a replication backfill spends PREPARING before its replications start
    backfill_preparation_seconds: float = 60.0
    #: virtual seconds from the push of an image to its managed-signing jobs finishing (the
    #: signature then listed by ListImageReferrers): two polls of a 5 s waiter loop
    signing_seconds: float = 10.0
    #: virtual seconds from the deletion (archiving) of an image to its OCI referrers (signatures,
    #: SBOMs) being deleted (archived) too; ECR does it "within 24 hours"
    referrer_cleanup_seconds: float = 86400.0
    #: supplies upstream images tests did not seed, for pull-through cache rules (the pytest hook,
    #: in the plugin); None = only seeded content
    upstream_images: UpstreamProvider | None = None


@dataclass
class Context:
    store: Store
    clock: Clock
    account: str
    region: str
    options: Options = field(default_factory=Options)
    #: the IAM principal ARN of the caller; "" means the account's root (:func:`root_principal`)
    principal: str = ""
    #: whether images stored through this context send ``ECR Image Action`` PUSH events; False
    #: where ECR sends another event instead (replicas, pull-through cache fills)
    push_events: bool = True
    #: how answers name registries: AWS's hosts in-process, the server's own in server mode
    registry_endpoint: RegistryEndpoint = aws_registry_endpoint

    def __post_init__(self) -> None:
        if not self.principal:
            self.principal = root_principal(self.account, self.region)

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    def registry_host(self, account: str, region: str | None = None) -> str:
        """``host[:port]`` of the registry of ``account`` (in ``region``, by default this one's):
        what a ``repositoryUri`` starts with."""
        return self.registry_endpoint(account, region or self.region).partition("://")[2]

    def registry_id(self, registry_id: str | None) -> str:
        return registry_id or self.account

    def registry(self, registry_id: str | None = None) -> Registry:
        return self.store.registry(self.registry_id(registry_id), self.region)

    def repository(self, name: str, registry_id: str | None = None) -> Repository:
        reg = self.registry(registry_id)
        repo = reg.repositories.get(name)
        if repo is None:
            raise RepositoryNotFoundException.named(name, reg.account)
        return repo
