"""Registry permissions policy: Put/Get/DeleteRegistryPolicy (spec §8.1), and what it grants.

The fake behaves as scope V2 (the only scope ECR still offers): any ECR action may appear in the
policy. The policy is checked with the same IAM grammar as repository policies. It matters to the
fake in one place: cross-account replication into this registry (:func:`allows`).
"""

from __future__ import annotations

import json
from typing import Any

from ..store import Registry
from .context import Context
from .errors import InvalidParameterException, RegistryPolicyNotFoundException
from .policies import is_valid_resource_policy
from .registry import operation


def _not_found(registry_id: str) -> RegistryPolicyNotFoundException:
    return RegistryPolicyNotFoundException(
        f"Registry policy does not exist in the registry with id '{registry_id}'"
    )


@operation("PutRegistryPolicy")
def put_registry_policy(ctx: Context, *, policyText: str) -> dict[str, Any]:
    if not is_valid_resource_policy(policyText):
        raise InvalidParameterException.at("PolicyText", "Invalid registry policy provided")
    reg = ctx.registry()
    reg.registry_policy = policyText
    return {"registryId": reg.account, "policyText": policyText}


@operation("GetRegistryPolicy")
def get_registry_policy(ctx: Context) -> dict[str, Any]:
    reg = ctx.registry()
    if reg.registry_policy is None:
        raise _not_found(reg.account)
    return {"registryId": reg.account, "policyText": reg.registry_policy}


@operation("DeleteRegistryPolicy")
def delete_registry_policy(ctx: Context) -> dict[str, Any]:
    reg = ctx.registry()
    if reg.registry_policy is None:
        raise _not_found(reg.account)
    text, reg.registry_policy = reg.registry_policy, None
    return {"registryId": reg.account, "policyText": text}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(statement: dict[str, Any], account: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    names = {f"arn:aws:iam::{account}:root", account, "*"}
    return any(p in names for p in _as_list(principal.get("AWS", [])))


def _action_matches(statement: dict[str, Any], action: str) -> bool:
    wanted = {action.lower(), "ecr:*", "*"}
    return any(isinstance(a, str) and a.lower() in wanted for a in _as_list(statement.get("Action", [])))


def allows(reg: Registry, account: str, action: str) -> bool:
    """Whether ``reg``'s registry policy lets account ``account`` perform ``action`` (e.g.
    ``ecr:ReplicateImage``): an Allow statement naming the account (``arn:aws:iam::<id>:root``, the
    bare id, or ``*``) and the action (itself, ``ecr:*`` or ``*``), and no such Deny statement.
    ``NotPrincipal`` / ``NotAction`` / ``Condition`` statements grant nothing here."""
    if reg.registry_policy is None:
        return False
    statements = _as_list(json.loads(reg.registry_policy)["Statement"])
    relevant = [
        s
        for s in statements
        if "Condition" not in s and _principal_matches(s, account) and _action_matches(s, action)
    ]
    return any(s["Effect"] == "Allow" for s in relevant) and not any(s["Effect"] == "Deny" for s in relevant)
