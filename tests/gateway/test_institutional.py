"""Institutional claims through the gateway (issue 20): a batch of 837P and 837I claims is one
interchange with one functional group per implementation guide (GS08 005010X222A2 for the
837P sets, 005010X223A2 for the 837I set; each ST03 says which), each GS with its own GS06 and
GE count, IEA01 counting the groups; the clearinghouse's 999 (AK1 per group, AK103 naming the
guide) and 277CA (2200D for the institutional claim) are matched to the institutional claim.

Real PostgreSQL (the batcher's commit, the acknowledgments' matching), the sandbox's asyncssh
SFTP mailbox for the upload, and the inbound processing of `POST /v1/files`. The 837I set is
written by hand here from the 005010X223A2 guide (the claims service's 837I writer is another
part of issue 20): loop 2000A/2010AA, 2000B/2010BA/2010BB, 2300 CLM (CLM05 11:A:1, type of bill
0111), DTP*096/434/435, CL1, HI ABK/ABJ/DR, 2310A NM1*71, 2400 LX/SV2.
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyx12.params
import pyx12.x12n_document
from sqlalchemy import text
from x12sdk.io import X12ModelReader

from services.gateway.outbound import x12 as outbound_x12
from services.gateway.outbound.usecases import build_file, record_claim, upload_built
from shared import x12
from shared.db import Database
from shared.events import new_event
from shared.events.catalogue import ClaimSubmitted
from tests.gateway.helpers import (
    claim_event,
    from_clearinghouse,
    make_277ca_answers,
    make_837,
    make_partner,
    partner_config,
    post_file,
    staged,
    write_partners,
)

X223A2, X222A2 = "005010X223A2", "005010X222A2"

INPATIENT_2000A_2400 = """BHT*0019*00*B1*20261205*1200*CH
NM1*41*2*REVCYCLE GENERAL HOSPITAL*****46*REVCYCLE
PER*IC*BILLING OFFICE*TE*2175550100
NM1*40*2*PAYER ONE*****46*PAYER1
HL*1**20*1
PRV*BI*PXC*282N00000X
NM1*85*2*REVCYCLE GENERAL HOSPITAL*****XX*1234567893
N3*1 HOSPITAL DR
N4*SPRINGFIELD*IL*627010000
REF*EI*371234567
HL*2*1*22*0
SBR*P*18*GRP100******CI
NM1*IL*1*DOE*JANE****MI*M1234567
N3*1 MAIN ST
N4*SPRINGFIELD*IL*627010000
DMG*D8*19800115*F
NM1*PR*2*PAYER ONE*****PI*PAYER1
CLM*{pcn}*12500***11:A:1**A*Y*Y
DTP*096*TM*1130
DTP*434*RD8*20261201-20261204
DTP*435*DT*202612010800
CL1*1*7*01
HI*ABK:I214
HI*ABJ:R079
HI*DR:280
NM1*71*1*SMITH*JOHN****XX*1234567893
LX*1
SV2*0120**9000*DA*3
LX*2
SV2*0300*HC:80053*3500*UN*1"""


def make_837i(receiver_id: str, pcn: str) -> str:
    """A one-claim 837I (005010X223A2) addressed (ISA08) to `receiver_id`, as claims sends one."""
    body = [line.format(pcn=pcn).split("*") for line in INPATIENT_2000A_2400.splitlines()]
    return x12.build(
        [body],
        transaction_code="837",
        functional_id="HC",
        version=X223A2,
        sender_id="REVCYCLE",
        receiver_id=receiver_id,
        control_number=7101,
    )


def institutional_event(receiver_id: str) -> tuple[ClaimSubmitted, object]:
    pcn = f"I{uuid.uuid4().hex[:15].upper()}"
    claim = ClaimSubmitted(
        claim_id=uuid.uuid4(),
        patient_control_number=pcn,
        patient_id=f"pat-{uuid.uuid4().hex[:8]}",
        payer_id="PAYER1",
        total_charge=Decimal("125.00"),
        x12_837=make_837i(receiver_id, pcn),
        claim_type="institutional",
        submitted_at=datetime.now(UTC),
    )
    return claim, new_event(claim, source="/tests/claims")


def pyx12_errors_of(text_: str) -> list[str]:
    """pyx12's errors on an interchange. Its map index names 005010X222A1 for the 837P map
    (837.5010.X222.A1.xml) and 005010X223A2 for the 837I map (837Q3.I.5010.X223.A1.xml, built
    from the X223A1 guide): the 837P groups are relabelled A1 for the check (A2 is an errata of
    A1 with the same loops and segments used here); the A2 changes to the 837I it cannot check
    are not exercised by this claim (no 2300 PWK/K3/NTE, no 2400 drug or ambulance loops)."""
    out = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(
        param=pyx12.params.params(),
        src_file=io.StringIO(text_.replace(X222A2, "005010X222A1")),
        fd_997=None,
        fd_html=None,
        fd_json=out,
    )
    return [] if ok else [line for line in out.getvalue().splitlines() if "err_str" in line] or ["invalid"]


def envelope(text_: str) -> list[list[str]]:
    """The file's envelope segments (ISA, GS, ST, SE, GE, IEA) as element lists, in order."""
    lines = [s for s in text_.replace("\n", "").split("~") if s]
    return [s.split("*") for s in lines if s.split("*")[0] in ("GS", "ST", "SE", "GE", "IEA")]


async def queue_mixed(db: Database, partner) -> tuple[list, ClaimSubmitted]:
    """Two 837P claims and one 837I claim queued in the order P, I, P."""
    receiver = next(iter(partner.receiver_ids))
    first, second = claim_event(receiver), claim_event(receiver)
    institutional, event = institutional_event(receiver)
    async with db.session() as session:
        for e in (first, event, second):
            assert await record_claim(session, e, [partner]) == "queued"
        await session.commit()
    return [first.data, second.data], institutional


async def build_mixed(db: Database, partner):
    async with db.session() as session:
        built = await build_file(session, partner, force=True)
        await session.commit()
    assert built is not None
    async with db.session() as session:
        row = (
            await session.execute(
                text("SELECT * FROM submission_files WHERE id = :id"), {"id": built.file_id}
            )
        ).one()
        claims = (
            await session.execute(
                text(
                    "SELECT claim_id, set_control_number, group_control_number FROM outbound_claims "
                    "WHERE file_id = :f ORDER BY set_control_number"
                ),
                {"f": built.file_id},
            )
        ).all()
    return built, row, claims


async def test_a_mixed_batch_is_one_group_per_guide_valid_for_pyx12_and_x12sdk(
    gateway_db: Database, mailbox, tmp_path: Path
) -> None:
    (partner,) = write_partners(tmp_path / "p.json", partner_config(mailbox))
    professional, institutional = await queue_mixed(gateway_db, partner)
    built, row, claims = await build_mixed(gateway_db, partner)
    env = envelope(row.x12)
    gs = [s for s in env if s[0] == "GS"]
    ge = [s for s in env if s[0] == "GE"]
    st = [s for s in env if s[0] == "ST"]
    # one group per guide, in the order each guide first came; each with its own GS06
    assert [g[8] for g in gs] == [X222A2, X223A2]
    assert gs[0][6] != gs[1][6]
    assert [(g[1], g[2]) for g in ge] == [("2", gs[0][6]), ("1", gs[1][6])], (
        "GE01 counts its sets, GE02 = GS06"
    )
    assert env[-1][:2] == ["IEA", "2"], "IEA01 counts the functional groups"
    assert [(s[2], s[3]) for s in st] == [("0001", X222A2), ("0002", X222A2), ("0003", X223A2)]
    # the claims know their set and group; the file's GS06 on record is its first group's
    by_claim = {c.claim_id: (c.set_control_number, c.group_control_number) for c in claims}
    assert by_claim[institutional.claim_id] == ("0003", gs[1][6])
    assert sorted(by_claim[c.claim_id] for c in professional) == [("0001", gs[0][6]), ("0002", gs[0][6])]
    assert row.group_control_number == gs[0][6] == str(built.gcn)

    # pyx12 takes both maps in one file (it picks the map per GS08): 0 errors
    assert pyx12_errors_of(row.x12) == []
    # x12sdk reads it back: two professional and one institutional claim
    with X12ModelReader(row.x12) as reader:
        names = [type(m).__name__ for m in reader.models()]
    assert sorted(names) == [
        "HealthCareClaimInstitutional",
        "HealthCareClaimProfessional",
        "HealthCareClaimProfessional",
    ]

    # and it goes to the clearinghouse's SFTP mailbox as built
    assert await upload_built(gateway_db, partner) == 1
    assert (mailbox.to_dir / built.file_name).read_text() == row.x12


def make_999(groups: list[tuple[str, str, list[str], str]]) -> bytes:
    """A 999 (005010X231A1), one set per group answered: [(our GS06, our GS08, the ST02s it
    accepts, AK901)]. AK1*HC*GS06*GS08 (AK103 names the guide), AK2*837*ST02*ST03, IK5, AK9."""
    bodies = []
    for gcn, guide, sets, code in groups:
        body = [["AK1", "HC", gcn, guide]]
        for st02 in sets:
            body += [["AK2", "837", st02, guide], ["IK5", "A"]]
        count = str(len(sets))
        body.append(["AK9", code, count, count, count if code == "A" else "0"])
        bodies.append(body)
    return from_clearinghouse(bodies, "999", "FA", "005010X231A1")


def make_277ca_institutional(pcn: str, pccn: str) -> bytes:
    """A 277CA (005010X214) accepting one institutional claim: 2200D TRN*2 our CLM01, STC
    A2:20, REF*1K the payer's claim number, REF*BLT the type of bill (institutional claims
    only), DTP*472 the claim's service period (the statement dates)."""
    return make_277ca_answers(
        [(pcn, "A2:20", pccn)], [["REF", "BLT", "111"], ["DTP", "472", "RD8", "20261201-20261204"]]
    )


def ch_partner_config(mailbox) -> dict:
    return partner_config(
        mailbox,
        isa_sender_id="PRACTICE",
        gs_sender_id="PRACTICE",
        isa_receiver_id="CLEARINGHOUSE",
        gs_receiver_id="CLEARINGHOUSE",
    )


async def test_the_institutional_claims_999_and_277ca_are_matched_to_it(
    gateway, gateway_db: Database, mailbox, admin, tmp_path: Path
) -> None:
    (partner,) = write_partners(tmp_path / "p.json", ch_partner_config(mailbox))
    professional, institutional = await queue_mixed(gateway_db, partner)
    built, row, _ = await build_mixed(gateway_db, partner)
    gs06 = [s[6] for s in envelope(row.x12) if s[0] == "GS"]
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        answer = make_999([(gs06[0], X222A2, ["0001", "0002"], "A"), (gs06[1], X223A2, ["0003"], "A")])
        response = await post_file(client, answer, partner_id=partner.id)
        assert response.status_code == 201, response.text
        assert response.json()["state"] == "processed", response.json()
        acks = await staged(admin, "submission_file.acknowledged.v1", {str(built.file_id)})
        # one answer per group, each naming its own GS06 and exactly its own claims
        by_group = {a["group_control_number"]: a for a in acks}
        assert set(by_group) == set(gs06)
        (set_0003,) = by_group[gs06[1]]["sets"]
        assert (set_0003["control_number"], set_0003["claim_ids"]) == ("0003", [str(institutional.claim_id)])
        assert sorted(c for s in by_group[gs06[0]]["sets"] for c in s["claim_ids"]) == sorted(
            str(c.claim_id) for c in professional
        )

        pccn = f"PCCN{uuid.uuid4().hex[:8].upper()}"
        response = await post_file(
            client,
            make_277ca_institutional(institutional.patient_control_number, pccn),
            partner_id=partner.id,
        )
        assert response.status_code == 201, response.text
        assert response.json()["state"] == "processed", response.json()
    (acknowledged,) = await staged(admin, "claim.acknowledged.v1", {str(institutional.claim_id)})
    assert acknowledged["patient_control_number"] == institutional.patient_control_number
    assert acknowledged["payer_claim_control_number"] == pccn
    claim = await admin.fetchrow(
        "SELECT ack_state, ack_source, payer_claim_control_number FROM gateway.outbound_claims "
        "WHERE claim_id = $1",
        institutional.claim_id,
    )
    assert tuple(claim) == ("accepted", "277CA", pccn)


async def test_a_999_rejecting_the_837i_group_rejects_only_the_institutional_claim(
    gateway, gateway_db: Database, mailbox, admin, tmp_path: Path
) -> None:
    (partner,) = write_partners(tmp_path / "p.json", ch_partner_config(mailbox))
    professional, institutional = await queue_mixed(gateway_db, partner)
    built, row, _ = await build_mixed(gateway_db, partner)
    gs06 = [s[6] for s in envelope(row.x12) if s[0] == "GS"]
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        # the 837I group rejected as a whole (AK9 R, no set named), then the 837P group accepted
        answer = make_999([(gs06[1], X223A2, [], "R"), (gs06[0], X222A2, ["0001", "0002"], "A")])
        response = await post_file(client, answer, partner_id=partner.id)
        assert response.status_code == 201, response.text
    keys = {str(institutional.claim_id), *(str(c.claim_id) for c in professional)}
    rejected = await staged(admin, "claim.rejected.v1", keys)
    assert [r["claim_id"] for r in rejected] == [str(institutional.claim_id)]
    states = await admin.fetch(
        "SELECT claim_id, ack_state FROM gateway.outbound_claims WHERE file_id = $1", built.file_id
    )
    assert {r["claim_id"]: r["ack_state"] for r in states} == {
        institutional.claim_id: "rejected",
        **{c.claim_id: "pending" for c in professional},
    }
    file_state = await admin.fetchval(
        "SELECT state FROM gateway.submission_files WHERE id = $1", built.file_id
    )
    assert file_state == "rejected", (
        "a group of the file was rejected; the other's acceptance does not undo it"
    )


def test_pyx12_checks_the_837i_group_of_a_mixed_file_with_the_837i_map() -> None:
    """So that 0 errors above means something: the same writer's mixed file with the 837I set's
    principal diagnosis (2300 HI*ABK, required) left out is refused by the 837I map."""
    partner = make_partner()
    professional = outbound_x12.claim_set(make_837("CLEARINGHOUSE", "P1"))
    institutional = outbound_x12.claim_set(make_837i("CLEARINGHOUSE", "I1"))
    broken = outbound_x12.Set(
        institutional.version, [s for s in institutional.body if s[:2] != ["HI", "ABK:I214"]]
    )

    def mixed(sets: list[outbound_x12.Set]) -> str:
        groups = outbound_x12.grouped(sets)
        return outbound_x12.interchange(
            partner,
            [[sets[i] for i in group] for group in groups],
            transaction_code="837",
            functional_id="HC",
            icn=5,
            gcns=[10 + n for n in range(len(groups))],
            now=datetime(2026, 12, 5, 12, 0),
        )

    assert pyx12_errors_of(mixed([professional, institutional])) == []
    errors = pyx12_errors_of(mixed([professional, broken]))
    assert any('Mandatory segment \\"Principal Diagnosis\\" (HI) missing' in e for e in errors), errors


async def test_a_ta1_rejecting_the_mixed_interchange_rejects_its_837i_claim_too(
    gateway, gateway_db: Database, mailbox, admin, tmp_path: Path
) -> None:
    """TA101 names the interchange (our ISA13), whichever groups it holds: TA104 R rejects the
    837I claim with the 837P ones."""
    (partner,) = write_partners(tmp_path / "p.json", ch_partner_config(mailbox))
    professional, institutional = await queue_mixed(gateway_db, partner)
    _, row, _ = await build_mixed(gateway_db, partner)
    ta1 = (
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*PRACTICE       *261205*1200*^*00501*"
        f"000000901*0*T*:~TA1*{row.interchange_control_number}*261205*1159*R*008~IEA*0*000000901~"
    ).encode()
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        response = await post_file(client, ta1, partner_id=partner.id)
    assert response.status_code == 201, response.text
    assert response.json()["counts"]["claims_rejected"] == 3
    keys = {str(institutional.claim_id), *(str(c.claim_id) for c in professional)}
    rejected = await staged(admin, "claim.rejected.v1", keys)
    assert sorted(r["claim_id"] for r in rejected) == sorted(keys)
