"""Repository permission policies: Set/Get/DeleteRepositoryPolicy (spec §2.6).

The stored text is ECR's re-serialisation of the policy (:mod:`.policy_text`), which Set, Get and
Delete all return."""

from __future__ import annotations

import json
from typing import Any

from .context import Context
from .errors import InvalidParameterException, RepositoryPolicyNotFoundException
from .policy_text import ecr_policy_text
from .registry import operation

POLICY_VERSIONS = ("2008-10-17", "2012-10-17")


def _statement_ok(statement: Any) -> bool:
    return (
        isinstance(statement, dict)
        and statement.get("Effect") in ("Allow", "Deny")
        and ("Principal" in statement or "NotPrincipal" in statement)
        and ("Action" in statement or "NotAction" in statement)
    )


#: IAM's policy grammar nests at most seven containers deep (document, Statement list, statement,
#: Condition, operator, key, value list): anything deeper is no policy, and is refused before the
#: (recursive) writer of ECR's layout sees it
MAX_NESTING = 16


def _nesting(doc: Any) -> int:
    deepest, stack = 0, [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _not_json(constant: str) -> Any:
    # Python reads NaN and Infinity, which are not JSON (and would not survive being written back).
    raise ValueError(constant)


def parse_resource_policy(text: str, *, version_required: bool = False) -> dict[str, Any] | None:
    """The policy document if ``text`` is one ECR accepts, else None: IAM resource-policy grammar,
    Statements with Effect, Principal and Action (Resource and unique Sids are not required).
    A repository policy may leave out Version (ECR then writes ``2008-10-17``: cloud-custodian
    placebo ``test_ecr_repo_modify_policy``, whose SetRepositoryPolicy sent none)."""
    try:
        doc = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):  # nesting too deep for the parser is malformed too
        return None
    if not isinstance(doc, dict) or _nesting(doc) > MAX_NESTING:
        return None
    if doc.get("Version") not in POLICY_VERSIONS and ("Version" in doc or version_required):
        return None
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not (isinstance(statements, list) and statements and all(map(_statement_ok, statements))):
        return None
    return doc


def repository_policy_text(text: str, field: str = "PolicyText") -> str:
    """``text`` as ECR stores a repository policy (:mod:`.policy_text`), or
    ``InvalidParameterException`` at ``field`` if it is not a valid one."""
    doc = parse_resource_policy(text)
    if doc is None:
        raise InvalidParameterException.at(field, "Invalid repository policy provided")
    return ecr_policy_text(doc)


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
    # `force` only skips ECR's lock-out check, which a fake without IAM has no reason to make.
    repo.policy_text = repository_policy_text(policyText)
    return {"registryId": repo.registry_id, "repositoryName": repo.name, "policyText": repo.policy_text}


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
