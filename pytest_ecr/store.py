"""The fake's state: plain data, keyed by (account, region). No I/O, no clock reads.

A fresh store per test is a handful of empty dicts, so building one is cheaper than copying one.
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from .agenda import Agenda
from .blobs import Blob as Blob  # re-exported: blobs.py lies below synthetic and upstreams
from .events import EventLog
from .upstreams import Upstreams


@dataclass(slots=True)
class Image:
    digest: str
    manifest: str
    media_type: str
    size: int
    pushed_at: float
    seq: int
    tags: list[str] = field(default_factory=list)
    artifact_media_type: str | None = None
    subject_digest: str | None = None
    #: digests of the child manifests of a manifest list / index
    children: tuple[str, ...] = ()
    #: config and layer digests the manifest references (what keeps those blobs pullable)
    blob_digests: tuple[str, ...] = ()
    status: str = "ACTIVE"
    last_pulled_at: float | None = None
    last_archived_at: float | None = None
    last_activated_at: float | None = None
    #: the latest scan of this image, if any
    scan: Scan | None = None
    #: findings a test seeded for this image; a scan reports them instead of asking the hook
    seeded_findings: list[dict[str, Any]] | ScanFailure | None = None
    #: where the latest push of this image is being replicated to (DescribeImageReplicationStatus)
    replication: list[ReplicationStatus] | None = None
    #: managed signing jobs started by this image's push, one per signing profile (spec §8.7)
    signing: list[SigningJob] | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> Image:
        # Snapshots copy thousands of images: strings are shared, and only what an image owns
        # that can change (its tags, scan, findings, replication and signing state) is copied.
        done: Image | None = memo.get(id(self))
        if done is not None:
            return done
        new = Image(
            self.digest,
            self.manifest,
            self.media_type,
            self.size,
            self.pushed_at,
            self.seq,
            list(self.tags),
            self.artifact_media_type,
            self.subject_digest,
            self.children,
            self.blob_digests,
            self.status,
            self.last_pulled_at,
            self.last_archived_at,
            self.last_activated_at,
        )
        memo[id(self)] = new
        for name in _IMAGE_OWNED:
            value = getattr(self, name)
            if value is not None:
                setattr(new, name, copy.deepcopy(value, memo))
        return new


#: the members of an Image that hold mutable objects of their own (what a deep copy must copy)
_IMAGE_OWNED = ("scan", "seeded_findings", "replication", "signing")


@dataclass
class SigningJob:
    """One managed-signing job: IN_PROGRESS until the clock reaches ``completes_at``, then COMPLETE
    (its signature stored as a referrer of the image) or FAILED with ``failure``."""

    profile_arn: str
    completes_at: float
    status: str = "IN_PROGRESS"
    #: (failureCode, failureReason) the job ends with, decided when it starts
    failure: tuple[str, str] | None = None


class ImageTable(dict[str, Image]):
    """A repository's images by digest, in push order, with two indexes kept on every change.

    * a seq-ordered list of the images, so that a page can resume after a key in O(log n):
      deleted entries become tombstones (None) and the list is compacted once they are the
      majority, so a deletion costs O(1) amortized;
    * manifest-list parents by child digest, so that "which lists reference this image" costs
      O(parents), not a scan of the repository;
    * OCI referrers by subject digest, so that "what refers to this image" costs O(referrers).

    Every mutating dict method goes through ``__setitem__`` / ``__delitem__``.
    """

    def __init__(self, items: Iterable[tuple[str, Image]] = ()) -> None:
        super().__init__()
        self._order: list[Image | None] = []
        self._seqs: list[int] = []
        self._where: dict[str, int] = {}  # digest -> position in _order
        self._dead = 0
        self._parents: dict[str, dict[str, None]] = {}
        self._referrers: dict[str, dict[str, None]] = {}
        for digest, image in items:
            self[digest] = image

    def __reduce__(self) -> Any:  # copy / pickle rebuild the indexes from the items
        return (type(self), (list(self.items()),))

    def __deepcopy__(self, memo: dict[int, Any]) -> ImageTable:
        """A copy with copied images and the indexes carried over, not rebuilt (snapshots)."""
        done: ImageTable | None = memo.get(id(self))
        if done is not None:
            return done
        new = ImageTable()
        memo[id(self)] = new
        images = [image.__deepcopy__(memo) for image in super().values()]
        dict.update(new, zip(super().keys(), images, strict=True))
        # the images are in the memo now: these look-ups copy nothing
        new._order = [None if image is None else memo[id(image)] for image in self._order]
        new._seqs = list(self._seqs)
        new._where = dict(self._where)
        new._dead = self._dead
        new._parents = {key: dict(linked) for key, linked in self._parents.items()}
        new._referrers = {key: dict(linked) for key, linked in self._referrers.items()}
        return new

    def __setitem__(self, digest: str, image: Image) -> None:
        if digest in self:
            del self[digest]
        super().__setitem__(digest, image)
        if self._seqs and image.seq <= self._seqs[-1]:  # out of order: not how seqs are issued
            self._compact()
            at = bisect.bisect_left(self._seqs, image.seq)
            self._order.insert(at, image)
            self._seqs.insert(at, image.seq)
            self._where = {img.digest: i for i, img in enumerate(self._order) if img is not None}
        else:
            self._where[digest] = len(self._order)
            self._order.append(image)
            self._seqs.append(image.seq)
        for child in image.children:
            self._parents.setdefault(child, {})[digest] = None
        if image.subject_digest is not None:
            self._referrers.setdefault(image.subject_digest, {})[digest] = None

    def __delitem__(self, digest: str) -> None:
        image = self[digest]
        super().__delitem__(digest)
        self._order[self._where.pop(digest)] = None
        self._dead += 1
        for child in image.children:
            _unlink(self._parents, child, digest)
        if image.subject_digest is not None:
            _unlink(self._referrers, image.subject_digest, digest)
        if self._dead > 64 and self._dead * 2 > len(self._order):
            self._compact()

    def _compact(self) -> None:
        if not self._dead:
            return
        live = [img for img in self._order if img is not None]
        self._order = list[Image | None](live)
        self._seqs = [img.seq for img in live]
        self._where = {img.digest: i for i, img in enumerate(live)}
        self._dead = 0

    def pop(self, digest: str, *default: Any) -> Any:
        if digest not in self:
            if default:
                return default[0]
            raise KeyError(digest)
        image = self[digest]
        del self[digest]
        return image

    def popitem(self) -> tuple[str, Image]:
        if not self:
            raise KeyError("popitem(): dictionary is empty")
        digest = next(reversed(self))
        return digest, self.pop(digest)

    def setdefault(self, digest: str, default: Any = None) -> Any:
        if digest not in self:
            self[digest] = default
        return self[digest]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for digest, image in dict(*args, **kwargs).items():
            self[digest] = image

    def clear(self) -> None:
        super().clear()
        self._order, self._seqs, self._where, self._dead = [], [], {}, 0
        self._parents, self._referrers = {}, {}

    def __ior__(self, other: Any) -> ImageTable:  # type: ignore[override,misc]
        self.update(other)
        return self

    def from_seq(self, seq: int) -> Iterator[Image]:
        """The images whose seq is ``seq`` or later, in seq (push) order; O(log n) to start."""
        order = self._order
        for i in range(bisect.bisect_left(self._seqs, seq), len(order)):
            image = order[i]
            if image is not None:
                yield image

    def parents(self, digest: str) -> list[str]:
        """Digests of the manifest lists / indexes that reference ``digest``, in push order."""
        return list(self._parents.get(digest, ()))

    def has_referrers(self, subject: str) -> bool:
        return subject in self._referrers

    def referrers(self, subject: str) -> list[Image]:
        """The images whose OCI ``subject`` is ``subject``, in seq (push) order."""
        return sorted((self[d] for d in self._referrers.get(subject, ())), key=lambda image: image.seq)


def _unlink(index: dict[str, dict[str, None]], key: str, digest: str) -> None:
    linked = index.get(key)
    if linked is not None:
        linked.pop(digest, None)
        if not linked:
            del index[key]


#: The ScanStatus values a scan that does not complete can end with (botocore's model)
SCAN_FAILURE_STATUSES = (
    "FAILED",
    "UNSUPPORTED_IMAGE",
    "FINDINGS_UNAVAILABLE",
    "SCAN_ELIGIBILITY_EXPIRED",
    "LIMIT_EXCEEDED",
)


@dataclass(frozen=True)
class ScanFailure:
    """How a scan ends when it does not complete: given instead of findings (seeded on an image, or
    returned by the ``pytest_ecr_scan_findings`` hook), DescribeImageScanFindings reports
    ``imageScanStatus`` ``{status, description}`` and no findings."""

    description: str
    status: str = "FAILED"

    def __post_init__(self) -> None:
        if self.status not in SCAN_FAILURE_STATUSES:
            raise ValueError(
                f"a scan cannot end with status {self.status!r}; choose one of {', '.join(SCAN_FAILURE_STATUSES)}"
            )


#: What a basic scan of an image whose OS ECR cannot scan (FROM scratch, an unsupported
#: distribution) ends with, as users report it from ECR
UNSUPPORTED_IMAGE = ScanFailure(
    "UnsupportedImageError: The operating system and/or package manager are not supported."
)


@dataclass
class Scan:
    """One scan of one image; it completes when the clock reaches ``completes_at``."""

    scan_type: str  # BASIC or ENHANCED
    started_at: float
    completes_at: float
    #: resolved once, when the scan is first seen complete
    findings: list[dict[str, Any]] | None = None
    #: set instead of findings when the scan did not complete
    failure: ScanFailure | None = None


@dataclass
class Upload:
    """A layer upload session (InitiateLayerUpload to CompleteLayerUpload).

    Parts are kept as received, never copied, and hashed as they arrive, so completing the upload
    costs one join: the fake never holds more than two copies of a layer.
    """

    upload_id: str
    initiated_at: float
    parts: list[bytes] = field(default_factory=list)
    #: bytes received so far; the next part must start at this offset
    size: int = 0
    sha256: Any = field(default_factory=hashlib.sha256)

    def __deepcopy__(self, memo: dict[int, Any]) -> Upload:
        # a hash object cannot be deep-copied, only forked; parts are bytes, shared
        new = Upload(self.upload_id, self.initiated_at, list(self.parts), self.size, self.sha256.copy())
        memo[id(self)] = new
        return new


@dataclass
class Repository:
    name: str
    registry_id: str
    region: str
    arn: str
    uri: str
    created_at: float
    seq: int
    tag_mutability: str = "MUTABLE"
    mutability_exclusions: list[dict[str, str]] = field(default_factory=list)
    scan_on_push: bool = False
    encryption: dict[str, str] = field(default_factory=lambda: {"encryptionType": "AES256"})
    resource_tags: dict[str, str] = field(default_factory=dict)
    policy_text: str | None = None
    #: images by digest, in push order (dicts keep insertion order)
    images: ImageTable = field(default_factory=ImageTable)
    #: tag -> digest; a tag names at most one image
    tag_index: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, Blob] = field(default_factory=dict)
    #: open layer uploads by upload id; they go with the repository when it is deleted
    uploads: dict[str, Upload] = field(default_factory=dict)
    #: digest -> virtual time its restore from archive completes (images in ACTIVATING)
    restores: dict[str, float] = field(default_factory=dict)
    lifecycle_policy: LifecyclePolicy | None = None
    #: the latest lifecycle policy preview, if any
    lifecycle_preview: LifecyclePreview | None = None
    #: subject digest -> virtual time its OCI referrers follow it (deleted or archived with it)
    referrer_followups: dict[str, float] = field(default_factory=dict)

    def parents_of(self, digest: str) -> list[str]:
        """Digests of manifest lists / indexes in this repository that reference ``digest``."""
        return self.images.parents(digest)

    def __deepcopy__(self, memo: dict[int, Any]) -> Repository:
        # What a snapshot's restore pays on a repository's first use: the big members (images,
        # tags, blobs) by hand, the rest generically.
        done: Repository | None = memo.get(id(self))
        if done is not None:
            return done
        new = copy.copy(self)
        memo[id(self)] = new
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "tag_index":
                new.tag_index = dict(value)  # str -> str
            elif f.name == "blobs":
                new.blobs = {digest: blob.__deepcopy__(memo) for digest, blob in value.items()}
            else:
                setattr(new, f.name, copy.deepcopy(value, memo))
        return new


@dataclass
class LifecyclePolicy:
    """A repository's lifecycle policy and when ECR applies it."""

    #: the normalised text (what GetLifecyclePolicy returns)
    text: str
    #: virtual time of the next scheduled evaluation
    next_evaluation_at: float
    #: 0.0 until the policy was first evaluated (as ECR reports it)
    last_evaluated_at: float = 0.0
    #: seconds between scheduled evaluations (``Options.lifecycle_interval_seconds`` when put)
    interval: float = 86400.0
    #: True while the scheduled evaluations up to ``next_evaluation_at`` are coalesced: they
    #: would find nothing to do (the repository unchanged, no age threshold crossed), so they
    #: only move ``lastEvaluatedAt`` along the schedule
    coalesced: bool = False


@dataclass
class LifecyclePreview:
    """A lifecycle policy preview; it completes when the clock reaches ``completes_at``."""

    #: the policy text exactly as supplied (or the stored policy's text)
    text: str
    started_at: float
    completes_at: float
    #: resolved once, when the preview is first seen complete: ``LifecyclePolicyPreviewResult``s
    results: list[dict[str, Any]] | None = None


@dataclass
class ReplicationStatus:
    """One destination of one push's replication (DescribeImageReplicationStatus)."""

    region: str
    registry_id: str
    status: str = "IN_PROGRESS"
    failure_code: str | None = None


@dataclass
class PendingReplication:
    """Replication work on its way to a destination registry, applied when the clock reaches ``due_at``.

    ``kind``: "push" copies ``images`` (children first, the pushed image last) with ``tags`` and
    ``blobs``; "delete" mirrors ``deletions`` ((digest, tag or None) pairs); "prepare" ends a
    backfill's preparation.
    """

    due_at: float
    seq: int
    kind: str
    source_account: str
    source_region: str
    repository: str = ""
    #: (account, region) of the destination registry
    destination: tuple[str, str] = ("", "")
    images: tuple[Image, ...] = ()
    tags: tuple[str, ...] = ()
    blobs: tuple[Blob, ...] = ()
    deletions: tuple[tuple[str, str | None], ...] = ()
    status: ReplicationStatus | None = None
    backfill: Backfill | None = None


@dataclass
class Backfill:
    """A replication backfill (StartReplicationBackfill) and its progress."""

    backfill_id: str
    registry_id: str
    region: str
    destination: dict[str, str]
    started_at: float
    #: (repository, digest, tag or None): the replications, fixed when the backfill starts
    items: list[tuple[str, str, str | None]]
    status: str = "PREPARING"
    ended_at: float | None = None
    #: ReplicationBackfillResult dicts, as replications finish
    results: list[dict[str, Any]] = field(default_factory=list)
    #: replications started and not yet finished
    in_flight: int = 0
    prepared: bool = False


@dataclass
class AuthToken:
    account: str
    region: str
    expires_at: float
    #: who asked for it (registry requests made with it act as that principal)
    principal: str = ""


@dataclass
class Registry:
    account: str
    region: str
    repositories: dict[str, Repository] = field(default_factory=dict)
    #: PutRegistryScanningConfiguration's {scanType, rules}; None until one is put
    scanning_configuration: dict[str, Any] | None = None
    account_settings: dict[str, str] = field(default_factory=dict)
    #: start times of basic scans, for the registry's rolling 24 h quota
    scan_starts: list[float] = field(default_factory=list)
    #: PutRegistryPolicy's text; None until one is put
    registry_policy: str | None = None
    #: PutReplicationConfiguration's rules, as given
    replication_rules: list[dict[str, Any]] = field(default_factory=list)
    #: replication backfills by id, in start order
    backfills: dict[str, Backfill] = field(default_factory=dict)
    #: PutSigningConfiguration's {rules}; None until one is put (or after it is deleted)
    signing_configuration: dict[str, Any] | None = None
    #: pull-time update exclusions: principal ARN -> registration time
    pull_time_exclusions: dict[str, float] = field(default_factory=dict)
    #: repository creation templates by prefix (without a trailing "/"), each the
    #: RepositoryCreationTemplate structure plus private "_"-prefixed bookkeeping
    creation_templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: pull-through cache rules by prefix (without a trailing "/"), each the PullThroughCacheRule
    #: structure plus private "_"-prefixed bookkeeping
    pull_through_rules: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Store:
    registries: dict[tuple[str, str], Registry] = field(default_factory=dict)
    #: password part of issued authorization tokens -> what it grants
    tokens: dict[str, AuthToken] = field(default_factory=dict)
    #: every delayed effect (scans, restores, replications, lifecycle runs...), by due time
    agenda: Agenda = field(default_factory=Agenda)
    #: set while replicas are written, so that they are not replicated again (no chaining)
    replicating: bool = False
    #: the fake's upstream registries (what pull-through cache rules pull from)
    upstreams: Upstreams = field(default_factory=Upstreams)
    #: the EventBridge events ECR would have sent (``FakeECR.events``)
    events: EventLog = field(default_factory=EventLog)
    _seq: Any = field(default_factory=itertools.count)

    def registry(self, account: str, region: str) -> Registry:
        key = (account, region)
        reg = self.registries.get(key)
        if reg is None:
            reg = self.registries[key] = Registry(account, region)
        return reg

    def next_seq(self) -> int:
        """A number that orders everything created in this store (stable pagination order)."""
        return int(next(self._seq))
