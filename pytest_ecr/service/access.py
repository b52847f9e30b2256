"""Who may act on a repository: resource-based policies, checked where a request enters.

ECR authorizes with IAM. An explicit Deny in an applicable policy refuses the request. Otherwise a
caller of the registry's own account is allowed when its identity policies allow it (the fake
models no identity policies: every caller may do everything in its own account), and a caller of
another account also needs the repository's policy to allow it (the registry's policy, to create a
repository there).

Policies are evaluated as IAM does for what needs no request context: ``Principal`` (``*``, an
account id, the account's root ARN, a role or user ARN, a role's assumed-role sessions) and
``Action`` (with IAM's ``*`` and ``?`` wildcards, case-insensitive). A statement with
``Condition``, ``NotPrincipal`` or ``NotAction`` depends on context the fake does not have: it
applies to no request (its Allow grants nothing, its Deny refuses nothing).

Only requests from clients are checked (``dispatch``); the fake's own work (replication, lifecycle
runs, the helpers on ``FakeECR``) acts as ECR itself.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from typing import Any

from .context import Context, repository_arn
from .errors import ECRError

ALLOW, DENY = "Allow", "Deny"

_REPOSITORY_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:ecr:[a-z0-9-]+:([0-9]{12}):repository/(.+)")
_ASSUMED_ROLE = re.compile(r"arn:(aws(?:-[a-z]+)*):sts::([0-9]{12}):assumed-role/([^/]+)/.+")


class AccessDeniedException(ECRError):
    """IAM's refusal (not an error of ECR's model: botocore raises it as a plain ClientError)."""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@functools.cache
def _action_pattern(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _names(principal: str) -> set[str]:
    """What a policy's ``Principal.AWS`` may say to name ``principal``."""
    account = principal.split(":")[4]
    names = {"*", account, principal}
    names.update(f"arn:{partition}:iam::{account}:root" for partition in ("aws", "aws-cn", "aws-us-gov"))
    return names


def _names_role_of(entry: str, principal: str) -> bool:
    """An assumed-role session is named by its role's ARN (whatever the role's path)."""
    session = _ASSUMED_ROLE.fullmatch(principal)
    if session is None:
        return False
    partition, account, role = session.groups()
    prefix = f"arn:{partition}:iam::{account}:role/"
    return entry.startswith(prefix) and entry.rsplit("/", 1)[-1] == role


def _applies(statement: Any, principal: str, action: str) -> bool:
    if not isinstance(statement, dict) or {"Condition", "NotPrincipal", "NotAction"} & statement.keys():
        return False
    named = statement.get("Principal")
    if named != "*":
        entries = _as_list(named.get("AWS", [])) if isinstance(named, dict) else []
        names = _names(principal)
        if not any(isinstance(e, str) and (e in names or _names_role_of(e, principal)) for e in entries):
            return False
    patterns = _as_list(statement.get("Action", []))
    return any(isinstance(p, str) and _action_pattern(p).fullmatch(action) for p in patterns)


def decision(policy_text: str | None, principal: str, action: str) -> str | None:
    """``DENY`` if a statement of the policy denies ``principal`` the ``action`` (``ecr:...``),
    else ``ALLOW`` if one allows it, else None."""
    if policy_text is None:
        return None
    statements = _as_list(json.loads(policy_text).get("Statement", []))
    effects = {s.get("Effect") for s in statements if _applies(s, principal, action)}
    return DENY if DENY in effects else ALLOW if ALLOW in effects else None


def _targets(ctx: Context, operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The (registry account, repository name) pairs a request acts on; ``*`` for all of them."""
    if "repositoryName" in params:
        yield params.get("registryId") or ctx.account, params["repositoryName"]
    elif operation == "DescribeRepositories":
        account = params.get("registryId") or ctx.account
        for name in params.get("repositoryNames") or ["*"]:
            yield account, name
    elif "resourceArn" in params:  # TagResource, UntagResource, ListTagsForResource
        match = _REPOSITORY_ARN.fullmatch(params["resourceArn"])
        if match is not None:
            yield match.group(1), match.group(2)


def check(ctx: Context, operation: str, params: dict[str, Any]) -> None:
    """Raise :class:`AccessDeniedException` when the caller may not make this request."""
    action = f"ecr:{operation}"
    for account, name in _targets(ctx, operation, params):
        # Looked up, not created: a check must not add a registry for any id a caller names.
        registry = ctx.store.registries.get((account, ctx.region))
        if registry is None:
            policy = None
        elif operation == "CreateRepository":
            policy = registry.registry_policy
        else:
            repo = registry.repositories.get(name)
            policy = repo.policy_text if repo is not None else None
        verdict = decision(policy, ctx.principal, action)
        if verdict == ALLOW or (verdict is None and account == ctx.account):
            continue
        reason = (
            "with an explicit deny in a resource-based policy"
            if verdict == DENY
            else f"because no resource-based policy allows the {action} action"
        )
        resource = repository_arn(account, ctx.region, name)
        raise AccessDeniedException(
            f"User: {ctx.principal} is not authorized to perform: {action} on resource: {resource} {reason}"
        )
