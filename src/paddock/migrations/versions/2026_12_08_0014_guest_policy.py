"""Guest policy: invitation code keys, pools' public wording, cancellation policies, the
centre's phone, and consents with the version of their wording

- invitation_code.code_key: what any typing of the code comes to (letters and digits, upper
  case, O as 0, I and L as 1), unique: looked up by, and no two codes read alike. Existing
  rows get their key; should two old codes already read alike, the later one's key is
  marked "~<id>" (kept, listed and revocable; a guest's typing reaches the first).
- pool.public_name: what guests read about a pool; existing rows get a wording derived from
  their kind (a car model's name + " cars").
- product.free_cancel_hours (24) and product.late_cancel_fee_cents (NULL: the whole price).
- site.phone: the front desk's number, for guests past the cancellation deadline.
- person_consent.version and the purpose 'terms' (accepted with each booking).

Columns are added in place on SQLite (ALTER TABLE ADD COLUMN): only person_consent, which no
table refers to, is copied to change its check. Down drops them; the 'terms' consents go.

Revision ID: 0014_guest_policy
Revises: 0012_date_columns_named_on
Create Date: 2026-12-08 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_guest_policy"
down_revision: str | Sequence[str] | None = "0013_mail_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies (this migration never reads the package's code, which may change).
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
KIND_WORDING = {
    "module": "track time",
    "seat": "classroom seats",
    "coach": "driving coaches",
    "simulator": "simulators",
    "bay": "handover bays",
    "dealer_allotment": "test-drive places on your dealer's invitation",
    "customer_vehicle": "places",
}
OLD_PURPOSES = "purpose IN ('marketing_email', 'phone', 'dealer_sharing')"
NEW_PURPOSES = "purpose IN ('marketing_email', 'phone', 'dealer_sharing', 'terms')"


def _key(code: str) -> str:
    kept = "".join(ch for ch in code.upper() if ch.isascii() and ch.isalnum())
    return kept.translate(_LOOK_ALIKES)


def _wording(kind: str, name: str) -> str:
    if kind == "vehicle_model":
        return f"{name} cars"[:200]
    return KIND_WORDING.get(kind, "places")


def upgrade() -> None:
    op.add_column(
        "invitation_code", sa.Column("code_key", sa.String(40), nullable=False, server_default="")
    )
    op.add_column(
        "pool", sa.Column("public_name", sa.String(200), nullable=False, server_default="")
    )
    op.add_column(
        "product",
        sa.Column("free_cancel_hours", sa.Integer(), nullable=False, server_default="24"),
    )
    op.add_column("product", sa.Column("late_cancel_fee_cents", sa.Integer(), nullable=True))
    op.add_column("site", sa.Column("phone", sa.String(40), nullable=False, server_default=""))
    op.add_column(
        "person_consent",
        sa.Column("version", sa.String(32), nullable=False, server_default=""),
    )
    conn = op.get_bind()
    codes = sa.table("invitation_code", sa.column("id"), sa.column("code"), sa.column("code_key"))
    seen: set[str] = set()
    keys = []
    for row in conn.execute(sa.select(codes.c.id, codes.c.code).order_by(codes.c.id)):
        key = _key(row.code)
        if key in seen:
            key = f"{key[:30]}~{row.id}"
        seen.add(key)
        keys.append({"row_id": row.id, "key": key})
    if keys:
        conn.execute(
            codes.update()
            .where(codes.c.id == sa.bindparam("row_id"))
            .values(code_key=sa.bindparam("key")),
            keys,
        )
    op.create_index("uq_invitation_code_code_key", "invitation_code", ["code_key"], unique=True)
    pools = sa.table(
        "pool", sa.column("id"), sa.column("kind"), sa.column("name"), sa.column("public_name")
    )
    wordings = [
        {"row_id": r.id, "wording": _wording(r.kind, r.name)}
        for r in conn.execute(sa.select(pools.c.id, pools.c.kind, pools.c.name))
    ]
    if wordings:
        conn.execute(
            pools.update()
            .where(pools.c.id == sa.bindparam("row_id"))
            .values(public_name=sa.bindparam("wording")),
            wordings,
        )
    with op.batch_alter_table("person_consent") as batch_op:
        batch_op.drop_constraint(op.f("ck_person_consent_purpose_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_person_consent_purpose_known"), NEW_PURPOSES)


def downgrade() -> None:
    op.execute("DELETE FROM person_consent WHERE purpose = 'terms'")
    with op.batch_alter_table("person_consent") as batch_op:
        batch_op.drop_constraint(op.f("ck_person_consent_purpose_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_person_consent_purpose_known"), OLD_PURPOSES)
        batch_op.drop_column("version")
    op.drop_index("uq_invitation_code_code_key", table_name="invitation_code")
    for table, column in (
        ("invitation_code", "code_key"),
        ("pool", "public_name"),
        ("product", "free_cancel_hours"),
        ("product", "late_cancel_fee_cents"),
        ("site", "phone"),
    ):
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
