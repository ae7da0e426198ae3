"""lead creators; phone keys in E.164

`leads.created_by` names the user who captured a lead (they keep read access when routing
gives it to someone else), filled in for existing leads from their audit entry. The phone
duplicate-detection keys of leads and contacts are rewritten in E.164 (`+8613812345678`),
read with libphonenumber in SALESFLOW_DEFAULT_PHONE_REGION; a phone that is not a valid
number gets no key. Downgrading writes the keys as the earlier releases computed them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 12:00:00.000000
"""

import re
import unicodedata
from collections.abc import Callable, Sequence

import phonenumbers
import sqlalchemy as sa

from alembic import op
from app.core.config import get_settings

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PHONE_TABLES = ("leads", "contacts")
_BATCH = 1000
_CHINESE_EXTENSION = re.compile(r"\s*(?:转|分机)\s*\d+\s*$")


def _e164(raw: str, region: str) -> str | None:
    text = _CHINESE_EXTENSION.sub("", unicodedata.normalize("NFKC", raw)).strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_OLD_EXTENSION = re.compile(r"\s*(?:ext\.?|x|#|转|分机)\s*\d+\s*$", re.IGNORECASE)


def _old_key(raw: str) -> str | None:
    """The key of revisions before this one: digits, Chinese numbers national."""
    number = _OLD_EXTENSION.sub("", unicodedata.normalize("NFKC", raw)).strip()
    digits = re.sub(r"[^0-9]", "", number)
    international = bool(re.match(r"[^0-9]*\+", number))
    if not international and digits.startswith("00"):
        international, digits = True, digits[2:]
    if international and not digits.startswith("86"):
        return digits if len(digits) >= 7 else None
    if international or (len(digits) == 13 and digits.startswith("861")):
        digits = digits[2:]
    national = digits.lstrip("0")
    return national if len(national) >= 7 else None


def _rewrite_phone_keys(key: Callable[[str], str | None]) -> None:
    bind = op.get_bind()
    for name in _PHONE_TABLES:
        table = sa.table(
            name,
            sa.column("id", sa.Uuid()),
            sa.column("phone", sa.String()),
            sa.column("phone_normalized", sa.String()),
        )
        rows = bind.execute(
            sa.select(table.c.id, table.c.phone, table.c.phone_normalized).where(
                table.c.phone.is_not(None)
            )
        ).all()
        changed = [
            {"row_id": ident, "new_key": new}
            for ident, phone, old in rows
            if (new := key(phone)) != old
        ]
        update = (
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values(phone_normalized=sa.bindparam("new_key"))
        )
        for start in range(0, len(changed), _BATCH):
            bind.execute(update, changed[start : start + _BATCH])


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("created_by", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_leads_created_by_users"), "users", ["created_by"], ["id"]
        )
    leads = sa.table("leads", sa.column("id", sa.Uuid()), sa.column("created_by", sa.Uuid()))
    audit = sa.table(
        "audit_log",
        sa.column("at"),
        sa.column("actor_type", sa.String()),
        sa.column("actor_id", sa.Uuid()),
        sa.column("action", sa.String()),
        sa.column("entity_type", sa.String()),
        sa.column("entity_id", sa.Uuid()),
    )
    users = sa.table("users", sa.column("id", sa.Uuid()))
    creator = (
        sa.select(audit.c.actor_id)
        .where(
            audit.c.entity_type == "lead",
            audit.c.entity_id == leads.c.id,
            audit.c.action == "create",
            audit.c.actor_type == "user",
            audit.c.actor_id.in_(sa.select(users.c.id)),
        )
        .order_by(audit.c.at)
        .limit(1)
        .scalar_subquery()
    )
    op.execute(leads.update().values(created_by=creator))
    region = get_settings().default_phone_region
    _rewrite_phone_keys(lambda phone: _e164(phone, region))


def downgrade() -> None:
    _rewrite_phone_keys(_old_key)
    with op.batch_alter_table("leads") as batch:
        batch.drop_constraint(op.f("fk_leads_created_by_users"), type_="foreignkey")
        batch.drop_column("created_by")
