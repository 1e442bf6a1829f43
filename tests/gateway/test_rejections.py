"""Must-show "rejections": a 999 with IK5*R rejects exactly the claims of that transaction set,
naming segment and element (the others are not rejected, and a 277CA then accepts them); a TA1
rejection (TA104 R) rejects every claim of the interchange it answers."""

from __future__ import annotations

from tests.conftest import unique
from tests.gateway.helpers import (
    claim_row,
    make_277ca,
    make_999,
    make_999_groups,
    make_partner,
    make_ta1,
    post_file,
    seed_file,
    staged,
)


async def test_999_ik5_r_rejects_exactly_the_claims_of_that_set(gateway, admin) -> None:
    partner = make_partner()
    a, b, c = (unique(p)[:17] for p in "ABC")
    file_id, claims = await seed_file(
        admin, partner.id, icn="000004501", gcn="4501", claims=[(a, "0001"), (b, "0002"), (c, "0003")]
    )
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        response = await post_file(client, make_999("4501"), partner_id=partner.id)
        assert response.status_code == 201, response.text
        assert response.json()["state"] == "processed"

        rejected = await staged(admin, "claim.rejected.v1", {str(i) for i in claims.values()})
        assert [r["claim_id"] for r in rejected] == [str(claims[b])], "only set 0002 (IK5*R) is rejected"
        (reason,) = rejected[0]["reasons"]
        assert reason["code"] == "999:IK403-1", "loop 2110 IK403 1: required data element missing"
        located = (
            reason["segment_id"],
            reason["segment_position"],
            reason["loop_id"],
            reason["element_position"],
        )
        assert located == ("NM1", 18, "2010BA", 9), "loop 2100 IK3 NM1/18/2010BA and loop 2110 IK401 9"
        assert reason["message"] == (
            "segment NM1, position 18, loop 2010BA, element 09: Required Data Element Missing"
        ), "segment and element named in words"
        assert [(await claim_row(admin, claims[p]))["ack_state"] for p in (a, b, c)] == [
            "pending",
            "rejected",
            "pending",
        ]
        (ack,) = await staged(admin, "submission_file.acknowledged.v1", {str(file_id)})
        assert ack["code"] == "P", "AK901 P: partially accepted"
        assert [(s["control_number"], s["code"]) for s in ack["sets"]] == [
            ("0001", "A"),
            ("0002", "R"),
            ("0003", "A"),
        ]

        # The two others go on: the payer's 277CA accepts them (matched by CLM01 = 2200D TRN02).
        response = await post_file(client, make_277ca([a, c]), partner_id=partner.id)
    assert response.json()["counts"] == {"claims": 2, "matched": 2, "accepted": 2, "rejected": 0}
    accepted = await staged(admin, "claim.acknowledged.v1", {str(i) for i in claims.values()})
    assert sorted(e["claim_id"] for e in accepted) == sorted([str(claims[a]), str(claims[c])])
    assert (await claim_row(admin, claims[b]))["ack_state"] == "rejected"


async def test_a_999_of_several_groups_rejects_in_each_file_and_warns_of_a_group_not_ours(
    gateway, admin
) -> None:
    """One 999 interchange answering two of our files (a group each, one GS06 zero-padded) and a
    group we never sent: each file's IK5*R set is rejected and each file has its own
    acknowledgment; the stranger is a located warning, not a review."""
    partner = make_partner()
    a, b, c = (unique(p)[:17] for p in "HJK")
    first_id, first = await seed_file(
        admin, partner.id, icn="000004511", gcn="4511", claims=[(a, "0001"), (b, "0002")]
    )
    second_id, second = await seed_file(admin, partner.id, icn="000004512", gcn="4512", claims=[(c, "0001")])
    content = make_999_groups([("4511", ["A", "R"]), ("000004512", ["R"]), ("4599", ["A"])])
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        response = await post_file(client, content, partner_id=partner.id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "processed"
    assert body["counts"] == {"groups": 3, "matched": 2, "sets": 3, "claims_rejected": 2}
    (stranger,) = [e for e in body["errors"] if e["rule"] == "unmatched"]
    assert (stranger["severity"], stranger["segment"]) == ("warning", "AK1")

    claims = {**first, **second}
    rejected = await staged(admin, "claim.rejected.v1", {str(i) for i in claims.values()})
    assert sorted(r["claim_id"] for r in rejected) == sorted([str(claims[b]), str(claims[c])])
    assert [(await claim_row(admin, claims[p]))["ack_state"] for p in (a, b, c)] == [
        "pending",
        "rejected",
        "rejected",
    ]
    acks = await staged(admin, "submission_file.acknowledged.v1", {str(first_id), str(second_id)})
    assert sorted((k["group_control_number"], [s["code"] for s in k["sets"]]) for k in acks) == [
        ("4511", ["A", "R"]),
        ("4512", ["R"]),
    ]


async def test_ta1_rejection_rejects_every_claim_of_the_file(gateway, admin) -> None:
    partner = make_partner()
    pcns = [unique(p)[:17] for p in "DEF"]
    file_id, claims = await seed_file(
        admin, partner.id, icn="000000777", gcn="777", claims=[(p, f"000{n}") for n, p in enumerate(pcns, 1)]
    )
    other_id, others = await seed_file(admin, partner.id, icn="000000778", gcn="778", claims=[("G1", "0001")])
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        response = await post_file(client, make_ta1("000000777", "R", "008"), partner_id=partner.id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["kind"], body["state"], body["counts"]["claims_rejected"]) == ("TA1", "processed", 3)

    rejected = await staged(admin, "claim.rejected.v1", {str(i) for i in claims.values()})
    assert sorted(r["claim_id"] for r in rejected) == sorted(str(i) for i in claims.values()), (
        "TA104 R: every claim of the interchange TA101 names"
    )
    for event in rejected:
        (reason,) = event["reasons"]
        assert (reason["code"], reason["source"]) == ("TA1:008", "TA1"), "TA105 008"
        assert "Invalid Interchange Receiver ID" in reason["message"], "TA105 008's description"
    assert await staged(admin, "claim.rejected.v1", {str(others["G1"])}) == [], "another file is untouched"

    (ack,) = await staged(admin, "submission_file.acknowledged.v1", {str(file_id)})
    assert (ack["kind"], ack["code"], ack["note_code"]) == ("TA1", "R", "008")
    sent = await admin.fetchrow(
        "SELECT state, ta1_code, ta1_note FROM gateway.submission_files WHERE id = $1", file_id
    )
    assert tuple(sent) == ("rejected", "R", "008")
    other = await admin.fetchrow("SELECT state FROM gateway.submission_files WHERE id = $1", other_id)
    assert other["state"] == "uploaded"


async def test_ta1_acceptance_rejects_nothing(gateway, admin) -> None:
    partner = make_partner()
    file_id, claims = await seed_file(admin, partner.id, icn="000000779", gcn="779", claims=[("H1", "0001")])
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        response = await post_file(client, make_ta1("000000779", "A", "000"), partner_id=partner.id)
    assert response.json()["state"] == "processed"
    assert await staged(admin, "claim.rejected.v1", {str(claims["H1"])}) == []
    (ack,) = await staged(admin, "submission_file.acknowledged.v1", {str(file_id)})
    assert (ack["code"], ack["note_code"]) == ("A", "000")
    sent = await admin.fetchrow("SELECT state FROM gateway.submission_files WHERE id = $1", file_id)
    assert sent["state"] == "acknowledged"


async def test_a_ta1_beside_a_999_in_one_interchange_is_read_with_it(gateway, admin) -> None:
    """ISA TA1 GS…GE IEA: the interchange's TA1 and the group's 999 both answer our file."""
    partner = make_partner()
    a, b, c = (unique(p)[:17] for p in "KLM")
    file_id, claims = await seed_file(
        admin, partner.id, icn="000004503", gcn="4503", claims=[(a, "0001"), (b, "0002"), (c, "0003")]
    )
    isa, rest = make_999("4503").split(b"~", 1)
    content = isa + b"~TA1*000004503*261205*1200*A*000~" + rest
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        response = await post_file(client, content, partner_id=partner.id)
    body = response.json()
    assert (body["kind"], body["state"]) == ("999", "processed"), body
    assert body["counts"]["ta1_matched"] == 1 and body["counts"]["claims_rejected"] == 1
    acks = await staged(admin, "submission_file.acknowledged.v1", {str(file_id)})
    assert sorted(e["kind"] for e in acks) == ["999", "TA1"], "TA104 A and the 999's AK9 P, both recorded"
    rejected = await staged(admin, "claim.rejected.v1", {str(i) for i in claims.values()})
    assert [r["claim_id"] for r in rejected] == [str(claims[b])], "the TA1 accepted: only IK5*R's set"
