"""Managed signing (spec §8.7): Put/Get/DeleteSigningConfiguration, DescribeImageSigningStatus,
and the signing jobs a push starts.

A push of a new image to a repository that a rule matches starts one job per distinct signing
profile of the matching rules (statuses are per profile, as the model documents). Each job is
IN_PROGRESS until the image's push time + ``Options.signing_seconds``, when it finishes on the
agenda (:func:`_finish`; an image seeded further in the past is signed at the next request):

* COMPLETE: a Notary Project signature is stored in the same repository, untagged, as an OCI image
  manifest whose ``subject`` is the signed image and whose ``artifactType`` is
  ``application/vnd.cncf.notary.signature``; ListImageReferrers lists it from then on.
* FAILED: when the signing profile cannot sign for this registry: AWS Signer profiles are
  regional, so a profile of another Region or partition fails with ``SIGNING_PROFILE_NOT_FOUND``
  (ECR does not check the profile when the configuration is put).

What is not signed: images that have a ``subject`` (referrers: signatures, SBOMs, attestations —
so storing a signature can never start another job) and replicas (a replica arrives, it is not
pushed; the source's signature is replicated like any referrer). A signature is an artifact, so
scan on push skips it; lifecycle policies see it as the untagged image it is.
Deleting the configuration keeps existing signatures and lets started jobs finish.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from .. import synthetic
from ..agenda import Job
from ..store import Image, Registry, Repository, SigningJob
from .context import Context, partition_of
from .errors import ECRError, SigningConfigurationNotFoundException
from .images import ImageId, require_image, store_with_blobs
from .reactions import IMAGE_PUSHED, subscribe
from .registry import operation
from .timeline import for_repository, repository, runs
from .wildcards import wildcard_match

SIGNATURE_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature"
#: the annotation every Notary Project signature manifest carries (the signing certificate chain)
THUMBPRINT_ANNOTATION = "io.cncf.notary.x509chain.thumbprint#S256"
PROFILE_NOT_FOUND = "SIGNING_PROFILE_NOT_FOUND"


def _configuration(reg: Registry) -> dict[str, Any]:
    if reg.signing_configuration is None:
        raise SigningConfigurationNotFoundException(
            f"Signing configuration does not exist in the registry with id '{reg.account}'"
        )
    return reg.signing_configuration


@operation("PutSigningConfiguration")
def put_signing_configuration(ctx: Context, *, signingConfiguration: dict[str, Any]) -> dict[str, Any]:
    # The model states every limit (10 rules, 1-100 filters, the ARN and filter patterns,
    # WILDCARD_MATCH): the protocol layer has enforced them. Rules are kept as given.
    config = {"rules": copy.deepcopy(signingConfiguration["rules"])}
    ctx.registry().signing_configuration = config
    return {"signingConfiguration": config}


@operation("GetSigningConfiguration")
def get_signing_configuration(ctx: Context) -> dict[str, Any]:
    reg = ctx.registry()
    return {"registryId": reg.account, "signingConfiguration": _configuration(reg)}


@operation("DeleteSigningConfiguration")
def delete_signing_configuration(ctx: Context) -> dict[str, Any]:
    reg = ctx.registry()
    config = _configuration(reg)
    reg.signing_configuration = None
    return {"registryId": reg.account, "signingConfiguration": config}


def rule_matches(rule: dict[str, Any], repository: str) -> bool:
    """A rule without filters signs every repository; otherwise any of its filters must match the
    whole name (``*`` = any run of characters)."""
    filters = rule.get("repositoryFilters")
    return not filters or any(wildcard_match(f["filter"], repository) for f in filters)


def profiles_for(reg: Registry, repository: str) -> list[str]:
    """The distinct signing profiles whose rules match ``repository``, in rule order."""
    rules = (reg.signing_configuration or {}).get("rules", [])
    return list(dict.fromkeys(r["signingProfileArn"] for r in rules if rule_matches(r, repository)))


def _failure(profile_arn: str, repo: Repository) -> tuple[str, str] | None:
    """Why ``profile_arn`` cannot sign images of ``repo``'s registry, or None if it can."""
    # arn:<partition>:signer:<region>:<account>:/signing-profiles/<name> (the model's pattern)
    _, partition, _, region, *_ = profile_arn.split(":")
    if partition == partition_of(repo.region) and region == repo.region:
        return None
    return (
        PROFILE_NOT_FOUND,
        f"The signing profile '{profile_arn}' was not found in Region '{repo.region}' "
        f"(partition '{partition_of(repo.region)}'); the signing profile must be in the same Region "
        "as the registry",
    )


@subscribe(IMAGE_PUSHED)
def on_push(ctx: Context, repo: Repository, image: Image) -> None:
    """Start the signing jobs for a newly pushed image (see the module docstring)."""
    if image.subject_digest is not None or ctx.store.replicating:
        return
    reg = ctx.store.registry(repo.registry_id, repo.region)
    if reg.signing_configuration is None:  # the common case: every push pays for this check
        return
    profiles = profiles_for(reg, repo.name)
    if not profiles:
        return
    due = image.pushed_at + ctx.options.signing_seconds
    image.signing = [SigningJob(arn, due, failure=_failure(arn, repo)) for arn in profiles]
    for_repository(ctx, due, "signing", repo, (repo.name, image.digest))


def _store_signature(ctx: Context, repo: Repository, image: Image, job: SigningJob) -> None:
    payload = json.dumps(
        {"subject": image.digest, "signingProfileArn": job.profile_arn, "signedAt": job.completes_at},
        sort_keys=True,
    ).encode()
    thumbprint = hashlib.sha256(job.profile_arn.encode()).hexdigest()
    signature = synthetic.build_artifact(
        image.digest,
        image.media_type,
        len(image.manifest.encode()),
        SIGNATURE_ARTIFACT_TYPE,
        payload,
        {THUMBPRINT_ANNOTATION: json.dumps([thumbprint])},
    )
    store_with_blobs(
        ctx, repo, signature.manifest, signature.media_type, signature.blobs, pushed_at=job.completes_at
    )


@runs("signing")
def _finish(ctx: Context, due: Job) -> None:
    """The signing jobs of one image reach their end."""
    name, digest = due.payload
    repo = repository(ctx, name)
    image = repo.images.get(digest) if repo is not None else None
    if repo is None or image is None:  # deleted while being signed: nothing left to sign
        return
    for job in image.signing or []:
        if job.status != "IN_PROGRESS":
            continue
        if job.failure is None:
            try:
                _store_signature(ctx, repo, image, job)
            except ECRError as err:  # e.g. the repository is at its image quota
                job.failure = (err.code, err.message)
        job.status = "FAILED" if job.failure is not None else "COMPLETE"


def _status(job: SigningJob) -> dict[str, Any]:
    status: dict[str, Any] = {"signingProfileArn": job.profile_arn, "status": job.status}
    if job.status == "FAILED" and job.failure is not None:
        status["failureCode"], status["failureReason"] = job.failure
    return status


@operation("DescribeImageSigningStatus")
def describe_image_signing_status(
    ctx: Context, *, repositoryName: str, imageId: ImageId, registryId: str | None = None
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    image = require_image(repo, imageId)
    return {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageId": {"imageDigest": image.digest, "imageTag": imageId.get("imageTag")},
        "signingStatuses": [_status(job) for job in image.signing or []],
    }
