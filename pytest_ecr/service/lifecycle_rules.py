"""Lifecycle policy text (spec §5.2, §5.3): parse, validate with ECR's messages, normalise.

ECR checks a policy against a JSON schema first (messages in the wording of the fge
json-schema-validator it uses), then against rules that span several rules. Every failure is an
InvalidParameterException at 'LifecyclePolicyText' whose constraint is
``Lifecycle policy validation failure: <detail>`` -- with no closing quote, as observed.

The stored and echoed text is re-serialised: compact JSON, rules in ascending ``rulePriority``,
keys in a canonical order, empty tag lists dropped (spec §5.1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import InvalidParameterException

MAX_RULES = 50
MAX_WILDCARDS = 4
#: "You cannot configure lifecycle policies that delete images that have been in archive for less
#: than 90 days"
MIN_ARCHIVE_DAYS = 90

TAG_STATUSES = ("any", "tagged", "untagged")
STORAGE_CLASSES = ("archive", "standard")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
COUNT_UNITS = ("days",)
ACTION_TYPES = ("expire", "transition")
TARGET_STORAGE_CLASSES = ("archive",)

_TOP = ("rules",)
_RULE = ("rulePriority", "description", "selection", "action")
_SELECTION = (
    "tagStatus",
    "tagPatternList",
    "tagPrefixList",
    "storageClass",
    "countType",
    "countUnit",
    "countNumber",
)
_ACTION = ("type", "targetStorageClass")

_RULE_REQUIRED = ("action", "rulePriority", "selection")
_SELECTION_REQUIRED = ("countNumber", "countType", "tagStatus")
_ACTION_REQUIRED = ("type",)

NOT_MAPPABLE = "Could not map policyString into LifecyclePolicy."
ONE_OF = "instance failed to match exactly one schema (matched 0 out of 2)"


@dataclass(frozen=True)
class Rule:
    """One validated rule, in the policy grammar's own (lower-case) vocabulary."""

    priority: int
    description: str | None
    tag_status: str
    tag_prefixes: tuple[str, ...]
    tag_patterns: tuple[str, ...]
    #: as written; None means the default, standard
    storage_class_given: str | None
    count_type: str
    count_unit: str | None
    count_number: int
    action: str
    target_storage_class: str | None

    @property
    def storage_class(self) -> str:
        return self.storage_class_given or "standard"

    def canonical(self) -> dict[str, Any]:
        selection: dict[str, Any] = {"tagStatus": self.tag_status}
        if self.tag_patterns:
            selection["tagPatternList"] = list(self.tag_patterns)
        if self.tag_prefixes:
            selection["tagPrefixList"] = list(self.tag_prefixes)
        if self.storage_class_given is not None:
            selection["storageClass"] = self.storage_class_given
        selection["countType"] = self.count_type
        if self.count_unit is not None:
            selection["countUnit"] = self.count_unit
        selection["countNumber"] = self.count_number
        action: dict[str, Any] = {"type": self.action}
        if self.target_storage_class is not None:
            action["targetStorageClass"] = self.target_storage_class
        rule: dict[str, Any] = {"rulePriority": self.priority}
        if self.description is not None:
            rule["description"] = self.description
        rule["selection"] = selection
        rule["action"] = action
        return rule


def invalid(detail: str) -> InvalidParameterException:
    # The real message has no closing quote after the detail (spec §5.3).
    return InvalidParameterException(
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
        f"'Lifecycle policy validation failure: {detail}"
    )


def _names(names: list[str] | tuple[str, ...]) -> str:
    return json.dumps(sorted(names), separators=(",", ":"))


def _missing(obj: dict[str, Any], required: tuple[str, ...]) -> None:
    missing = [name for name in required if name not in obj]
    if missing:
        raise invalid(f"object has missing required properties ({_names(missing)})")


def _unknown(obj: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = [name for name in obj if name not in allowed]
    if extra:
        raise invalid(
            f"object instance has properties which are not allowed by the schema: ({_names(extra)})"
        )


def _enum(value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise invalid(f"instance value ({value}) not found in enum :(possible values: {_names(allowed)})")


def _minimum(value: int, minimum: int = 1) -> None:
    if value < minimum:
        raise invalid(
            f"numeric instance is lower than the required minimum (minimum: {minimum}, found: {value})"
        )


def _has_null(value: Any) -> bool:
    # a walk with its own stack: a client's document may nest deeper than Python recurses
    pending = [value]
    while pending:
        item = pending.pop()
        if item is None:
            return True
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


_TYPES: dict[str, Any] = {
    "rulePriority": _is_int,
    "countNumber": _is_int,
    "tagPatternList": _is_str_list,
    "tagPrefixList": _is_str_list,
    "selection": lambda v: isinstance(v, dict),
    "action": lambda v: isinstance(v, dict),
}


def _mappable(obj: dict[str, Any]) -> bool:
    """Whether the known members of a rule, selection or action have the types ECR maps them to."""
    for name, value in obj.items():
        check = _TYPES.get(name)
        if check is not None:
            if not check(value):
                return False
        elif (name in _RULE or name in _SELECTION or name in _ACTION) and not isinstance(value, str):
            return False
    return True


def _check_mapping(doc: Any) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        raise invalid(NOT_MAPPABLE)
    if _has_null(doc):
        raise invalid(ONE_OF)
    _missing(doc, _TOP)
    rules = doc["rules"]
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise invalid(NOT_MAPPABLE)
    for rule in rules:
        parts = [rule, *(rule[k] for k in ("selection", "action") if isinstance(rule.get(k), dict))]
        if not all(_mappable(part) for part in parts):
            raise invalid(NOT_MAPPABLE)
    return rules


def _check_rule_schema(rule: dict[str, Any]) -> Rule:
    _missing(rule, _RULE_REQUIRED)
    _unknown(rule, _RULE)
    _minimum(rule["rulePriority"])
    selection: dict[str, Any] = rule["selection"]
    _missing(selection, _SELECTION_REQUIRED)
    _unknown(selection, _SELECTION)
    _enum(selection["tagStatus"], TAG_STATUSES)
    if "storageClass" in selection:
        _enum(selection["storageClass"], STORAGE_CLASSES)
    if "countUnit" in selection:
        _enum(selection["countUnit"], COUNT_UNITS)
    # Two sub-schemas: imageCountMoreThan without a unit, and the since* types with one.
    count_type = selection["countType"]
    if count_type not in COUNT_TYPES or ("countUnit" in selection) != (count_type != "imageCountMoreThan"):
        raise invalid(ONE_OF)
    _minimum(selection["countNumber"])
    action: dict[str, Any] = rule["action"]
    _missing(action, _ACTION_REQUIRED)
    _unknown(action, _ACTION)
    _enum(action["type"], ACTION_TYPES)
    if "targetStorageClass" in action:
        _enum(action["targetStorageClass"], TARGET_STORAGE_CLASSES)
    # Two sub-schemas again: expire without a target class, transition with one.
    if ("targetStorageClass" in action) != (action["type"] == "transition"):
        raise invalid(ONE_OF)
    return Rule(
        priority=rule["rulePriority"],
        description=rule.get("description"),
        tag_status=selection["tagStatus"],
        tag_prefixes=tuple(selection.get("tagPrefixList", ())),
        tag_patterns=tuple(selection.get("tagPatternList", ())),
        storage_class_given=selection.get("storageClass"),
        count_type=count_type,
        count_unit=selection.get("countUnit"),
        count_number=selection["countNumber"],
        action=action["type"],
        target_storage_class=action.get("targetStorageClass"),
    )


def _check_rule_semantics(rule: Rule) -> None:
    if rule.tag_status == "tagged" and not (rule.tag_prefixes or rule.tag_patterns):
        raise invalid("Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.")
    if rule.tag_status != "tagged" and (rule.tag_prefixes or rule.tag_patterns):
        raise invalid(
            f"tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED, "
            f"not tagStatus={rule.tag_status.upper()}"
        )
    if rule.tag_prefixes and rule.tag_patterns:
        raise invalid("Only one of tagPrefixList and tagPatternList can be specified in a rule.")
    for pattern in rule.tag_patterns:
        if pattern.count("*") > MAX_WILDCARDS:
            raise invalid(
                f"The tagPatternList string '{pattern}' has more than the maximum of {MAX_WILDCARDS} "
                "wildcards (*)"
            )
    if rule.count_type == "sinceImagePulled" and rule.action != "transition":
        raise invalid("countType sinceImagePulled can only be used with the transition action")
    if rule.count_type == "sinceImageTransitioned" and (
        rule.storage_class != "archive" or rule.action != "expire"
    ):
        raise invalid(
            "countType sinceImageTransitioned can only be used with storageClass archive and the expire action"
        )
    if rule.storage_class == "archive" and rule.count_type != "sinceImageTransitioned":
        raise invalid("storageClass archive can only be used with countType sinceImageTransitioned")
    if rule.count_type == "sinceImageTransitioned" and rule.count_number < MIN_ARCHIVE_DAYS:
        raise invalid(
            f"Images must be in archive storage for a minimum of {MIN_ARCHIVE_DAYS} days before deletion: "
            f"countNumber for sinceImageTransitioned must be at least {MIN_ARCHIVE_DAYS}"
        )


def _check_cross_rules(rules: list[Rule]) -> None:
    priorities = [r.priority for r in rules]
    if len(set(priorities)) != len(priorities):
        raise invalid("Rule priorities must be unique")
    for storage in STORAGE_CLASSES:
        of_class = [r for r in rules if r.storage_class == storage]
        if sum(r.tag_status == "untagged" for r in of_class) > 1:
            raise invalid("Only one rule can select Untagged images per storage class")
        lowest = max((r.priority for r in of_class), default=0)
        if any(r.tag_status == "any" and r.priority != lowest for r in of_class):
            raise invalid("Rule for tagStatus=ANY must have the lowest priority per storage class")
        seen: set[tuple[str, frozenset[str]]] = set()
        for r in of_class:
            if r.tag_status != "tagged":
                continue
            key = (
                ("prefix", frozenset(r.tag_prefixes))
                if r.tag_prefixes
                else ("pattern", frozenset(r.tag_patterns))
            )
            if key in seen:
                raise invalid(
                    "The rules selecting one storage class must contain a unique set of tag prefixes "
                    "or tag patterns"
                )
            seen.add(key)


def parse(text: str) -> list[Rule]:
    """The rules of a lifecycle policy, in ascending priority; InvalidParameterException if the
    text is not a valid policy."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # nesting too deep for the parser is malformed too
        raise invalid(NOT_MAPPABLE) from None
    raw_rules = _check_mapping(doc)
    _unknown(doc, _TOP)
    if not raw_rules:
        raise invalid("array is too short: must have at least 1 elements but instance has 0 elements")
    if len(raw_rules) > MAX_RULES:
        raise invalid(
            f"array is too long: must have at most {MAX_RULES} elements but instance has "
            f"{len(raw_rules)} elements"
        )
    rules = [_check_rule_schema(raw) for raw in raw_rules]
    for rule in rules:
        _check_rule_semantics(rule)
    _check_cross_rules(rules)
    return sorted(rules, key=lambda r: r.priority)


def normalise(rules: list[Rule]) -> str:
    """The text ECR stores and returns for validated rules."""
    return json.dumps(
        {"rules": [r.canonical() for r in sorted(rules, key=lambda r: r.priority)]},
        separators=(",", ":"),
        ensure_ascii=False,
    )
