"""Reading a bank file into deposits, without I/O: BAI2 with the `bai2` parser, or the CSV
fallback; what kind of deposit each one is and the reference it can be matched by.

BAI2 (version 2): 01 file header, 02 group header (its as-of date is the bank date), 03 account
identifier, 16 transaction details (amount in whole cents, the type code says credit or
debit), 88 continuations, 49/98/99 trailers with control totals and record counts. The parser
checks the structure and the totals; errors name the record by its line in the file
(`record[4].16.amount`) and the rule, never a value from the file.

Which reference a deposit carries (what the reconciliation matches on):
- an EFT: the CORE EFT & ERA reassociation rule puts the 835's TRN segment in the ACH CCD+
  addenda, which banks report in the 16 record's text: `TRN*1*<TRN02>*<TRN03>\\`. Without a
  TRN, an ACH credit's customer reference is taken as the trace;
- a check deposit: the check number is the 16 record's customer reference (or "CHK 123" in
  its text); on a check 835 (BPR04=CHK) TRN02 is that number;
- a card settlement: the processor's batch id, "BATCH <id>" in the text (or the customer
  reference of a 147 bank card deposit).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bai2.constants import RecordCode, TypeCodes, TypeCodeTransaction
from bai2.exceptions import IntegrityException, NotSupportedYetException, ParsingException
from bai2.helpers import IteratorHelper
from bai2.models import Bai2File
from bai2.parsers import Bai2FileParser

from services.payments.limits.domain import Limits, located_over
from shared.money import MoneyError, parse_money

CENT = Decimal("0.01")
# Credit type codes of EFTs (ACH credits, incoming money transfers), check deposits and card
# deposits; any other credit or debit is 'other' unless its text names a TRN or a batch.
EFT_CODES = {"142", "143", "145", "165", "166", "169", "191", "195", "208"}
CHECK_CODES = {"115", "116", "173", "174", "175", "176", "184", "222", "301"}
CARD_CODES = {"147"}
TRN = re.compile(r"TRN\*1\*([^*\\~,/\s]+)(?:\*([^*\\~,/\s]+))?")
BATCH = re.compile(r"\bBATCH\s*(?:NO\.?|#|:)?\s*([A-Za-z0-9-]+)", re.IGNORECASE)
CHECK_IN_TEXT = re.compile(r"\b(?:CHK|CHECK)\s*(?:NO\.?|#|:)?\s*(\d+)", re.IGNORECASE)
CODES = {code.value for code in RecordCode}


@dataclass(frozen=True)
class BankDeposit:
    """One credit (positive) or debit (negative) the bank reported."""

    record: int
    bank_date: date
    amount: Decimal
    kind: str
    type_code: str
    account_number: str | None = None
    trace_number: str | None = None
    trace_originator: str | None = None
    check_number: str | None = None
    batch_id: str | None = None
    bank_reference: str | None = None
    customer_reference: str | None = None
    description: str | None = None


class BankFileError(Exception):
    """A refused bank file: each error as (field, rule, message), never a value."""

    def __init__(self, errors: list[tuple[str, str, str]]) -> None:
        super().__init__(f"{len(errors)} error(s) in the bank file")
        self.errors = errors


def references(type_code: str, text: str | None, customer_ref: str | None) -> dict[str, str | None]:
    """The kind of a deposit and the reference it is matched by (see the module's rules)."""
    text = text or ""
    if trn := TRN.search(text):
        return {"kind": "eft", "trace_number": trn.group(1), "trace_originator": trn.group(2)}
    if type_code in CHECK_CODES:
        number = customer_ref or ((m := CHECK_IN_TEXT.search(text)) and m.group(1)) or None
        return {"kind": "check", "check_number": number}
    if batch := BATCH.search(text):
        return {"kind": "card", "batch_id": batch.group(1)}
    if type_code in CARD_CODES:
        return {"kind": "card", "batch_id": customer_ref}
    if type_code in EFT_CODES:
        return {"kind": "eft", "trace_number": customer_ref}
    return {"kind": "other"}


# --- BAI2 --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    line: int
    code: str
    fields: list[str]


class _Located(IteratorHelper):
    """The parser's iterator, counting logical records so an error can name its line."""

    def __init__(self, lines: list[str]) -> None:
        self.index = -1
        super().__init__(lines)

    def advance(self) -> None:
        self.current_record = next(self._generator)
        self.index += 1


def _records(text: str) -> list[_Record]:
    """Logical records (88 continuations joined to theirs) with the line each starts on; a
    line with an unknown record code is refused here, with its line number."""
    records: list[_Record] = []
    errors = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        code = line[:2]
        if code not in CODES or line[2:3] != ",":
            errors.append((f"record[{number}]", "record_code", "Each line starts with a BAI2 record code."))
        elif code == RecordCode.continuation.value and records:
            records[-1].fields.append(line[3:])
        else:
            records.append(_Record(number, code, [line[3:]]))
    if errors:
        raise BankFileError(errors)
    if not records:
        raise BankFileError([("record[1]", "empty", "The file has no BAI2 records.")])
    return records


def _field_errors(records: list[_Record]) -> list[tuple[str, str, str]]:
    """What the parser would only report as a bare ValueError, located: a file that does not
    start with 01 and end with 99, a 02 without a valid as-of date, a 16 without a known type
    code or an amount in whole cents."""
    errors = []
    if records[0].code != "01":
        errors.append((f"record[{records[0].line}]", "record_order", "A BAI2 file starts with 01."))
    if records[-1].code != "99":
        errors.append((f"record[{records[-1].line}]", "record_order", "A BAI2 file ends with a 99 trailer."))
    for r in records:
        fields = r.fields[0].rstrip("/").split(",")
        where = f"record[{r.line}].{r.code}"
        if r.code == "02" and not re.fullmatch(r"\d{6}", fields[3] if len(fields) > 3 else ""):
            errors.append((f"{where}.as_of_date", "date", "The as-of date is YYMMDD."))
        if r.code != "16":
            continue
        if (fields[0] if fields else "") not in TypeCodes:
            errors.append((f"{where}.type_code", "type_code", "Use a BAI2 type code."))
        if not re.fullmatch(r"\d{1,15}", fields[1] if len(fields) > 1 else ""):
            errors.append((f"{where}.amount", "amount", "Amounts are whole cents, digits only."))
    return errors


_INTEGRITY = [  # what the parser's integrity error says → (trailer record code, rule)
    ("number of records for Account", "49", "record_count"),
    ("number of records for Group", "98", "record_count"),
    ("number of records for Bai2File", "99", "record_count"),
    ("account control total", "49", "control_total"),
    ("group control total", "98", "control_total"),
    ("file control total", "99", "control_total"),
    ("number of accounts", "98", "account_count"),
    ("number of groups", "99", "group_count"),
]
_MESSAGES = {
    "record_count": "The record count is not the number of records at this level (88s included).",
    "control_total": "The control total is not the sum of the amounts it covers.",
    "account_count": "The number of accounts is not the number of 03 records in the group.",
    "group_count": "The number of groups is not the number of 02 records in the file.",
    "record_order": "A record is out of the BAI2 order 01, 02, 03, 16/88, 49, 98, 99.",
    "version": "Only BAI2 (version 2) files are read.",
    "format": "A field of this record is not in the BAI2 format.",
}


def _located(exc: Exception, records: list[_Record], at: int) -> tuple[str, str, str]:
    """The parser's exception as (field, rule, message) on the record it concerns."""
    message = str(exc)
    current = records[min(max(at, 0), len(records) - 1)]
    if isinstance(exc, IntegrityException):
        for phrase, code, rule in _INTEGRITY:
            if phrase in message:
                trailer = next((r for r in reversed(records[: at + 1]) if r.code == code), current)
                return (f"record[{trailer.line}].{code}", rule, _MESSAGES[rule])
    rule = "record_order" if isinstance(exc, ParsingException) else "format"
    if isinstance(exc, NotSupportedYetException) and "version" in message:
        rule = "version"
    return (f"record[{current.line}].{current.code}", rule, _MESSAGES[rule])


def _parse(text: str, records: list[_Record]) -> Bai2File:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    iterator = _Located(lines)
    try:
        return Bai2FileParser(iterator, check_integrity=True).parse()
    except (ParsingException, IntegrityException, NotSupportedYetException, ValueError, StopIteration) as exc:
        raise BankFileError([_located(exc, records, iterator.index)]) from None


def read_bai2(text: str) -> list[BankDeposit]:
    """The credits and debits of a BAI2 file (16 records; status and summary amounts of the
    03 record are balances, not deposits). Raises BankFileError naming records and rules."""
    records = _records(text)
    if errors := _field_errors(records):
        raise BankFileError(errors)
    parsed = _parse(text, records)
    lines = iter(r.line for r in records if r.code == "16")
    deposits = []
    for group in parsed.children:
        for account in group.children:
            for detail in account.children:
                line = next(lines)
                sign = {TypeCodeTransaction.credit: 1, TypeCodeTransaction.debit: -1}.get(
                    detail.type_code.transaction
                )
                if sign is None:  # non-monetary information (890)
                    continue
                description = (detail.text or "").strip().rstrip(",/ ") or None
                deposits.append(
                    BankDeposit(
                        record=line,
                        bank_date=group.header.as_of_date,
                        amount=(Decimal(sign * detail.amount) / 100).quantize(CENT),
                        type_code=detail.type_code.code,
                        account_number=account.header.customer_account_number,
                        bank_reference=detail.bank_reference,
                        customer_reference=detail.customer_reference,
                        description=description,
                        **references(detail.type_code.code, description, detail.customer_reference),
                    )
                )
    return deposits


# --- CSV ---------------------------------------------------------------------------------

CSV_COLUMNS = ("date", "amount", "type", "reference", "check_number", "batch_id", "description")
CSV_TYPES = {"ach": "eft", "eft": "eft", "wire": "eft", "check": "check", "card": "card", "other": "other"}


def _csv_row(line: int, row: dict[str, str]) -> tuple[BankDeposit | None, list[tuple[str, str, str]]]:
    """One CSV row as a deposit, or the errors of its fields."""
    value = {k: (row.get(k) or "").strip() for k in CSV_COLUMNS}
    errors = []
    try:
        bank_date = date.fromisoformat(value["date"]) if len(value["date"]) == 10 else None
    except ValueError:
        bank_date = None
    if bank_date is None:
        errors.append((f"row[{line}].date", "date", "Use the bank date as YYYY-MM-DD."))
    amount = None
    try:
        amount = parse_money(value["amount"], signed=True)
    except MoneyError as error:
        errors.append((f"row[{line}].amount", error.rule, error.message))
    kind = CSV_TYPES.get(value["type"].lower())
    if kind is None:
        errors.append((f"row[{line}].type", "type", f"One of {', '.join(CSV_TYPES)}."))
    if errors or bank_date is None or kind is None or amount is None:
        return None, errors
    text, reference = value["description"] or None, value["reference"] or None
    found = references({"eft": "165", "check": "175", "card": "147"}.get(kind, ""), text, reference)
    return BankDeposit(
        record=line,
        bank_date=bank_date,
        amount=amount,
        kind=kind,
        type_code=value["type"].lower(),
        trace_number=(reference or found.get("trace_number")) if kind == "eft" else None,
        trace_originator=found.get("trace_originator") if kind == "eft" else None,
        check_number=(value["check_number"] or reference) if kind == "check" else None,
        batch_id=(value["batch_id"] or found.get("batch_id")) if kind == "card" else None,
        customer_reference=reference,
        description=text,
    ), []


def read_csv(text: str) -> list[BankDeposit]:
    """The rows of a CSV bank export with a header naming the columns of CSV_COLUMNS (date,
    amount and type required; others optional; unknown columns ignored). Every row's errors
    are reported together, as `row[<line>].<column>`."""
    reader = csv.DictReader(io.StringIO(text))
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [c for c in ("date", "amount", "type") if c not in header]
    if missing:
        raise BankFileError([("row[1]", "columns", f"The header must name {', '.join(missing)}.")])
    reader.fieldnames = header
    deposits, errors = [], []
    for row in reader:
        deposit, row_errors = _csv_row(reader.line_num, row)
        errors += row_errors
        if deposit is not None:
            deposits.append(deposit)
    if errors:
        raise BankFileError(errors)
    if not deposits:
        raise BankFileError([("row[2]", "empty", "The file has no deposit rows.")])
    return deposits


def over_maximum(deposits: list[BankDeposit], fmt: str, limits: Limits) -> None:
    """BankFileError naming every deposit larger (credit or debit) than the practice's maximum
    insurer payment or deposit, as the readers name an amount (`row[3].amount`,
    `record[4].16.amount`); the file is then refused whole, like a file that cannot be read."""
    where = "row[{}].amount" if fmt == "csv" else "record[{}].16.amount"
    errors = located_over(limits, "insurer_payment", ((where.format(d.record), d.amount) for d in deposits))
    if errors:
        raise BankFileError(errors)
