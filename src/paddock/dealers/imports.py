"""Bulk import of invitees from CSV, with a per-row report and nothing half-imported.

Behaviour (documented in the API and CLI):
- By default an import is a dry run: every row is checked, nothing is written, the report says
  which rows would be taken and why the others would not.
- With `commit`, a file whose rows are all acceptable is written in one transaction; every
  invitee gets a personal single-use code.
- With `commit` and any rejected row, nothing is written (`ImportRefused`, carrying the report)
  unless `accept_partial` is also given: then the acceptable rows are written, together, and the
  rejected ones are listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from paddock import csv_files
from paddock.accounts.service import Scope
from paddock.dealers import rules
from paddock.dealers.campaigns import invited_emails, open_campaign, write_invitees
from paddock.errors import Invalid
from paddock.unit_of_work import read_only, write_transaction

MAX_ROWS = 10_000
MAX_BYTES = 5_000_000
ALIASES = {
    "name": "name",
    "full_name": "name",
    "fullname": "name",
    "guest_name": "name",
    "first_name": "first_name",
    "firstname": "first_name",
    "last_name": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "email": "email",
    "e_mail": "email",
    "mail": "email",
    "email_address": "email",
    "phone": "phone",
    "telephone": "phone",
    "mobile": "phone",
    "phone_number": "phone",
    "consent": "consent",
    "consent_marketing": "consent",
    "marketing_consent": "consent",
    "opt_in": "consent",
    "optin": "consent",
    "product": "product",
    "product_code": "product",
    "experience": "product",
    "note": "note",
    "notes": "note",
    "comment": "note",
    "comments": "note",
}


class ImportRefused(Invalid):
    """Some rows were rejected and a partial import was not accepted: nothing was written."""

    code = "import-refused"
    title = "Import refused: some rows were rejected"


@dataclass
class RowResult:
    line: int  # line in the file (the header is line 1)
    name: str
    email: str
    accepted: bool
    reasons: list[str] = field(default_factory=list)
    code: str = ""  # the personal code, once written

    def as_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "name": self.name,
            "email": self.email,
            "accepted": self.accepted,
            "reasons": self.reasons,
            "code": self.code,
        }


@dataclass
class ImportReport:
    campaign_id: int
    rows: list[RowResult]
    committed: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(r.accepted for r in self.rows)

    @property
    def rejected(self) -> int:
        return sum(not r.accepted for r in self.rows)

    @property
    def written(self) -> int:
        return sum(bool(r.code) for r in self.rows)

    def as_dict(self) -> dict[str, object]:
        return {
            "campaign_id": self.campaign_id,
            "committed": self.committed,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "written": self.written,
            "warnings": self.warnings,
            "rows": [r.as_dict() for r in self.rows],
        }


def decode(data: bytes) -> str:
    """An uploaded file as CSV text (csv_files.decode: UTF-8, any line ends, 422 otherwise)."""
    return csv_files.decode(data, max_bytes=MAX_BYTES)


def import_invitees(
    session: Session,
    *,
    scope: Scope,
    campaign_id: int,
    text: str,
    commit: bool = False,
    accept_partial: bool = False,
) -> ImportReport:
    """Check (and with `commit`, write) invitees from CSV text; see the module's behaviour."""
    with write_transaction(session) if commit else read_only(session):
        campaign = open_campaign(session, scope, campaign_id)
        products = {p.code for p in campaign.products}
        parsed, warnings = _parse(text)
        report = ImportReport(campaign.id, [], committed=False, warnings=warnings)
        clean: list[tuple[RowResult, rules.CleanInvitee]] = []
        first_line: dict[str, int] = {}
        for line, fields, problems in parsed:
            row = rules.InviteeIn(
                name=fields.get("name", ""),
                email=fields.get("email", ""),
                phone=fields.get("phone", ""),
                consent=fields.get("consent", ""),
                product=fields.get("product", ""),
                note=fields.get("note", ""),
            )
            cleaned, reasons = rules.check(row, products=products)
            reasons = problems + reasons
            result = RowResult(line, " ".join(row.name.split()), row.email.strip(), False)
            if cleaned is not None:
                seen = first_line.get(cleaned.email_key)
                if seen is not None:
                    reasons.append(f"duplicate of line {seen} (same e-mail)")
                else:
                    first_line[cleaned.email_key] = line
            result.reasons = reasons
            result.accepted = not reasons
            report.rows.append(result)
            if cleaned is not None and not reasons:
                clean.append((result, cleaned))
        already = invited_emails(session, campaign.id, [c.email_key for _, c in clean])
        for result, cleaned in clean:
            if cleaned.email_key in already:
                result.accepted = False
                result.reasons.append("already invited in this campaign")
        clean = [(r, c) for r, c in clean if r.accepted]
        if not commit:
            return report
        if report.rejected and not accept_partial:
            raise ImportRefused(
                f"{report.rejected} of {len(report.rows)} row(s) were rejected, so nothing was "
                "imported. Fix them, or import the others with accept_partial.",
                report=report.as_dict(),
            )
        if clean:
            written = write_invitees(
                session, campaign, [c for _, c in clean], source="import", actor=scope.actor
            )
            for (result, _), done in zip(clean, written, strict=True):
                result.code = done.code
        report.committed = True
    return report


def _parse(text: str) -> tuple[list[tuple[int, dict[str, str], list[str]]], list[str]]:
    """Rows as (line, fields by canonical column, problems) and file-level warnings."""
    text = csv_files.decode(text)
    if not text.strip():
        raise Invalid("The file is empty.")
    # Spreadsheets save with ',' or (in many locales) ';', sometimes tabs: the header decides.
    first_line = text.lstrip().splitlines()[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv_files.rows(text, delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise Invalid("The file has no header line (name,email,phone,consent,product,note).")
    columns: list[str | None] = []
    warnings: list[str] = []
    for raw in header:
        key = raw.strip().lower().replace(" ", "_").replace("-", "_")
        canonical = ALIASES.get(key)
        if canonical is None and key:
            warnings.append(f"column '{raw.strip()}' is not known and was ignored")
        columns.append(canonical)
    has_name = "name" in columns or ("first_name" in columns and "last_name" in columns)
    missing = [label for label, ok in (("name", has_name), ("email", "email" in columns)) if not ok]
    if missing:
        raise Invalid(
            f"The header lacks column(s): {', '.join(missing)}. Expected columns: "
            "name (or first_name and last_name), email, phone, consent, product, note."
        )
    rows: list[tuple[int, dict[str, str], list[str]]] = []
    line = 1
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue  # a blank line
        if len(rows) >= MAX_ROWS:
            raise Invalid(f"The file has more than {MAX_ROWS} rows; split it.")
        problems = []
        if len(values) > len(columns):
            problems.append(f"row has {len(values)} fields, the header {len(columns)}")
        fields: dict[str, str] = {}
        for column, value in zip(columns, values, strict=False):
            if column:
                fields[column] = value
        if "name" not in fields and ("first_name" in fields or "last_name" in fields):
            fields["name"] = f"{fields.get('first_name', '')} {fields.get('last_name', '')}"
        rows.append((line, fields, problems))
    if not rows:
        raise Invalid("The file has a header but no invitees.")
    return rows, warnings
