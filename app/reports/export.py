"""Reports as JSON or, for spreadsheet users, as CSV (`Accept: text/csv`)."""

import csv
import io
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel
from starlette.responses import Response

from app.core.json import JsonResponse

CSV = "text/csv"
# Excel reads a UTF-8 file as the local code page unless it starts with a byte-order mark.
BOM = "\ufeff"
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_JSON_TYPES = ("application/json", "application/*", "*/*")

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report; with `Accept: text/csv`, its rows as CSV with a header line.",
        "content": {CSV: {"schema": {"type": "string"}}},
    }
}


def _preferences(accept: str) -> list[tuple[float, int, str]]:
    ranked = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked.append((quality, -position, media.lower()))
    return sorted(ranked, reverse=True)


def wants_csv(accept: str | None) -> bool:
    """True when the client prefers CSV to JSON (ties go to the type listed first)."""
    if not accept:
        return False
    for quality, _position, media in _preferences(accept):
        if quality <= 0:
            break
        if media == CSV or media.startswith(CSV + ";"):
            return True
        if media in _JSON_TYPES:
            return False
    return False


async def accept_csv(
    accept: Annotated[
        str | None,
        Header(description="`text/csv` for the rows as CSV; JSON otherwise."),
    ] = None,
) -> bool:
    return wants_csv(accept)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID | int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_text(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return BOM + out.getvalue()


def report_response(
    report: Mapping[str, Any], row_model: type[BaseModel], as_csv: bool, name: str
) -> Response:
    """The report as JSON, or its rows as a CSV download."""
    if not as_csv:
        return JsonResponse(report, headers={"Vary": "Accept"})
    period = report.get("period")
    suffix = f"_{period['from']}_{period['to']}" if period else ""
    return Response(
        csv_text(list(row_model.model_fields), report["rows"]),
        media_type=f"{CSV}; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}{suffix}.csv"',
            "Vary": "Accept",
        },
    )
