"""Signed webhooks to dealers' CRMs, written to an outbox in the booking's own transaction."""
