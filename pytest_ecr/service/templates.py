"""Repository creation templates (spec §8.5), and the repositories ECR creates on a user's behalf.

A template holds the settings ECR gives a repository it creates itself: when pulling through a
cache (``PULL_THROUGH_CACHE``), when replicating (``REPLICATION``) or when a push names a repository
that does not exist (``CREATE_ON_PUSH``). ``create_repository_for`` is the one entry point those
features use. Templates never apply to CreateRepository, and never to repositories that exist.

Matching: prefix ``p`` covers the names that begin ``p/`` (a trailing ``/`` in the prefix is
implied and ignored when comparing); the longest covering prefix among the templates that list the
scenario wins; ``ROOT`` covers every name no other such template covers.

Defaults where ECR documents no value: at most 300 templates per registry (LimitExceededException);
a template that sets resource tags or a customer KMS key needs a ``customRoleArn`` (ECR applies
them with that role), else ValidationException; ``customRoleArn`` must be an IAM role of the
registry's own account. Update replaces the fields it is given; an omitted ``imageTagMutability``
falls back to MUTABLE, as the model's documentation of UpdateRepositoryCreationTemplate says.
"""

from __future__ import annotations

import re
from typing import Any

from ..store import Registry, Repository
from . import lifecycle_rules, mutability
from .context import Context
from .errors import (
    InvalidParameterException,
    InvalidTagParameterException,
    LimitExceededException,
    TemplateAlreadyExistsException,
    TemplateNotFoundException,
    ValidationException,
)
from .lifecycle import install_policy
from .pagination import page
from .policies import repository_policy_text
from .registry import operation
from .repositories import encryption_settings, new_repository
from .tagging import merged_tags

#: the ``appliedFor`` values a template can name
APPLIED_FOR = ("REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH")
ROOT = "ROOT"
MAX_TEMPLATES = 300
_ROLE_RE = re.compile(r"arn:aws(?:-[a-z]+)*:iam::([0-9]{12}):role/\S+")


def prefix_key(prefix: str) -> str:
    """A repository prefix as templates and pull-through rules compare it: no trailing "/"."""
    return prefix if prefix == ROOT else prefix.rstrip("/")


def check_own_role(account: str, role: str) -> None:
    """A ``customRoleArn`` must be an IAM role of the registry's own account (templates and
    pull-through rules both say so)."""
    match = _ROLE_RE.fullmatch(role)
    if match is None or match.group(1) != account:
        raise ValidationException(
            f"Invalid customRoleArn '{role}': it must be an IAM role of the registry's account {account}"
        )


def matching_template(reg: Registry, name: str, applied_for: str) -> dict[str, Any] | None:
    """The template ECR applies when it creates repository ``name`` for ``applied_for``."""
    best: tuple[int, dict[str, Any]] | None = None
    root = None
    for key, template in reg.creation_templates.items():
        if applied_for not in template["appliedFor"]:
            continue
        if key == ROOT:
            root = template
        elif name.startswith(key + "/") and (best is None or len(key) > best[0]):
            best = (len(key), template)
    return best[1] if best is not None else root


def create_repository_for(ctx: Context, name: str, applied_for: str) -> Repository:
    """Create repository ``name`` in ``ctx``'s registry (``ctx.account`` / ``ctx.region``) as ECR
    does for ``applied_for``: with the settings of the matching creation template, else defaults
    (mutable tags, no scan on push, AES256)."""
    reg = ctx.registry()
    template = matching_template(reg, name, applied_for)
    if template is None:
        return new_repository(ctx, reg, name)
    tags = {t["Key"]: t["Value"] for t in template.get("resourceTags") or []}
    repo = new_repository(
        ctx,
        reg,
        name,
        tag_mutability=template["imageTagMutability"],
        mutability_exclusions=[dict(f) for f in template.get("imageTagMutabilityExclusionFilters") or []],
        encryption=encryption_settings(ctx, template.get("encryptionConfiguration"), reg.account),
        resource_tags=tags,
    )
    if template.get("repositoryPolicy"):
        # The repository holds it as SetRepositoryPolicy would have stored it.
        repo.policy_text = repository_policy_text(template["repositoryPolicy"])
    if template.get("lifecyclePolicy"):
        # Scheduled as if PutLifecyclePolicy had been called at creation.
        install_policy(ctx, repo, template["lifecyclePolicy"])
    return repo


# -- validation ---------------------------------------------------------------------------------


def _settings(ctx: Context, reg: Registry, fields: dict[str, Any]) -> dict[str, Any]:
    """The template fields ``fields`` sets, checked as the operations that set them on a
    repository check them; ECR's model lists only InvalidParameterException and
    ValidationException for these operations, so other errors are reported as those."""
    out: dict[str, Any] = {}
    if "appliedFor" in fields:
        applied = list(dict.fromkeys(fields["appliedFor"]))
        if not applied:
            raise InvalidParameterException.at(
                "appliedFor", "Member must have length greater than or equal to 1"
            )
        out["appliedFor"] = applied
    if "description" in fields:
        out["description"] = fields["description"]
    if "encryptionConfiguration" in fields:
        config = dict(fields["encryptionConfiguration"])
        encryption_settings(ctx, config, reg.account)  # the same rules as CreateRepository
        out["encryptionConfiguration"] = config
    if "resourceTags" in fields:
        try:
            merged_tags({}, fields["resourceTags"])
        except InvalidTagParameterException as err:
            raise InvalidParameterException.at("resourceTags", err.message) from None
        out["resourceTags"] = [dict(t) for t in fields["resourceTags"]]
    mutability_mode = fields.get("imageTagMutability") or "MUTABLE"
    out["imageTagMutability"] = mutability_mode
    out["imageTagMutabilityExclusionFilters"] = mutability.check_settings(
        mutability_mode, fields.get("imageTagMutabilityExclusionFilters")
    )
    if "repositoryPolicy" in fields:
        text = fields["repositoryPolicy"]
        if text:
            repository_policy_text(text, "repositoryPolicy")  # validates; the template keeps the text as sent
        out["repositoryPolicy"] = text
    if "lifecyclePolicy" in fields:
        text = fields["lifecyclePolicy"]
        out["lifecyclePolicy"] = lifecycle_rules.normalise(lifecycle_rules.parse(text)) if text else text
    if "customRoleArn" in fields:
        role = fields["customRoleArn"]
        check_own_role(reg.account, role)
        out["customRoleArn"] = role
    return out


def _needs_role(template: dict[str, Any]) -> None:
    kms_key = (template.get("encryptionConfiguration") or {}).get("kmsKey")
    if (template.get("resourceTags") or kms_key) and not template.get("customRoleArn"):
        raise ValidationException(
            "A customRoleArn is required for Amazon ECR to apply resourceTags or a KMS key from a "
            "repository creation template"
        )


def _answer(reg: Registry, template: dict[str, Any]) -> dict[str, Any]:
    return {"registryId": reg.account, "repositoryCreationTemplate": _public(template)}


def _public(template: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in template.items() if not k.startswith("_")}
    out["imageTagMutabilityExclusionFilters"] = out.get("imageTagMutabilityExclusionFilters") or None
    return out


def _find(reg: Registry, prefix: str) -> dict[str, Any]:
    template = reg.creation_templates.get(prefix_key(prefix))
    if template is None:
        raise TemplateNotFoundException(
            f"The repository creation template with prefix '{prefix}' does not exist in the registry "
            f"with id '{reg.account}'"
        )
    return template


# -- operations ---------------------------------------------------------------------------------


@operation("CreateRepositoryCreationTemplate")
def create_repository_creation_template(
    ctx: Context, *, prefix: str, appliedFor: list[str], **fields: Any
) -> dict[str, Any]:
    reg = ctx.registry()
    key = prefix_key(prefix)
    template = {"prefix": prefix, **_settings(ctx, reg, {"appliedFor": appliedFor, **fields})}
    _needs_role(template)
    if key in reg.creation_templates:
        raise TemplateAlreadyExistsException(
            f"The repository creation template with prefix '{prefix}' already exists in the registry "
            f"with id '{reg.account}'"
        )
    if len(reg.creation_templates) >= MAX_TEMPLATES:
        raise LimitExceededException(
            f"The maximum number of repository creation templates ({MAX_TEMPLATES}) has been reached "
            f"in the registry with id '{reg.account}'"
        )
    now = ctx.clock.now()
    template.update(createdAt=now, updatedAt=now, _seq=ctx.store.next_seq())
    reg.creation_templates[key] = template
    return _answer(reg, template)


@operation("DescribeRepositoryCreationTemplates")
def describe_repository_creation_templates(
    ctx: Context,
    *,
    prefixes: list[str] | None = None,
    nextToken: str | None = None,
    maxResults: int | None = None,
) -> dict[str, Any]:
    reg = ctx.registry()
    templates = list(reg.creation_templates.values())
    if prefixes is not None:
        wanted = {prefix_key(p) for p in prefixes}
        templates = [t for t in templates if prefix_key(t["prefix"]) in wanted]  # unknown ones are absent
    found, token = page(
        templates,
        key=lambda t: t["_seq"],
        scope=("DescribeRepositoryCreationTemplates", reg.account, ctx.region, sorted(prefixes or [])),
        next_token=nextToken,
        max_results=maxResults,
    )
    return {
        "registryId": reg.account,
        "repositoryCreationTemplates": [_public(t) for t in found],
        "nextToken": token,
    }


@operation("UpdateRepositoryCreationTemplate")
def update_repository_creation_template(ctx: Context, *, prefix: str, **fields: Any) -> dict[str, Any]:
    reg = ctx.registry()
    current = _find(reg, prefix)
    updated = {**current, **_settings(ctx, reg, fields)}
    _needs_role(updated)
    updated["updatedAt"] = ctx.clock.now()
    reg.creation_templates[prefix_key(prefix)] = updated
    return _answer(reg, updated)


@operation("DeleteRepositoryCreationTemplate")
def delete_repository_creation_template(ctx: Context, *, prefix: str) -> dict[str, Any]:
    reg = ctx.registry()
    template = _find(reg, prefix)
    del reg.creation_templates[prefix_key(prefix)]
    return _answer(reg, template)
