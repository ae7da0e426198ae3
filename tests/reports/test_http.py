"""What every report shares: the period's validation, strict parameters, CSV answers."""

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from app.core.enums import Role
from app.reports.export import wants_csv
from app.reports.periods import Grouping, Period
from tests.factories import make_deal, make_lead, make_user
from tests.reports.helpers import at, pick, report

REPORTS = ["funnel", "sales", "sales/forecast", "channels", "customer-mix", "service"]


@pytest.fixture
async def director(conn, settings):  # type: ignore[no-untyped-def]
    return await make_user(conn, settings, role=Role.director)


@pytest.mark.parametrize("path", REPORTS)
async def test_period_is_validated(client, director, path):
    url = f"/api/v1/reports/{path}"

    async def status(**params: str) -> int:
        response = await client.get(url, params=params, headers=director.headers)
        if response.status_code != 200:
            assert response.headers["content-type"] == "application/problem+json"
        return response.status_code

    assert await status(**{"from": "2026-01-01", "to": "2026-01-01"}) == 422
    assert await status(**{"from": "2026-02-01", "to": "2026-01-01"}) == 422
    assert await status(**{"from": "2023-01-01", "to": "2026-01-01", "grouping": "year"}) == 200
    assert await status(**{"from": "2023-01-01", "to": "2026-01-02"}) == 422
    assert await status(**{"from": "2024-02-29", "to": "2027-03-01", "grouping": "year"}) == 200
    assert await status(**{"from": "2024-02-29", "to": "2027-03-02"}) == 422
    assert (
        await status(**{"from": "2026-01-01", "to": "2026-02-01", "grouping": "fortnight"}) == 422
    )
    assert await status(**{"from": "2026-13-01", "to": "2027-01-01"}) == 422
    assert await status(to="2026-02-01") == 400
    assert await status(**{"from": "2026-01-01", "to": "2026-02-01", "frm": "x"}) == 400
    assert await status(**{"from": "9999-12-01", "to": "9999-12-31", "grouping": "month"}) == 200


async def test_span_error_names_the_field(client, director):
    response = await client.get(
        "/api/v1/reports/funnel", params={"from": "2020-01-01", "to": "2026-01-01"},
        headers=director.headers,
    )  # fmt: skip
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "code": "period_too_long", "message": "at most 3 years", "field": "to",
    }  # fmt: skip


async def test_filters_are_typed(client, director):
    base = {"from": "2026-01-01", "to": "2026-02-01"}
    for path, params in [
        ("sales", {"by": "region"}),
        ("sales", {"tier": "gold"}),
        ("sales", {"owner_id": "nobody"}),
        ("funnel", {"channel": "tv"}),
        ("service", {"type": "outage"}),
        ("funnel", {"tier": "gold"}),
        ("customer-mix", {"product": "x"}),  # revenue and activities have no product
    ]:
        response = await client.get(
            f"/api/v1/reports/{path}", params={**base, **params}, headers=director.headers
        )
        assert response.status_code in (400, 422), (path, params, response.text)


@pytest.mark.parametrize("grouping", list(Grouping))
@pytest.mark.parametrize(
    ("first", "last"), [(date(1, 1, 1), date(1, 12, 31)), (date(9999, 1, 1), date(9999, 12, 31))]
)
async def test_every_report_and_grouping_at_the_ends_of_the_calendar(
    client, conn, director, grouping, first, last
):
    day = datetime.combine(last - timedelta(days=1), time(12), UTC)
    await make_lead(conn, owner_id=director.id, created_at=day)
    await make_deal(conn, owner_id=director.id, stage="won", closed_at=day, amount=Decimal("10.00"))
    params = {"from": first.isoformat(), "to": last.isoformat(), "grouping": grouping.value}
    buckets = [b.isoformat() for b in Period.checked(first, last, grouping).buckets()]
    for path in REPORTS:
        body = await report(client, path, director, **params)
        assert sorted({r["period_start"] for r in body["rows"]}) == buckets, path
    funnel = await report(client, "funnel", director, **params)
    assert pick(funnel["totals"], "count", step="leads") == [(1,)]
    assert pick(funnel["rows"], "period_start", step="leads", count=1) == [(buckets[-1],)]
    sales = await report(client, "sales", director, **params)
    assert pick(sales["totals"], "won_count", "won_amount") == [(1, "10.00")]


async def test_csv_is_the_rows_with_a_header_line(client, conn, director):
    owner = await make_user(conn, settings=None, role=Role.rep) if False else director
    await make_deal(
        conn, owner_id=owner.id, stage="won", closed_at=at("2026-01-10"),
        amount=Decimal("1234.50"), product="=HYPERLINK(\"x\")",
    )  # fmt: skip
    params = {"from": "2026-01-01", "to": "2026-03-01", "by": "product"}
    json_body = await report(client, "sales", director, **params)
    response = await client.get(
        "/api/v1/reports/sales", params=params, headers={**director.headers, "Accept": "text/csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="sales_2026-01-01_2026-03-01.csv"'
    )
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert lines[0] == list(json_body["rows"][0])
    assert len(lines) == 1 + len(json_body["rows"]) == 3
    january = dict(zip(lines[0], lines[1], strict=True))
    assert january["period_start"] == "2026-01-01"
    assert january["won_amount"] == "1234.50"
    assert january["owner_id"] == "" and january["median_sales_cycle_days"] != ""
    # A spreadsheet would run this cell as a formula; it is quoted as text instead.
    assert january["product"] == '\'=HYPERLINK("x")'
    assert json_body["rows"][0]["product"] == '=HYPERLINK("x")'


@pytest.mark.parametrize(
    ("accept", "csv_wanted"),
    [
        (None, False),
        ("text/csv", True),
        ("text/csv; charset=utf-8", True),
        ("application/json", False),
        ("*/*", False),
        ("application/json, text/csv", False),
        ("text/csv, application/json", True),
        ("application/json;q=0.5, text/csv", True),
        ("text/csv;q=0, */*", False),
        ("text/html, text/csv;q=0.9", True),
    ],
)
def test_accept_header_picks_csv_only_when_preferred(accept, csv_wanted):
    assert wants_csv(accept) is csv_wanted


async def test_every_report_answers_csv_with_its_row_fields(client, director):
    from app.reports import schemas

    models = {
        "funnel": schemas.FunnelRow, "sales": schemas.SalesRow,
        "sales/forecast": schemas.ForecastRow, "channels": schemas.ChannelRow,
        "customer-mix": schemas.MixRow, "service": schemas.ServiceRow,
        "service/open-tickets": schemas.OpenTicketsRow,
    }  # fmt: skip
    for path, model in models.items():
        params = {} if path.endswith("open-tickets") else {"from": "2026-01-01", "to": "2026-02-01"}
        response = await client.get(
            f"/api/v1/reports/{path}",
            params=params,
            headers={**director.headers, "Accept": "text/csv"},
        )
        assert response.status_code == 200, (path, response.text)
        assert response.headers["vary"] == "Accept"
        lines = response.text.removeprefix("\ufeff").splitlines()
        assert lines[0].split(",") == list(model.model_fields)
        json_body = await report(client, path, director, **params)
        assert len(lines) == 1 + len(json_body["rows"])
        for row in json_body["rows"]:
            assert list(row) == list(model.model_fields)
