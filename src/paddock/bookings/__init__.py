"""Guests' bookings of products: hold, confirm, check in, complete, cancel, no-show, move.

Booking is linear: a frozen `BookingRequest` built at the edge, its `BookingSnapshot` read
once (drafts.py), a pure draft, and the engine's store (store.py: PostgreSQL or SQLite, chosen
once per engine) that writes it; `service.book` runs them, `service.create_booking` takes the
request's arguments as keywords.

Its PostgreSQL functions are whole in sql/, one file each: to change one, edit its file and
add a migration with a frozen copy (README, Design).
"""
