"""Small shared vocabulary of the rules service: checks, gate results and money rounding.

A rule never raises to say "no": it answers with a `GateResult` listing every unmet
`Check`, each with a stable machine code, so the API can render a whole checklist and a
UI can show it before anyone tries (docs/domain.md §3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Check:
    """One unmet rule: `code` is for machines (stable), `message` for people."""

    code: str
    message: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class GateResult:
    """The answer to "may this happen?": ok, or every reason why not."""

    ok: bool
    unmet: tuple[Check, ...] = ()

    @classmethod
    def from_checks(cls, unmet: Iterable[Check]) -> GateResult:
        checks = tuple(unmet)
        return cls(ok=not checks, unmet=checks)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(check.code for check in self.unmet)


def quantize_money(amount: Decimal) -> Decimal:
    """Round to cents, half up: the commercial rounding customers expect on an invoice."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def percent_text(value: Decimal) -> str:
    """A percentage as people read it in messages: always two decimals ("5.00")."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def require_aware(moment: datetime, name: str = "datetime") -> datetime:
    """Refuse naive datetimes: a rule comparing a naive and an aware instant is a silent bug."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")
    return moment
