"""How a statement reads, without I/O: its visits from the ledger's sums and the claims'
procedures, what the patient's share is for, and its HTML and PDF renderings.

A statement is a document: its `content` keeps what it said when issued (the practice, the
remit-to, the visits, the totals), so it renders the same later. Money is shown as the
patient reads it: positive amounts with a label ("Insurance paid $68.00")."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from shared.templates import add_template_dir, template

TEMPLATES = Path(__file__).parent / "templates"
add_template_dir("payments-statements", TEMPLATES)  # once, at import
PROCEDURES = Path(__file__).resolve().parents[1] / "data" / "procedures.csv"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Why the patient owes their share, from the 835's CAS group PR reason codes (CARC 1, 2, 3).
SHARE_LABELS = (
    ("deductible", "Deductible", "what you pay each plan year before your insurance starts to pay"),
    ("coinsurance", "Coinsurance", "your percentage of the allowed amount"),
    ("copay", "Copay", "the fixed amount your plan sets for this kind of visit"),
    ("other_share", "Not covered", "services your plan does not cover or that are your responsibility"),
)


def money(value: Decimal | str | int) -> Decimal:
    return Decimal(value).quantize(CENT)


def usd(value: Decimal | str) -> str:
    """$1,234.56 (a negative as -$1.00)."""
    amount = money(value)
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def day(value: date | str) -> str:
    """Jan 5, 2026: how a patient reads a date."""
    d = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{d:%b} {d.day}, {d.year}"


@cache
def procedure_labels() -> dict[str, str]:
    """The practice's plain-language label of each procedure code it bills (data/procedures.csv)."""
    with PROCEDURES.open(newline="") as f:
        return {row["code"]: row["label"] for row in csv.DictReader(f)}


def procedure(code: str, charge: Decimal | str) -> dict[str, str]:
    """One procedure of a visit as the patient reads it: 'Blood draw (36415)'."""
    label = procedure_labels().get(code, "Medical service")
    return {"code": code, "description": f"{label} ({code})", "charge": str(money(charge))}


def _procedure_of(line: dict[str, Any]) -> dict[str, str]:
    """A claim line as the patient reads it; a hospital line billed by revenue code alone (837I,
    no procedure code) by its revenue code: 'Hospital services (revenue code 0120)'."""
    if line.get("code"):
        return procedure(line["code"], line["charge"])
    rev = line.get("revenue_code") or "unknown"
    return {
        "code": rev,
        "description": f"Hospital services (revenue code {rev})",
        "charge": str(money(line["charge"])),
    }


@dataclass
class Visit:
    """One item the patient owes on: a claim's visit, a self-pay charge, or unapplied credit."""

    item_id: str | None
    service_date: str | None
    description: str
    procedures: list[dict[str, str]]
    insurer: str | None
    sums: dict[str, Decimal]

    def as_content(self) -> dict[str, Any]:
        s = self.sums
        share = [
            {"reason": key, "label": label, "amount": str(s[key])} for key, label, _ in SHARE_LABELS if s[key]
        ]
        return {
            "item_id": self.item_id,
            "service_date": self.service_date,
            "description": self.description,
            "procedures": self.procedures,
            "insurer": self.insurer,
            "your_share": share,
            **{k: str(s[k]) for k in ("charges", "insurance_paid", "adjustments", "insurance_pending")},
            "patient_paid": str(s["patient_paid"]),
            "due": str(s["due"]),
        }


def visit(row: Any, claim: Any | None) -> Visit:
    """A statement visit from an item's ledger sums and, for a claim, what it billed and to whom."""
    sums = {
        k: money(getattr(row, k))
        for k in ("charges", "insurance_paid", "adjustments", "patient_paid", "insurance_pending", "due")
    }
    sums.update({key: money(getattr(row, key)) for key, _, _ in SHARE_LABELS})
    procedures = [_procedure_of(line) for line in (claim.lines if claim else [])]
    if procedures:
        description = "; ".join(p["description"] for p in procedures)
    elif row.item_id is None:
        description = "Payments not yet applied"
    else:
        description = row.description or "Services"
    service_date = row.service_date.isoformat() if row.service_date else None
    return Visit(
        str(row.item_id) if row.item_id else None,
        service_date,
        description,
        procedures,
        claim.payer_name if claim else None,
        sums,
    )


def apply_credit(visits: list[Visit]) -> list[Visit]:
    """Money the patient paid that is not applied to a visit yet (a copay taken at check-in,
    before the insurer said what the patient owes) shows against the oldest visits first, as a
    payment made today would be applied: "You paid" counts it and the visit's amount due is
    what is really left. The total due is unchanged; what no visit absorbs stays a credit line."""
    credit = next((v for v in visits if v.item_id is None), None)
    if credit is None:
        return visits
    left = -credit.sums["due"]
    for v in visits:
        if v is credit or left <= 0 or v.sums["due"] <= 0:
            continue
        take = min(left, v.sums["due"])
        v.sums["patient_paid"] += take
        v.sums["due"] -= take
        credit.sums["due"] += take
        credit.sums["patient_paid"] -= take
        left -= take
    return [v for v in visits if v is not credit or v.sums["due"] != 0]


def totals(visits: list[Visit], amount_due: Decimal) -> dict[str, str]:
    """The statement's summary: each column summed, and the amount due."""
    keys = ("charges", "insurance_paid", "adjustments", "insurance_pending", "patient_paid")
    summed = {k: sum((v.sums[k] for v in visits if v.item_id), ZERO) for k in keys}
    return {**{k: str(v) for k, v in summed.items()}, "amount_due": str(money(amount_due))}


def explanations(visits: list[Visit]) -> list[dict[str, str]]:
    """What each kind of patient share on this statement means (only those it has)."""
    used = {key for v in visits for key, _, _ in SHARE_LABELS if v.sums[key]}
    return [{"label": label, "meaning": meaning} for key, label, meaning in SHARE_LABELS if key in used]


def old_line(content_visit: dict[str, Any]) -> dict[str, Any]:
    """The statement line in the shape the JSON API has always answered with."""
    keys = ("item_id", "service_date", "description", "charges", "insurance_paid", "adjustments")
    return {**{k: content_visit[k] for k in keys}, "patient_paid": content_visit["patient_paid"],
            "due": content_visit["due"]}  # fmt: skip


def render_html(statement: Any) -> str:
    """The statement as a web page (templates/statement.html; every value escaped)."""
    return template("payments-statements/statement.html").render(
        s=statement, c=view(statement), usd=usd, day=day
    )


def view(statement: Any) -> dict[str, Any]:
    """The content to render, with what an older statement (lines only) lacks filled in."""
    c = dict(statement.content)
    lines = c.get("lines", [])
    c.setdefault("visits", [{**line, "procedures": [], "insurer": None, "your_share": [],
                             "insurance_pending": "0.00"} for line in lines])  # fmt: skip
    c.setdefault("totals", {"amount_due": str(statement.amount_due)})
    c.setdefault("explanations", [])
    c.setdefault("practice", {})
    c.setdefault("remit_to", {})
    c.setdefault("how_to_pay", {})
    c.setdefault("recipient", None)
    c.setdefault("past_due", None)
    return c


# --- PDF (fpdf2, core Helvetica: Latin-1 text only) ---------------------------------------


STUB_TOP = 228  # mm from the top of a US letter page (279 mm)


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


class _Pdf:
    """The statement page's building blocks on fpdf2."""

    def __init__(self) -> None:
        from fpdf import FPDF

        self.pdf = FPDF(format="letter")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.add_page()
        self.pdf.set_margins(15, 15, 15)

    def text(self, value: str, *, size: float = 9.5, bold: bool = False, h: float = 4.6, align: str = "L",
             w: float = 0) -> None:  # fmt: skip
        self.pdf.set_font("Helvetica", "B" if bold else "", size)
        self.pdf.multi_cell(w, h, _latin1(value), align=align, new_x="LMARGIN", new_y="NEXT")

    def row(self, label: str, amount: str, *, bold: bool = False, indent: float = 0) -> None:
        """A label and its amount, right-aligned, on one line."""
        self.pdf.set_font("Helvetica", "B" if bold else "", 9.5)
        self.pdf.set_x(15 + indent)
        self.pdf.cell(150 - indent, 4.6, _latin1(label))
        self.pdf.cell(36, 4.6, _latin1(amount), align="R", new_x="LMARGIN", new_y="NEXT")

    def rule(self, dashed: bool = False) -> None:
        y = self.pdf.get_y() + 1.5
        if dashed:
            self.pdf.set_dash_pattern(dash=1.5, gap=1.5)
        self.pdf.line(15, y, 201, y)
        self.pdf.set_dash_pattern()
        self.pdf.set_y(y + 2)


def render_pdf(statement: Any) -> bytes:
    """The statement a patient can read and pay: who it is from, to whom, each visit with its
    procedures and why the patient owes what they owe, the summary, how to pay, and a stub."""
    c, p = view(statement), _Pdf()
    pdf = p.pdf
    remit, pay = c["remit_to"], c["how_to_pay"]
    due = c["totals"]["amount_due"]
    _header(p, statement, c["practice"], due)
    if c["recipient"]:
        p.text(c["recipient"]["name"], bold=True)
        for line in c["recipient"].get("address_lines", []):
            p.text(line)
        pdf.ln(2)
    if c["past_due"]:
        p.text(f"PAST DUE: your balance was due on {day(c['past_due']['since'])}. Please pay it now or "
               "call us to talk about a payment plan.", bold=True)  # fmt: skip
    p.rule()
    p.text("Your visits", size=12, bold=True, h=7)
    for v in c["visits"]:
        _visit(p, v, c.get("patient_name"))
    p.text("Summary", size=12, bold=True, h=7)
    t = c["totals"]
    for label, key in (("Total charges", "charges"), ("Insurance paid", "insurance_paid"),
                       ("Adjustments", "adjustments"), ("Still with your insurance", "insurance_pending"),
                       ("You paid", "patient_paid")):  # fmt: skip
        if key in t and (Decimal(t[key]) or key in ("charges", "patient_paid")):
            p.row(label, usd(t[key]))
    p.row("Amount due", usd(due), bold=True)
    if c["explanations"]:
        pdf.ln(2)
        p.text("Why you owe this", bold=True)
        for e in c["explanations"]:
            p.text(f"{e['label']}: {e['meaning']}.")
    pdf.ln(2)
    p.text("How to pay", size=12, bold=True, h=7)
    if pay.get("portal_url"):
        p.text(f"Online: {pay['portal_url']}")
    if pay.get("phone"):
        p.text(f"By phone: {pay['phone']}")
    if remit:
        p.text(f"By mail: send the stub below with your check, payable to {remit['name']}.")
    _stub(p, statement, c, due)
    return bytes(pdf.output())


def _header(p: _Pdf, statement: Any, practice: dict[str, Any], due: str) -> None:
    """Who it is from (left) and the statement's dates, account and amount due (right)."""
    pdf = p.pdf
    top = pdf.get_y()
    p.text(practice.get("name", "Patient statement"), size=15, bold=True, h=7, w=110)
    for value in (
        practice.get("address"),
        practice.get("phone") and f"Billing questions: {practice['phone']}",
    ):
        if value:
            p.text(value, w=110)
    pdf.set_xy(130, top)
    p.text("STATEMENT", size=15, bold=True, h=7, align="R")
    for label, value in (
        ("Statement date", day(statement.statement_date)),
        ("Due date", day(statement.due_date)),
        ("Account number", statement.account_id),
    ):
        pdf.set_x(110)
        p.text(f"{label} {value}", align="R")
    pdf.set_x(110)
    p.text(f"Amount due {usd(due)}", bold=True, size=12, h=6, align="R")
    pdf.ln(4)


def _visit(p: _Pdf, v: dict[str, Any], patient_name: str | None) -> None:
    when = day(v["service_date"]) if v["service_date"] else "Undated"
    who = f" for {patient_name}" if patient_name else ""
    p.text(f"{when}: visit{who}" if v["item_id"] else "Payments not yet applied", bold=True)
    if v["insurer"]:
        p.text(f"Billed to {v['insurer']}")
    for proc in v["procedures"] or [{"description": v["description"], "charge": v["charges"]}]:
        p.row(proc["description"], usd(proc["charge"]), indent=4)
    if Decimal(v["insurance_paid"]):
        p.row("Insurance paid", usd(v["insurance_paid"]), indent=4)
    if Decimal(v["adjustments"]):
        p.row("Adjustments (discounts your insurer's contract requires)", usd(v["adjustments"]), indent=4)
    if Decimal(v["insurance_pending"]):
        p.row("Still with your insurance", usd(v["insurance_pending"]), indent=4)
    if v["your_share"]:
        share = ", ".join(f"{s['label']} {usd(s['amount'])}" for s in v["your_share"])
        p.pdf.set_x(19)
        p.text(f"Your share, as your insurer decided: {share}")
    if Decimal(v["patient_paid"]):
        p.row("You paid", usd(v["patient_paid"]), indent=4)
    p.row("You owe", usd(v["due"]), bold=True, indent=4)
    p.pdf.ln(2)


def _stub(p: _Pdf, statement: Any, c: dict[str, Any], due: str) -> None:
    """The mail-in stub: what the practice needs to apply a mailed check."""
    pdf = p.pdf
    if pdf.get_y() > STUB_TOP - 3:
        pdf.add_page()
    pdf.set_y(STUB_TOP)  # at the foot of the page, where it tears off
    p.text("Detach and return this part with your payment", size=7.5, align="C")
    p.rule(dashed=True)
    top = pdf.get_y()
    p.text(f"Account number {statement.account_id}", w=95)
    if c["recipient"]:
        p.text(c["recipient"]["name"], w=95)
    p.text(f"Amount due {usd(due)} by {day(statement.due_date)}", bold=True, w=95)
    p.text("Amount enclosed $____________", w=95)
    pdf.set_xy(115, top)
    remit = c["remit_to"]
    if remit:
        pdf.set_x(115)
        p.text("Remit to", bold=True)
        for line in (remit["name"], remit["address"]):
            pdf.set_x(115)
            p.text(line)
