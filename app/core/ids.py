"""Time-ordered UUIDv7 identifiers: good index locality and a natural creation order."""

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    return uuid7()
