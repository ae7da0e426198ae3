"""Requests for wrk: tokens the service accepts, a Lua data file wrk can load."""

import uuid

import pytest

from app.core.config import Settings
from app.core.security import read_access_token
from bench.config import JWT_SECRET
from bench.prepare import Request, RequestSet, _fill, lua_string, token_for
from bench.scenarios import BY_NAME, SCENARIOS


def test_minted_tokens_are_accepted_by_the_service_with_the_bench_secret():
    user = uuid.uuid4()
    token = token_for(user)
    assert token.startswith("Bearer ")
    assert read_access_token(Settings(jwt_secret=JWT_SECRET), token[7:]).user_id == user
    assert (
        read_access_token(Settings(jwt_secret="another-secret-entirely-32-bytes-long"), token[7:])
        is None
    )


def test_templates_fill_urls_quoted_and_bodies_verbatim():
    sample = {"q": "hua tong", "as_user": "u-1"}
    assert _fill("/api/v1/customers?q=$q", sample, quote=True) == "/api/v1/customers?q=hua%20tong"
    assert _fill('{"owner_id": "$as_user"}', sample, quote=False) == '{"owner_id": "u-1"}'


def test_lua_data_file_shares_tokens_and_escapes_strings():
    scenario = BY_NAME["create_lead"]
    requests = RequestSet(
        scenario,
        [Request("/api/v1/leads", "Bearer t1", '{"a": "quote \\" here"}', {}),
         Request("/api/v1/leads", "Bearer t1", None, {})],
    )  # fmt: skip
    lua = requests.lua(threads=2)
    assert 'method = "POST"' in lua and "idempotent = true" in lua
    assert lua.count('"Bearer t1"') == 1  # one token table entry, referenced by index
    assert '{"/api/v1/leads", 1, nil}' in lua
    with pytest.raises(ValueError):
        lua_string("客户")


def test_scenarios_are_unique_and_writes_clean_up_after_themselves():
    names = [s.name for s in SCENARIOS]
    assert len(names) == len(set(names))
    for scenario in SCENARIOS:
        assert scenario.route.startswith("/api/v1/") and scenario.url.startswith("/api/v1/")
        assert "as_user" in scenario.samples
        if scenario.kind == "write":
            assert scenario.purge, scenario.name
        if scenario.sequential:
            assert scenario.restore, f"{scenario.name} changes records it must put back"
