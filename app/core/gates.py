"""Turning a rules-service `GateResult` into the API's error: 409 or 422, every check listed."""

from collections.abc import Iterable, Mapping

from app.core.errors import Conflict, ErrorItem, Forbidden, RuleViolation
from app.rules.common import Check, GateResult


def error_items(
    checks: Iterable[Check], fields: Mapping[str, str] | None = None
) -> list[ErrorItem]:
    """The checks as API error items; `fields` renames rule-side fact names to API fields."""
    fields = fields or {}
    return [
        ErrorItem(check.code, check.message, fields.get(check.field or "", check.field))
        for check in checks
    ]


def refusal(
    result: GateResult,
    conflict_codes: frozenset[str],
    *,
    detail_prefix: str = "",
    fields: Mapping[str, str] | None = None,
    forbidden_codes: frozenset[str] = frozenset(),
) -> Conflict | Forbidden | RuleViolation:
    """The error for an unmet gate.

    A check about who is asking (one of `forbidden_codes`) makes it a 403 — only someone
    else can do this; one about the record's current state (one of `conflict_codes`) a
    409 — retrying will not help until the state changes; any other unmet rule is a 422.
    Either way the client gets every unmet check, so a UI can show the whole checklist.
    """
    error: type[Conflict | Forbidden | RuleViolation] = RuleViolation
    if forbidden_codes.intersection(result.codes):
        error = Forbidden
    elif conflict_codes.intersection(result.codes):
        error = Conflict
    detail = detail_prefix + " ".join(check.message for check in result.unmet)
    return error(detail, errors=error_items(result.unmet, fields))


def enforce(
    result: GateResult,
    conflict_codes: frozenset[str],
    *,
    detail_prefix: str = "",
    fields: Mapping[str, str] | None = None,
) -> None:
    """Raise the gate's refusal unless it passed."""
    if not result.ok:
        raise refusal(result, conflict_codes, detail_prefix=detail_prefix, fields=fields)
