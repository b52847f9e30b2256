"""Pull-through cache (spec §8.4): the rule operations, and pulling through a rule.

Rules map a repository prefix of the registry to an upstream registry. The first BatchGetImage of
``<prefix>/<upstream repository>`` by tag or digest fetches the image from the fake's upstream
registries (:mod:`pytest_ecr.upstreams`: seeded content, else the ``pytest_ecr_upstream_image``
hook; an ``ecr`` upstream is the fake's own registry of that account and region), creates the
repository if needed (a ``PULL_THROUGH_CACHE`` creation template, else defaults) and caches the
image, a multi-arch index with all its platform images, by PutImage's rules; later pulls are served
from the cache. An image the upstream does not have is ``ImageNotFound``; an upstream seeded to
fail gives its code (``UpstreamAccessDenied``, ``UpstreamTooManyRequests``, ``UpstreamUnavailable``).
Nothing is created when nothing could be fetched.

Defaults where ECR documents nothing: the prefix ``ROOT`` is accepted only for an ``ecr`` upstream
(it maps the whole registry); a credential secret of another account or Region is
SecretNotFoundException (the registry cannot see it); the fake has no Secrets Manager, so a
well-formed secret ARN of the registry's own account and Region is taken as readable, and
ValidatePullThroughCacheRule reports every stored rule valid. A URL that names a known upstream
other than ``upstreamRegistry`` gets the same message as an unknown URL (ECR's wording for the
mismatch is not recorded).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..events import PULL_THROUGH_CACHE_ACTION
from ..store import Blob, Registry, Repository
from ..upstreams import UPSTREAM_FAILURES, UpstreamRequest
from .context import Context
from .errors import (
    LimitExceededException,
    PullThroughCacheRuleAlreadyExistsException,
    PullThroughCacheRuleNotFoundException,
    SecretNotFoundException,
    UnsupportedUpstreamRegistryException,
    ValidationException,
)
from .manifests import digest_of
from .pagination import forbid_paging_with_ids, page
from .reactions import PULL_REQUESTED, subscribe
from .registry import operation
from .templates import ROOT, check_own_role, create_repository_for, prefix_key

MAX_RULES = 50
#: upstream registry -> its URL (None: the URL names an account, checked by _ECR_URL / _AZURE_URL)
UPSTREAM_URLS: dict[str, str | None] = {
    "ecr-public": "public.ecr.aws",
    "quay": "quay.io",
    "k8s": "registry.k8s.io",
    "docker-hub": "registry-1.docker.io",
    "github-container-registry": "ghcr.io",
    "gitlab-container-registry": "registry.gitlab.com",
    "chainguard": "cgr.dev",
    "azure-container-registry": None,
    "ecr": None,
}
#: upstreams that need a Secrets Manager credential
NEEDS_CREDENTIAL = (
    "docker-hub",
    "github-container-registry",
    "gitlab-container-registry",
    "azure-container-registry",
    "chainguard",
)
_ECR_URL = re.compile(r"([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")
_AZURE_URL = re.compile(r"[a-z0-9]{5,50}\.azurecr\.io")
_SECRET = re.compile(r"arn:[^:]+:secretsmanager:([a-z0-9-]+):([0-9]{12}):secret:.+")


def _upstream_of(url: str, upstream: str | None) -> str:
    """The upstream registry ``url`` is, checked against ``upstream`` if given."""
    if _ECR_URL.fullmatch(url):
        found = "ecr"
    elif _AZURE_URL.fullmatch(url):
        found = "azure-container-registry"
    else:
        found = next((name for name, known in UPSTREAM_URLS.items() if known == url), "")
    if not found or (upstream is not None and upstream != found):
        raise UnsupportedUpstreamRegistryException.invalid_url(url)
    return found


def _check_secret(ctx: Context, reg: Registry, credential: str) -> None:
    match = _SECRET.fullmatch(credential)
    if match is None or (match.group(1), match.group(2)) != (ctx.region, reg.account):
        raise SecretNotFoundException(
            f"The secret '{credential}' was not found: a pull through cache credential must be a "
            f"Secrets Manager secret of the registry's account ({reg.account}) and Region ({ctx.region})"
        )


def _check_access(
    ctx: Context, reg: Registry, upstream: str, credential: str | None, role: str | None
) -> None:
    # A rule that needs a credential always has one stored: only creating one can lack it.
    if upstream in NEEDS_CREDENTIAL and credential is None:
        raise UnsupportedUpstreamRegistryException.requires_authentication()
    if upstream == "ecr":
        if role is None:
            raise ValidationException("A customRoleArn is required for upstream registry 'ecr'")
        if credential is not None:
            raise ValidationException("A credentialArn cannot be used with upstream registry 'ecr'")
    elif role is not None:
        raise ValidationException(
            f"A customRoleArn can only be used with upstream registry 'ecr', not '{upstream}'"
        )
    if credential is not None:
        _check_secret(ctx, reg, credential)
    if role is not None:
        check_own_role(reg.account, role)


def _public(rule: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: rule.get(name) for name in names}


def _find(ctx: Context, registry_id: str | None, prefix: str) -> tuple[Registry, dict[str, Any]]:
    reg = ctx.registry(registry_id)
    rule = reg.pull_through_rules.get(prefix_key(prefix))
    if rule is None:
        raise PullThroughCacheRuleNotFoundException(
            f"The pull through cache rule with prefix '{prefix}' does not exist in the registry with id "
            f"'{reg.account}'"
        )
    return reg, rule


RULE_FIELDS = (
    "ecrRepositoryPrefix",
    "upstreamRegistryUrl",
    "createdAt",
    "registryId",
    "upstreamRegistry",
    "credentialArn",
    "customRoleArn",
    "upstreamRepositoryPrefix",
)


@operation("CreatePullThroughCacheRule")
def create_pull_through_cache_rule(
    ctx: Context,
    *,
    ecrRepositoryPrefix: str,
    upstreamRegistryUrl: str,
    registryId: str | None = None,
    upstreamRegistry: str | None = None,
    credentialArn: str | None = None,
    customRoleArn: str | None = None,
    upstreamRepositoryPrefix: str | None = None,
) -> dict[str, Any]:
    reg = ctx.registry(registryId)
    upstream = _upstream_of(upstreamRegistryUrl, upstreamRegistry)
    if upstreamRepositoryPrefix is not None and upstream != "ecr":
        raise ValidationException("upstreamRepositoryPrefix can only be used with upstream registry 'ecr'")
    if prefix_key(ecrRepositoryPrefix) == ROOT and upstream != "ecr":
        raise ValidationException(
            "The ecrRepositoryPrefix 'ROOT' can only be used with upstream registry 'ecr'"
        )
    _check_access(ctx, reg, upstream, credentialArn, customRoleArn)
    key = prefix_key(ecrRepositoryPrefix)
    if key in reg.pull_through_rules:
        raise PullThroughCacheRuleAlreadyExistsException(
            "A pull through cache rule with these settings already exists for the private registry"
        )
    if len(reg.pull_through_rules) >= MAX_RULES:
        raise LimitExceededException(
            f"The maximum number of pull through cache rules ({MAX_RULES}) has been reached in the "
            f"registry with id '{reg.account}'"
        )
    now = ctx.clock.now()
    rule = {
        "ecrRepositoryPrefix": ecrRepositoryPrefix,
        "upstreamRegistryUrl": upstreamRegistryUrl,
        "createdAt": now,
        "updatedAt": now,
        "registryId": reg.account,
        "upstreamRegistry": upstream,
        "credentialArn": credentialArn,
        "customRoleArn": customRoleArn,
        "upstreamRepositoryPrefix": (upstreamRepositoryPrefix or ROOT) if upstream == "ecr" else None,
        "_seq": ctx.store.next_seq(),
    }
    reg.pull_through_rules[key] = rule
    return _public(rule, *RULE_FIELDS)


@operation("DescribePullThroughCacheRules")
def describe_pull_through_cache_rules(
    ctx: Context,
    *,
    registryId: str | None = None,
    ecrRepositoryPrefixes: list[str] | None = None,
    nextToken: str | None = None,
    maxResults: int | None = None,
) -> dict[str, Any]:
    reg = ctx.registry(registryId)
    forbid_paging_with_ids("ecrRepositoryPrefixes", "rules", ecrRepositoryPrefixes, nextToken, maxResults)
    if ecrRepositoryPrefixes is not None:
        rules = [_find(ctx, registryId, p)[1] for p in dict.fromkeys(ecrRepositoryPrefixes)]
        token = None
    else:
        rules, token = page(
            reg.pull_through_rules.values(),
            key=lambda r: r["_seq"],
            scope=("DescribePullThroughCacheRules", reg.account, ctx.region),
            next_token=nextToken,
            max_results=maxResults,
        )
    return {
        "pullThroughCacheRules": [_public(r, *RULE_FIELDS, "updatedAt") for r in rules],
        "nextToken": token,
    }


@operation("UpdatePullThroughCacheRule")
def update_pull_through_cache_rule(
    ctx: Context,
    *,
    ecrRepositoryPrefix: str,
    registryId: str | None = None,
    credentialArn: str | None = None,
    customRoleArn: str | None = None,
) -> dict[str, Any]:
    reg, rule = _find(ctx, registryId, ecrRepositoryPrefix)
    credential = credentialArn if credentialArn is not None else rule["credentialArn"]
    role = customRoleArn if customRoleArn is not None else rule["customRoleArn"]
    _check_access(ctx, reg, rule["upstreamRegistry"], credential, role)
    rule.update(credentialArn=credential, customRoleArn=role, updatedAt=ctx.clock.now())
    return _public(
        rule,
        "ecrRepositoryPrefix",
        "registryId",
        "updatedAt",
        "credentialArn",
        "customRoleArn",
        "upstreamRepositoryPrefix",
    )


@operation("DeletePullThroughCacheRule")
def delete_pull_through_cache_rule(
    ctx: Context, *, ecrRepositoryPrefix: str, registryId: str | None = None
) -> dict[str, Any]:
    reg, rule = _find(ctx, registryId, ecrRepositoryPrefix)
    del reg.pull_through_rules[prefix_key(ecrRepositoryPrefix)]  # cached repositories stay
    return _public(rule, *(f for f in RULE_FIELDS if f != "upstreamRegistry"))


@operation("ValidatePullThroughCacheRule")
def validate_pull_through_cache_rule(
    ctx: Context, *, ecrRepositoryPrefix: str, registryId: str | None = None
) -> dict[str, Any]:
    _, rule = _find(ctx, registryId, ecrRepositoryPrefix)
    fields = ("ecrRepositoryPrefix", "registryId", "upstreamRegistryUrl", "credentialArn", "customRoleArn")
    return {**_public(rule, *fields, "upstreamRepositoryPrefix"), "isValid": True, "failure": None}


# -- pulling through ------------------------------------------------------------------------------


def rule_for(reg: Registry, name: str) -> tuple[dict[str, Any], str] | None:
    """The rule covering repository ``name`` (the longest prefix) and the upstream repository."""
    best: tuple[dict[str, Any], str] | None = None
    for key, rule in reg.pull_through_rules.items():
        if key == ROOT:
            candidate = (rule, name)
        elif name.startswith(key + "/"):
            candidate = (rule, name[len(key) + 1 :])
        else:
            continue
        if best is None or len(best[1]) > len(candidate[1]):
            best = candidate
    if best is None:
        return None
    rule, rest = best
    upstream_prefix = rule.get("upstreamRepositoryPrefix")
    if upstream_prefix and prefix_key(upstream_prefix) != ROOT:
        rest = f"{prefix_key(upstream_prefix)}/{rest}"
    return rule, rest


Content = list[tuple[str, str, tuple[Blob, ...]]]  # (manifest, media type, blobs), children first


def _from_fake_ecr(ctx: Context, url: str, repository: str, reference: str) -> Content | None:
    match = _ECR_URL.fullmatch(url)
    assert match is not None
    reg = ctx.store.registries.get((match.group(1), match.group(2)))
    repo = reg.repositories.get(repository) if reg is not None else None
    if repo is None:
        return None
    digest = reference if reference.startswith("sha256:") else repo.tag_index.get(reference)
    image = repo.images.get(digest or "")
    if image is None or image.status != "ACTIVE":
        return None
    parts = [repo.images[c] for c in image.children if c in repo.images] + [image]
    return [(i.manifest, i.media_type, tuple(repo.blobs[d] for d in i.blob_digests)) for i in parts]


def _fetch(ctx: Context, rule: dict[str, Any], repository: str, reference: str) -> Content | str:
    """The upstream image, or the failure code a pull of it gets."""
    url = rule["upstreamRegistryUrl"]
    if rule["upstreamRegistry"] == "ecr":
        found = _from_fake_ecr(ctx, url, repository, reference)
        return found if found is not None else "ImageNotFound"
    failure = ctx.store.upstreams.failures.get((url, repository))
    if failure is not None:
        return failure
    image = ctx.store.upstreams.find(url, repository, reference)
    if image is None and ctx.options.upstream_images is not None:
        image = ctx.options.upstream_images(UpstreamRequest(url, repository, reference))
        if image is not None and not reference.startswith("sha256:"):
            ctx.store.upstreams.add(url, repository, reference, image)
    if image is None:
        return "ImageNotFound"
    return [(i.manifest, i.media_type, i.blobs) for i in image.images]


_REASONS = {
    "ImageNotFound": "The image was not found in the upstream registry",
    "UpstreamAccessDenied": "The upstream registry denied access to the image",
    "UpstreamTooManyRequests": "The upstream registry is rate limiting requests",
    "UpstreamUnavailable": "The upstream registry is unavailable",
}
assert set(UPSTREAM_FAILURES) < set(_REASONS)


@subscribe(PULL_REQUESTED)
def pull_through(
    ctx: Context, name: str, registry_id: str | None, image_ids: list[dict[str, str]]
) -> dict[int, dict[str, Any]] | None:
    """Before BatchGetImage of ``name``: cache what a pull-through rule covers and the repository
    lacks. None when no rule covers ``name``; else the failures (by position in ``image_ids``)
    of the ids that could not be fetched."""
    reg = ctx.registry(registry_id)
    covered = rule_for(reg, name)
    if covered is None:
        return None
    rule, upstream_repository = covered
    repo = reg.repositories.get(name)
    failures: dict[int, dict[str, Any]] = {}
    for position, image_id in enumerate(image_ids):
        digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
        if repo is not None and (tag in repo.tag_index if tag else digest in repo.images):
            continue  # cached
        reference = tag or digest
        if not reference:
            continue  # BatchGetImage reports the malformed id
        fetched = _fetch(ctx, rule, upstream_repository, reference)
        if isinstance(fetched, str):
            failures[position] = {
                "imageId": dict(image_id),
                "failureCode": fetched,
                "failureReason": _REASONS[fetched],
            }
            continue
        if repo is None:
            repo = create_repository_for(replace(ctx, account=reg.account), name, "PULL_THROUGH_CACHE")
        # Filling the cache sends ECR Pull Through Cache Action, not a push's ECR Image Action.
        _cache(replace(ctx, push_events=False), repo, fetched, tag)
        _cache_event(ctx, rule, repo, tag, digest_of(fetched[-1][0]))
    return failures


def _cache_event(ctx: Context, rule: dict[str, Any], repo: Repository, tag: str | None, digest: str) -> None:
    """``ECR Pull Through Cache Action`` (the ECR User Guide's sample): the cached repository's ARN
    in ``resources``; ``image-tag`` only when the pull named a tag. ``rule-version`` is the
    sample's "1" (ECR documents no other value)."""
    detail = {
        "rule-version": "1",
        "sync-status": "SUCCESS",
        "ecr-repository-prefix": rule["ecrRepositoryPrefix"],
        "repository-name": repo.name,
        "upstream-registry-url": rule["upstreamRegistryUrl"],
    }
    if tag is not None:
        detail["image-tag"] = tag
    detail["image-digest"] = digest
    ctx.store.events.emit(
        ctx.clock.now(), PULL_THROUGH_CACHE_ACTION, repo.registry_id, repo.region, [repo.arn], detail
    )


def _cache(ctx: Context, repo: Repository, content: Content, tag: str | None) -> None:
    from .images import store_with_blobs  # images calls into this module

    for position, (manifest, media_type, blobs) in enumerate(content):
        top = position == len(content) - 1
        existing = repo.images.get(digest_of(manifest))
        if existing is None or (top and tag is not None and tag not in existing.tags):
            store_with_blobs(ctx, repo, manifest, media_type, blobs, tag if top else None)
