"""The app's background work for the CRM and the KPIs: link new bookings to people, empty the
webhook outbox and fold the KPI rollup's deltas, every few seconds, in a worker thread so
requests never wait for it. Several app processes may run it at once: linking is idempotent,
dispatchers lease their events and one compaction runs at a time."""

from __future__ import annotations

import asyncio
import logging

import httpx
from fastapi import FastAPI

from paddock.crm import people
from paddock.rollup import service as rollup
from paddock.webhooks import outbound
from paddock.webhooks import service as webhooks

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 10.0


async def run(app: FastAPI, interval: float = INTERVAL_SECONDS) -> None:
    client = outbound.client(allow_private=app.state.settings.webhook_allow_private)
    try:
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(_pass, app, client)
            except Exception:  # a passing database or network error must not stop the loop
                log.exception("CRM background pass failed")
    finally:
        client.close()


def _pass(app: FastAPI, client: httpx.Client) -> None:
    with app.state.session_factory() as session:
        people.link_bookings(session)
    with app.state.session_factory() as session:
        webhooks.dispatch(session, client=client)
    with app.state.session_factory() as session:
        rollup.compact(session)
