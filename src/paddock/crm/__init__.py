"""People (clients and prospects), consents, visits, vehicles, deliveries, sales and conversions.

Use cases by module, behind the `service` facade: people (find, create, link to bookings),
merge, privacy (export, erase), sales and conversions, deliveries. A new use case goes in the
module of its aggregate (or a new one, re-exported by `service`), writing through
`paddock.unit_of_work`; its route in `api.py`, mapped by `schemas.py`.
"""
