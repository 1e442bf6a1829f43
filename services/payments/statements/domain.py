"""How a statement reads, without I/O: its lines from the ledger sums, and its HTML and
PDF renderings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from fpdf import FPDF

from shared.templates import add_template_dir, template

TEMPLATES = Path(__file__).parent / "templates"
add_template_dir("payments-statements", TEMPLATES)  # once, at import


def line(row: Any) -> dict[str, Any]:
    """One statement line (as stored in the statement's content) from an item's sums."""
    return {
        "item_id": str(row.item_id) if row.item_id else None,
        "service_date": row.service_date.isoformat() if row.service_date else None,
        "description": row.description or ("Unapplied credit" if row.item_id is None else "Services"),
        "charges": str(Decimal(row.charges)),
        "insurance_paid": str(Decimal(row.insurance_paid)),
        "adjustments": str(Decimal(row.adjustments)),
        "patient_paid": str(Decimal(row.patient_paid)),
        "due": str(Decimal(row.due)),
    }


def render_html(statement: Any) -> str:
    """The statement as a web page (templates/statement.html; every value escaped)."""
    return template("payments-statements/statement.html").render(s=statement)


def render_pdf(statement: Any) -> bytes:
    """A one-page table of the statement's lines (fpdf2, Helvetica)."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Patient statement", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    heading = f"Account {statement.account_id}   Statement date {statement.statement_date}"
    pdf.cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        0, 6, f"Amount due {statement.amount_due:.2f} by {statement.due_date}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(4)
    widths = (24, 46, 22, 24, 24, 24, 22)
    headers = ("Date", "Item", "Charges", "Ins. paid", "Adjust.", "You paid", "You owe")
    pdf.set_font("Helvetica", "B", 9)
    for w, h in zip(widths, headers, strict=True):
        pdf.cell(w, 7, h, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for item in statement.content["lines"]:
        values = (
            item["service_date"] or "",
            item["description"][:28],
            item["charges"],
            item["insurance_paid"],
            item["adjustments"],
            item["patient_paid"],
            item["due"],
        )
        for w, v in zip(widths, values, strict=True):
            pdf.cell(w, 7, str(v), border=1)
        pdf.ln()
    return bytes(pdf.output())
