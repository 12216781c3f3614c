"""Who changed what, when: an append-only trail written in the same transaction as the change."""
