"""A quote version's content and the stored values the rules service prices it into.

The client sends lines, prices and discounts; every total, the effective discount and
the approval fingerprint are computed here from that content, never taken from the client.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from typing import Any

from app.core.errors import ErrorItem, InvalidInput
from app.core.gates import enforce
from app.rules.policy import DEFAULT_POLICY
from app.rules.quotes import (
    CONFLICT_CODES,
    QuoteLine,
    compute_totals,
    fingerprint,
    renewal_policy_discount_pct,
    validate_quote_inputs,
)

POLICY = DEFAULT_POLICY.quotes
# The largest amount kept exactly on every backend: the API's money (15 digits), which
# the embedded SQLite's REAL still holds to the cent.
MAX_AMOUNT = Decimal("9999999999999.99")


@dataclass(frozen=True)
class Content:
    """Everything an approval covers: what changes it changes the fingerprint."""

    lines: tuple[QuoteLine, ...]
    currency: str
    valid_until: date
    terms: str | None
    header_discount_pct: Decimal
    policy_discount_pct: Decimal
    policy_discount_reason: str | None

    @property
    def fingerprint(self) -> str:
        return fingerprint(
            self.lines,
            self.header_discount_pct,
            self.policy_discount_pct,
            self.currency,
            self.valid_until,
            self.terms,
        )


def rule_line(values: Mapping[str, Any]) -> QuoteLine:
    """A stored or submitted line as the rules service sees it (no description == "")."""
    return QuoteLine(
        quantity=Decimal(values["quantity"]),
        unit_list_price=Decimal(values["unit_list_price"]),
        line_discount_pct=Decimal(values["line_discount_pct"]),
        sku=values["sku"],
        description=values["description"] or "",
    )


def rule_lines(lines: Iterable[Mapping[str, Any]]) -> tuple[QuoteLine, ...]:
    return tuple(rule_line(line) for line in lines)


def renewal_discount(years: int | None) -> tuple[Decimal, str | None]:
    """The multi-year renewal policy discount and the reason shown beside it."""
    if years is None:
        return Decimal(0), None
    pct = renewal_policy_discount_pct(years, POLICY)
    return pct, f"multi-year renewal {years}y" if pct else None


def content_of(version: Mapping[str, Any], lines: Iterable[Mapping[str, Any]]) -> Content:
    return Content(
        lines=rule_lines(lines),
        currency=version["currency"],
        valid_until=version["valid_until"],
        terms=version["terms"],
        header_discount_pct=Decimal(version["header_discount_pct"]),
        policy_discount_pct=Decimal(version["policy_discount_pct"]),
        policy_discount_reason=version["policy_discount_reason"],
    )


def require_valid_until(valid_until: date, today: date) -> None:
    if valid_until < today:
        raise InvalidInput(
            f"valid_until {valid_until} is in the past; a quote must be valid at least today.",
            errors=[ErrorItem("quote.valid_until_past", "must be today or later", "valid_until")],
        )


def require_storable_amount(amount: Decimal, field: str) -> None:
    if amount > MAX_AMOUNT:
        raise InvalidInput(
            f"The {field} would be {amount}, above the largest amount kept ({MAX_AMOUNT}).",
            errors=[ErrorItem("amount_too_large", f"at most {MAX_AMOUNT}", field)],
        )


def _exact_list_total(lines: Iterable[QuoteLine]) -> Decimal:
    """Quantity x list price summed without rounding. Discounts never add, so this bounds
    every amount the quote stores — checked first, as an absurd amount would overflow the
    arithmetic itself."""
    with localcontext() as ctx:
        ctx.prec = 60
        return sum((line.quantity * line.unit_list_price for line in lines), Decimal(0))


def priced(content: Content) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The version columns and line rows to store for `content`."""
    enforce(
        validate_quote_inputs(
            content.lines, content.header_discount_pct, content.policy_discount_pct
        ),
        CONFLICT_CODES,
    )
    require_storable_amount(_exact_list_total(content.lines), "lines")
    totals = compute_totals(content.lines, content.header_discount_pct, content.policy_discount_pct)
    version = {
        "currency": content.currency,
        "valid_until": content.valid_until,
        "terms": content.terms,
        "header_discount_pct": content.header_discount_pct,
        "policy_discount_pct": content.policy_discount_pct,
        "policy_discount_reason": content.policy_discount_reason,
        "list_total": totals.list_total,
        "subtotal": totals.subtotal,
        "total": totals.total,
        "effective_discount_pct": totals.effective_discount_pct,
        "fingerprint": content.fingerprint,
    }
    lines = [
        {
            "position": position,
            "sku": line.sku,
            "description": line.description or None,
            "quantity": line.quantity,
            "unit_list_price": line.unit_list_price,
            "line_discount_pct": line.line_discount_pct,
            "line_list_total": total.list_amount,
            "line_net_total": total.net_amount,
        }
        for position, (line, total) in enumerate(zip(content.lines, totals.lines, strict=True), 1)
    ]
    return version, lines
