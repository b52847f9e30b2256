"""GetAuthorizationToken (spec §7) and the check the registry endpoint makes of a token."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from ..store import AuthToken, Store
from .context import Context
from .registry import operation

TOKEN_LIFETIME = 12 * 60 * 60


@operation("GetAuthorizationToken")
def get_authorization_token(ctx: Context, *, registryIds: list[str] | None = None) -> dict[str, Any]:
    expires_at = ctx.clock.now() + TOKEN_LIFETIME
    # Real passwords are long opaque base64 strings; clients must not assume a length.
    password = base64.b64encode(secrets.token_bytes(96)).decode("ascii")
    ctx.store.tokens[password] = AuthToken(ctx.account, ctx.region, expires_at, ctx.principal)
    token = base64.b64encode(f"AWS:{password}".encode()).decode("ascii")
    return {
        "authorizationData": [
            {
                "authorizationToken": token,
                "expiresAt": expires_at,
                "proxyEndpoint": ctx.registry_endpoint(registry_id, ctx.region),
            }
            for registry_id in dict.fromkeys(registryIds or [ctx.account])
        ]
    }


def token_grant(store: Store, authorization_token: str, now: float) -> AuthToken | None:
    """What a base64 ``AWS:<password>`` token grants at ``now``, or None if unknown or expired."""
    try:
        user, _, password = base64.b64decode(authorization_token, validate=True).decode().partition(":")
    except ValueError:
        return None
    grant = store.tokens.get(password) if user == "AWS" else None
    return grant if grant is not None and now < grant.expires_at else None
