from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from paddock.accounts import service as accounts


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2 at test strength (the production parameters cost ~150 ms per hash)."""
    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    yield
