"""Every cent explained (issue 15, must show): a hypothesis property test over random days that
mix 835s (payments, CO-197 denials, CLP02=22 reversals, PLB forward balances, same-trace resends
that are true duplicates and same-trace variants that are conflicts) with patient payments,
refunds and adjustments, through the real interfaces: claims made and sent over claims' HTTP,
their claim.submitted consumed by payments, 835s uploaded to payments over HTTP, payment.posted
consumed by claims.

After every day, for every account and claim:
  * the ledger's sum (SQL) is the balance payments answers;
  * claims' insurance balance is payments' insurance A/R for it, and both are what the 835s
    say (005010X221A1 loop 2100: CLP04 paid, CAS CO-45 written down, CAS PR moved to the
    patient, a CO-197 denial still owed by the payer until it is worked, CLP02=22 taking its
    payment back);
  * every received file's money (BPR02) is posted, parked, or held for review, to the cent, in
    the place the guide's rules put it (a resent set with identical content is a duplicate, the
    same TRN02 with other content a conflict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from tests.claims.conftest import claims_service
from tests.claims.helpers import get_claim, make_claim, post_submitted_claim
from tests.conftest import eventually, running_service, unique
from tests.payments.helpers import (
    balance_of_sets,
    get_account,
    get_received_file,
    make_835,
    make_clp,
    make_plb,
    post_835,
    post_adjustment,
    post_payment,
    post_refund,
)

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now", "payments_consumer_from_now")
D = Decimal
CHARGE = D("175.00")
COPAY = D("25.00")
ZERO = D("0.00")


@pytest.fixture(scope="module")
async def platform(settings):
    async with claims_service(settings) as (_, claims), running_service("payments", settings) as (_, pay):
        yield claims, pay


@dataclass
class Claim:
    """What the model expects of one claim (each on its own account)."""

    id: str
    pcn: str
    account: str
    state: str = "open"  # open | paid | denied
    paid: Decimal = ZERO
    pccn: str = ""
    payments: list[tuple[str, Decimal]] = field(default_factory=list)  # patient payment id, left

    @property
    def insurance(self) -> Decimal:
        """What the payer still owes: nothing once paid (CO-45 and PR settle the rest)."""
        return ZERO if self.state == "paid" else CHARGE


@dataclass
class Day:
    claims: list[Claim]
    files: list[tuple[str, str, Decimal]] = field(default_factory=list)  # file id, where, BPR02
    last: tuple[str, str, list[Any]] | None = None  # trace, text, its CLPs
    forward: list[tuple[str, Decimal]] = field(default_factory=list)  # open FB reference, amount


cents = st.integers(min_value=50_00, max_value=150_00).map(lambda c: D(c) / 100)
operation = st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 1), cents, st.booleans()),
    st.tuples(st.just("deny"), st.integers(0, 1)),
    st.tuples(st.just("reverse"), st.integers(0, 1)),
    st.tuples(st.just("resend"), st.booleans()),
    st.tuples(st.just("patient_pay"), st.integers(0, 1), st.integers(1, 40_00)),
    st.tuples(st.just("refund"), st.integers(0, 1), st.integers(1, 100)),
    st.tuples(st.just("adjust"), st.integers(0, 1), st.integers(1, 20_00)),
)


async def upload(pay: Any, day: Day, text: str, expect: str) -> None:
    """Post an 835 and remember where its money must be (`expect`: a FileMoney field)."""
    resp = await post_835(pay, text)
    assert resp.status_code in (200, 201, 409), resp.text
    file_id = resp.json().get("received_file_id") or resp.headers["Location"].rsplit("/", 1)[-1]
    ((_, bpr, owed),) = balance_of_sets(text)
    assert bpr == owed  # our own 835 balances per the guide (BPR02 = sum CLP04 - sum PLB)
    day.files.append((file_id, expect, bpr))


async def pay_claim(pay: Any, day: Day, claim: Claim, paid: Decimal, with_fb: bool) -> None:
    """CLP02=1: paid, the copay to the patient (PR-3), the rest written down (CO-45); a PLB FB
    withholds 5.00 for a forward balance, or recovers an open one."""
    trace = unique("TRN")
    claim.pccn = unique("ICN")
    clp = make_clp(
        claim.pcn,
        "1",
        "175",
        str(paid),
        "25",
        [("CO", "45", str(CHARGE - paid - COPAY)), ("PR", "3", "25")],
        pccn=claim.pccn,
    )
    plb = None
    if with_fb and day.forward:
        reference, amount = day.forward.pop()
        plb = make_plb("FB", reference, str(-amount))
    elif with_fb:
        reference = unique("FB")
        day.forward.append((reference, D("5.00")))
        plb = make_plb("FB", reference, "5.00")
    text = make_835(trace, [clp], plb=plb)
    await upload(pay, day, text, "posted")
    day.last = (trace, text, [clp])
    claim.state, claim.paid = "paid", paid


async def apply(pay: Any, day: Day, op: tuple[Any, ...]) -> None:
    """One operation of the day, where the model allows it (a payer pays a claim once)."""
    kind, claim = op[0], day.claims[op[1]] if isinstance(op[1], int) and op[0] != "resend" else None
    if kind == "pay" and claim.state == "open":
        await pay_claim(pay, day, claim, op[2], op[3])
    elif kind == "deny" and claim.state == "open" and not claim.paid:
        trace = unique("TRN")
        clp = make_clp(claim.pcn, "4", "175", "0", "", [("CO", "197", "175")], pccn=unique("ICN"))
        text = make_835(trace, [clp])
        await upload(pay, day, text, "posted")
        day.last, claim.state = (trace, text, [clp]), "denied"
    elif kind == "reverse" and claim.state == "paid":
        trace = unique("TRN")
        back = CHARGE - claim.paid - COPAY
        clp = make_clp(
            claim.pcn,
            "22",
            "-175",
            str(-claim.paid),
            "-25",
            [("CO", "45", str(-back)), ("PR", "3", "-25")],
            pccn=claim.pccn,
        )
        text = make_835(trace, [clp])
        await upload(pay, day, text, "posted")
        day.last, claim.state, claim.paid = (trace, text, [clp]), "open", ZERO
    elif kind == "resend" and day.last is not None:
        trace, text, clps = day.last
        if op[1]:  # the identical set again (another interchange): a duplicate
            await upload(pay, day, text, "duplicate")
        else:  # the same trace with a PLB added: a conflict, held for review
            variant = make_835(trace, clps, plb=make_plb("L6", unique("INT"), "-1.00"))
            await upload(pay, day, variant, "conflict")
    elif kind == "patient_pay":
        amount = D(op[2]) / 100
        resp = await post_payment(pay, claim.account, str(amount))
        assert resp.status_code == 201, resp.text
        claim.payments.append((resp.json()["id"], amount))
    elif kind == "refund" and claim.payments and claim.payments[-1][1] > 0:
        payment_id, left = claim.payments[-1]
        amount = max((left * op[2] / 100).quantize(D("0.01")), D("0.01"))
        resp = await post_refund(pay, payment_id, str(amount))
        assert resp.status_code == 201, resp.text
        claim.payments[-1] = (payment_id, left - amount)
    elif kind == "adjust":
        owed = D((await get_account(pay, claim.account))["patient_due"])
        amount = min(D(op[2]) / 100, owed)
        if amount > 0:
            resp = await post_adjustment(pay, claim.account, str(amount))
            assert resp.status_code == 201, resp.text


async def settled(claims: Any, pay: Any, claim: Claim) -> bool:
    """Both services agree with the model on the claim's insurance balance."""
    theirs = D((await get_claim(claims, claim.id))["insurance_balance"])
    ours = D((await get_account(pay, claim.account))["insurance_pending"])
    return theirs == ours == claim.insurance


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=2, max_size=12))
async def test_every_cent_is_posted_parked_or_held_and_both_ars_agree(platform, settings, admin, ops):
    claims, pay = platform
    made = [await post_submitted_claim(claims, settings, make_claim(unique("pat"))) for _ in range(2)]
    day = Day([Claim(c["id"], c["patient_control_number"], c["patient_id"]) for c in made])
    for claim in day.claims:  # payments has the claim (claim.submitted) before its 835 comes
        await eventually(
            lambda c=claim: _pending(pay, c.account, CHARGE), timeout=60, what="payments has the claim"
        )
    for op in ops:
        await apply(pay, day, op)

    for claim in day.claims:
        await eventually(lambda c=claim: settled(claims, pay, c), timeout=60, what="both A/Rs agree")
        account = await get_account(pay, claim.account)
        in_sql = await admin.fetchval(
            "SELECT coalesce(sum(amount), 0) FROM payments.ledger_entries WHERE account_id = $1",
            claim.account,
        )
        assert D(account["balance"]) == in_sql
    for file_id, where, bpr in day.files:
        money = (await get_received_file(pay, file_id))["money"]
        assert D(money["deposit"]) == bpr
        assert D(money[where]) == bpr, (where, money)
        parts = ("posted", "unmatched", "duplicate", "payer_needed", "conflict", "refused", "dismissed")
        assert sum(D(money[p]) for p in (*parts, "replaced", "repaired")) == bpr


async def _pending(pay: Any, account: str, amount: Decimal) -> bool:
    return D((await get_account(pay, account)).get("insurance_pending", "0")) == amount
