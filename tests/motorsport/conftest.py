"""The motorsport demo world (late 2023) in a migrated database, for service, API and CLI tests."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from paddock.bootstrap import register_domains
from paddock.demo.motorsport import load_motorsport

JOTA = "jota-wec-2024-additional-car"
PROTON = "proton-wec-2024-additional-car"
JDC = "jdc-miller-imsa-2024-spare-car"


@pytest.fixture
def demo(session: Session) -> Session:
    register_domains()
    load_motorsport(session)
    session.commit()
    return session
