"""Signed webhooks to dealers' CRMs, written to an outbox in the booking's own transaction.

Its PostgreSQL functions are whole in sql/, one file each: to change one, edit its file and
add a migration with a frozen copy (README, Design).
"""
