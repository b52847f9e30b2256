"""Repository permission policies: Set/Get/DeleteRepositoryPolicy (spec §2.6)."""

from __future__ import annotations

import json
from typing import Any

from .context import Context
from .errors import InvalidParameterException, RepositoryPolicyNotFoundException
from .registry import operation

POLICY_VERSIONS = ("2008-10-17", "2012-10-17")


def _statement_ok(statement: Any) -> bool:
    return (
        isinstance(statement, dict)
        and statement.get("Effect") in ("Allow", "Deny")
        and ("Principal" in statement or "NotPrincipal" in statement)
        and ("Action" in statement or "NotAction" in statement)
    )


def is_valid_resource_policy(text: str) -> bool:
    """IAM resource-policy grammar as ECR accepts it: Version, and Statements with Effect,
    Principal and Action (Resource and unique Sids are not required)."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # nesting too deep for the parser is malformed too
        return False
    if not isinstance(doc, dict) or doc.get("Version") not in POLICY_VERSIONS:
        return False
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    return isinstance(statements, list) and bool(statements) and all(map(_statement_ok, statements))


def _not_found(name: str, registry_id: str) -> RepositoryPolicyNotFoundException:
    return RepositoryPolicyNotFoundException(
        f"Repository policy does not exist for the repository with name '{name}' "
        f"in the registry with id '{registry_id}'"
    )


@operation("SetRepositoryPolicy")
def set_repository_policy(
    ctx: Context, *, repositoryName: str, policyText: str, registryId: str | None = None, force: bool = False
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    if not is_valid_resource_policy(policyText):
        raise InvalidParameterException.at("PolicyText", "Invalid repository policy provided")
    # `force` only skips ECR's lock-out check, which a fake without IAM has no reason to make.
    repo.policy_text = policyText
    return {"registryId": repo.registry_id, "repositoryName": repo.name, "policyText": policyText}


@operation("GetRepositoryPolicy")
def get_repository_policy(
    ctx: Context, *, repositoryName: str, registryId: str | None = None
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    if repo.policy_text is None:
        raise _not_found(repo.name, repo.registry_id)
    return {"registryId": repo.registry_id, "repositoryName": repo.name, "policyText": repo.policy_text}


@operation("DeleteRepositoryPolicy")
def delete_repository_policy(
    ctx: Context, *, repositoryName: str, registryId: str | None = None
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    if repo.policy_text is None:
        raise _not_found(repo.name, repo.registry_id)
    text, repo.policy_text = repo.policy_text, None
    return {"registryId": repo.registry_id, "repositoryName": repo.name, "policyText": text}
