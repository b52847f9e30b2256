"""Registry permissions policy: Put/Get/DeleteRegistryPolicy (spec §8.1), and what it grants.

The fake behaves as scope V2 (the only scope ECR still offers): any ECR action may appear in the
policy. The policy is checked with the same IAM grammar as repository policies. It matters to the
fake in one place: cross-account replication into this registry (:func:`allows`).
"""

from __future__ import annotations

from typing import Any

from ..store import Registry
from .access import ALLOW, decision
from .context import Context, root_principal
from .errors import InvalidParameterException, RegistryPolicyNotFoundException
from .policies import parse_resource_policy
from .registry import operation


def _not_found(registry_id: str) -> RegistryPolicyNotFoundException:
    return RegistryPolicyNotFoundException(
        f"Registry policy does not exist in the registry with id '{registry_id}'"
    )


@operation("PutRegistryPolicy")
def put_registry_policy(ctx: Context, *, policyText: str) -> dict[str, Any]:
    # Kept as sent, and Version required: no recording shows ECR rewriting a registry policy.
    if parse_resource_policy(policyText, version_required=True) is None:
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


def allows(reg: Registry, account: str, action: str) -> bool:
    """Whether ``reg``'s registry policy lets account ``account`` perform ``action`` (e.g.
    ``ecr:ReplicateImage``), as :func:`access.decision` reads a policy."""
    return decision(reg.registry_policy, root_principal(account, reg.region), action) == ALLOW
