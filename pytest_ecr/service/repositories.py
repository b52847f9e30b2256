"""Repositories: create, describe, delete, mutability and legacy scan-on-push settings (spec §2)."""

from __future__ import annotations

import uuid
from typing import Any

from ..store import Registry, Repository
from . import mutability
from .context import Context, dns_suffix, repository_arn
from .errors import (
    InvalidParameterException,
    LimitExceededException,
    RepositoryAlreadyExistsException,
    RepositoryNotEmptyException,
    RepositoryNotFoundException,
)
from .pagination import forbid_paging_with_ids, page
from .registry import operation
from .tagging import merged_tags

MAX_REPOSITORIES = 100_000


def describe(ctx: Context, repo: Repository) -> dict[str, Any]:
    """The ``Repository`` structure ECR returns (its URI on the host ``ctx`` names registries by)."""
    return {
        "repositoryArn": repo.arn,
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "repositoryUri": f"{ctx.registry_host(repo.registry_id, repo.region)}/{repo.name}",
        "createdAt": repo.created_at,
        "imageTagMutability": repo.tag_mutability,
        "imageTagMutabilityExclusionFilters": [dict(f) for f in repo.mutability_exclusions] or None,
        "imageScanningConfiguration": {"scanOnPush": repo.scan_on_push},
        "encryptionConfiguration": dict(repo.encryption),
    }


def encryption_settings(ctx: Context, config: dict[str, str] | None, registry_id: str) -> dict[str, str]:
    config = config or {"encryptionType": "AES256"}
    kind, key = config["encryptionType"], config.get("kmsKey")
    if kind == "AES256":
        if key is not None:
            raise InvalidParameterException.at(
                "encryptionConfiguration", "KMS key must not be specified when encryptionType is AES256"
            )
        return {"encryptionType": kind}
    if key is None:
        # The AWS managed key aws/ecr: one stable key id per account and region.
        key_id = uuid.uuid5(uuid.NAMESPACE_URL, f"aws/ecr/{registry_id}/{ctx.region}")
        key = f"arn:{ctx.partition}:kms:{ctx.region}:{registry_id}:key/{key_id}"
    elif not key.startswith("arn:"):
        key = f"arn:{ctx.partition}:kms:{ctx.region}:{registry_id}:{key if key.startswith('alias/') else 'key/' + key}"
    return {"encryptionType": kind, "kmsKey": key}


def new_repository(ctx: Context, reg: Registry, name: str, **settings: Any) -> Repository:
    """Add repository ``name`` to ``reg`` (in ``ctx.region``) with ``settings`` (Repository fields),
    by CreateRepository's limits. Repositories ECR creates on the user's behalf come through here too."""
    if len(reg.repositories) >= MAX_REPOSITORIES:
        raise LimitExceededException(
            f"The maximum number of repositories ({MAX_REPOSITORIES}) has been reached "
            f"in the registry with id '{reg.account}'"
        )
    if name in reg.repositories:
        raise RepositoryAlreadyExistsException(
            f"The repository with name '{name}' already exists in the registry with id '{reg.account}'"
        )
    repo = Repository(
        name=name,
        registry_id=reg.account,
        region=ctx.region,
        arn=repository_arn(reg.account, ctx.region, name),
        uri=f"{reg.account}.dkr.ecr.{ctx.region}.{dns_suffix(ctx.region)}/{name}",
        created_at=ctx.clock.now(),
        seq=ctx.store.next_seq(),
        **settings,
    )
    reg.repositories[name] = repo
    return repo


@operation("CreateRepository")
def create_repository(
    ctx: Context,
    *,
    repositoryName: str,
    registryId: str | None = None,
    tags: list[dict[str, str]] | None = None,
    imageTagMutability: str = "MUTABLE",
    imageTagMutabilityExclusionFilters: list[dict[str, str]] | None = None,
    imageScanningConfiguration: dict[str, bool] | None = None,
    encryptionConfiguration: dict[str, str] | None = None,
) -> dict[str, Any]:
    reg = ctx.registry(registryId)
    exclusions = mutability.check_settings(imageTagMutability, imageTagMutabilityExclusionFilters)
    resource_tags = merged_tags({}, tags or [])
    encryption = encryption_settings(ctx, encryptionConfiguration, reg.account)
    repo = new_repository(
        ctx,
        reg,
        repositoryName,
        tag_mutability=imageTagMutability,
        mutability_exclusions=exclusions,
        scan_on_push=bool((imageScanningConfiguration or {}).get("scanOnPush", False)),
        encryption=encryption,
        resource_tags=resource_tags,
    )
    return {"repository": describe(ctx, repo)}


@operation("DescribeRepositories")
def describe_repositories(
    ctx: Context,
    *,
    registryId: str | None = None,
    repositoryNames: list[str] | None = None,
    nextToken: str | None = None,
    maxResults: int | None = None,
) -> dict[str, Any]:
    reg = ctx.registry(registryId)
    forbid_paging_with_ids("repositoryNames", "repositories", repositoryNames, nextToken, maxResults)
    if repositoryNames is not None:
        found = []
        for name in dict.fromkeys(repositoryNames):
            repo = reg.repositories.get(name)
            if repo is None:
                raise RepositoryNotFoundException.named(name, reg.account)
            found.append(describe(ctx, repo))
        return {"repositories": found}
    repos, token = page(
        reg.repositories.values(),
        key=lambda r: r.seq,
        scope=("DescribeRepositories", reg.account, ctx.region),
        next_token=nextToken,
        max_results=maxResults,
    )
    return {"repositories": [describe(ctx, r) for r in repos], "nextToken": token}


@operation("DeleteRepository")
def delete_repository(
    ctx: Context, *, repositoryName: str, registryId: str | None = None, force: bool = False
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    if repo.images and not force:
        raise RepositoryNotEmptyException(
            f"The repository with name '{repo.name}' in registry with id '{repo.registry_id}' "
            "cannot be deleted because it still contains images"
        )
    del ctx.registry(registryId).repositories[repositoryName]
    return {"repository": describe(ctx, repo)}


@operation("PutImageTagMutability")
def put_image_tag_mutability(
    ctx: Context,
    *,
    repositoryName: str,
    imageTagMutability: str,
    registryId: str | None = None,
    imageTagMutabilityExclusionFilters: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    repo.mutability_exclusions = mutability.check_settings(
        imageTagMutability, imageTagMutabilityExclusionFilters
    )
    repo.tag_mutability = imageTagMutability
    return {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageTagMutability": repo.tag_mutability,
        "imageTagMutabilityExclusionFilters": [dict(f) for f in repo.mutability_exclusions] or None,
    }


@operation("PutImageScanningConfiguration")
def put_image_scanning_configuration(
    ctx: Context,
    *,
    repositoryName: str,
    imageScanningConfiguration: dict[str, bool],
    registryId: str | None = None,
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    repo.scan_on_push = bool(imageScanningConfiguration.get("scanOnPush", False))
    return {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageScanningConfiguration": {"scanOnPush": repo.scan_on_push},
    }
