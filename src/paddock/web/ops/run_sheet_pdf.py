"""The day's run sheet as a PDF (fpdf2): one table, landscape A4, the site's local times.

fpdf2's built-in fonts cover Latin-1; a character beyond it prints as "?" rather than fail."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fpdf import FPDF

from paddock.bookings.desk import RunSheet

COLUMNS = (
    ("Time", 22),
    ("Ref", 24),
    ("Status", 22),
    ("Experience", 48),
    ("Guest", 46),
    ("Phone", 34),
    ("Units", 66),
)


def _text(value: str) -> str:
    return value.encode("latin-1", "replace").decode("latin-1")


def run_sheet_pdf(sheet: RunSheet, *, title: str = "Run sheet") -> bytes:
    zone = ZoneInfo(sheet.time_zone)
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(_text(f"{title} {sheet.site_name} {sheet.day.isoformat()}"))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=15)
    pdf.cell(0, 9, _text(f"{title} - {sheet.site_name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    summary = f"{sheet.day.strftime('%A %d %B %Y')} ({sheet.time_zone}) - "
    summary += f"{len(sheet.lines)} booking{'s' if len(sheet.lines) != 1 else ''}"
    pdf.cell(0, 6, _text(summary), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    with pdf.table(
        col_widths=tuple(width for _, width in COLUMNS),
        text_align="LEFT",
        line_height=5.5,
        first_row_as_headings=True,
    ) as table:
        header = table.row()
        for name, _ in COLUMNS:
            header.cell(name)
        for line in sheet.lines:
            row = table.row()
            start = line.starts_at.astimezone(zone).strftime("%H:%M")
            end = line.ends_at.astimezone(zone).strftime("%H:%M")
            guest = line.guest_name + (f"\n{line.notes}" if line.notes else "")
            for value in (
                f"{start}-{end}",
                line.ref,
                line.status.replace("_", " "),
                line.product,
                guest,
                line.guest_phone or "-",
                ", ".join(line.units),
            ):
                row.cell(_text(value))
    if not sheet.lines:
        pdf.ln(4)
        pdf.cell(0, 6, "No bookings this day.")
    return bytes(pdf.output())
