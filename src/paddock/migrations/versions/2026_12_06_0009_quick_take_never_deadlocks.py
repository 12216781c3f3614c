"""capacity_take()'s quick INSERT steps aside from a concurrent writer of the same unit

Two writers that picked the same free unit both ran the plain INSERT. An exclusion
constraint is checked after the row is in the table, so each found the other's uncommitted
row and waited for the other to end: a deadlock every time, which PostgreSQL broke only
after deadlock_timeout (1 s). Under contention for a few places these came one after another
(51 in a minute of the booking benchmark); requests waited seconds and some answered "busy".

The INSERT is now ON CONFLICT DO NOTHING. That is a speculative insertion: a writer that
meets another's row in progress takes its own back and waits for the other's outcome, so two
writers never wait on each other over one unit (and, taking units in unit order, never over
two). If a unit was taken meanwhile, fewer rows are inserted than wanted; the function then
raises exclusion_violation (23P01), as the plain INSERT did, and the caller asks again,
carefully. What is taken, in what order, and the careful way are unchanged.

Revision ID: 0009_quick_take_never_deadlocks
Revises: 0008_one_writer_per_key
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0009_quick_take_never_deadlocks"
down_revision: str | Sequence[str] | None = "0008_one_writer_per_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PLAIN_INSERT = """              FROM unnest(picks, pick_demands) AS t(unit, demand)
             ORDER BY t.unit;
            taken := picks;
            RETURN;"""

_STEPPING_ASIDE = """              FROM unnest(picks, pick_demands) AS t(unit, demand)
             ORDER BY t.unit
            ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS inserted = ROW_COUNT;
            IF inserted < wanted THEN
                RAISE EXCEPTION 'a unit was taken by a concurrent writer'
                    USING ERRCODE = 'exclusion_violation';
            END IF;
            taken := picks;
            RETURN;"""


def _capacity_take_0007() -> str:
    previous = context.script.get_revision("0007_probe_in_one_statement")
    assert previous is not None and previous.module is not None
    text: str = previous.module.CAPACITY_TAKE
    return text


_LAST_VARIABLE = "    also_busy integer[];\n"


def capacity_take() -> str:
    text = _capacity_take_0007()
    assert text.count(_PLAIN_INSERT) == 1 and text.count(_LAST_VARIABLE) == 1
    text = text.replace(_PLAIN_INSERT, _STEPPING_ASIDE)
    return text.replace(_LAST_VARIABLE, _LAST_VARIABLE + "    inserted integer;\n")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(capacity_take())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_capacity_take_0007())
