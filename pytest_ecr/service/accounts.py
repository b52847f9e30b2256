"""Account settings: GetAccountSetting / PutAccountSetting (spec §8.6)."""

from __future__ import annotations

from typing import Any

from .context import Context
from .errors import ValidationException
from .registry import operation

#: name -> (allowed values, default). Clair (BASIC_SCAN_TYPE_VERSION=CLAIR) and registry policy
#: scope V1 were removed from ECR, so a fake of today's service rejects them.
SETTINGS: dict[str, tuple[tuple[str, ...], str]] = {
    "BASIC_SCAN_TYPE_VERSION": (("AWS_NATIVE",), "AWS_NATIVE"),
    "REGISTRY_POLICY_SCOPE": (("V2",), "V2"),
    "BLOB_MOUNTING": (("ENABLED", "DISABLED"), "DISABLED"),
}


def _allowed(name: str) -> tuple[str, ...]:
    if name not in SETTINGS:
        raise ValidationException(
            f"Account setting name '{name}' is not supported; supported names: {', '.join(SETTINGS)}"
        )
    return SETTINGS[name][0]


def setting(ctx: Context, name: str) -> str:
    """The current value of an account setting in the caller's registry."""
    _allowed(name)
    return ctx.registry().account_settings.get(name, SETTINGS[name][1])


@operation("GetAccountSetting")
def get_account_setting(ctx: Context, *, name: str) -> dict[str, Any]:
    return {"name": name, "value": setting(ctx, name)}


@operation("PutAccountSetting")
def put_account_setting(ctx: Context, *, name: str, value: str) -> dict[str, Any]:
    allowed = _allowed(name)
    if value not in allowed:
        raise ValidationException(
            f"Account setting value '{value}' is not valid for '{name}'; valid values: {', '.join(allowed)}"
        )
    ctx.registry().account_settings[name] = value
    return {"name": name, "value": value}
