"""Updates: an empty change is no change."""

from app.core.enums import Role
from tests.factories import make_customer, make_user


async def test_an_empty_patch_leaves_version_and_updated_at_alone(client, conn, settings):
    rep = await make_user(conn, settings, role=Role.rep)
    customer_id = await make_customer(conn, owner_id=rep.id, name="Steady")
    before = (await client.get(f"/api/v1/customers/{customer_id}", headers=rep.headers)).json()
    response = await client.patch(
        f"/api/v1/customers/{customer_id}", json={}, headers={**rep.headers, "If-Match": '"1"'}
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"1"'
    assert response.json()["updated_at"] == before["updated_at"]
    assert response.json()["version"] == before["version"] == 1
