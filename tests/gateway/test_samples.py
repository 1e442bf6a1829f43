"""Must-show "public samples": every 999 and 277CA in ../shared/samples/x12 (their facts in
its README and in /work/notes/issue18-plan.md §4) uploaded through POST /v1/files reads to the
claim statuses and errors it states. Our submission files and claims with the control numbers
and patient control numbers the samples answer are seeded first, as the outbound part files
them. The samples' defects (IEA02 ≠ ISA13, no 2200C STC) are read through and recorded as
warnings on the file, not sent to review."""

from __future__ import annotations

import os

from tests.conftest import unique
from tests.gateway.helpers import SAMPLES, claim_row, post_sample, sample, staged


def test_every_999_and_277ca_sample_has_a_test_here() -> None:
    """A sample added to the folders without a test here fails this."""
    found = {
        f"{folder}/{name}"
        for folder in ("999_005010X231A1", "277CA_005010X214")
        for name in os.listdir(f"{SAMPLES}/{folder}")
    }
    assert found == {
        "999_005010X231A1/accepted.999",
        "999_005010X231A1/rejected.999",
        "277CA_005010X214/accepted.277",
        "277CA_005010X214/rejected.277",
    }


def _warning_rules(body: dict) -> set[str]:
    return {e["rule"] for e in body["errors"] if e["severity"] == "warning"}


async def test_rejected_999_rejects_the_claim_of_set_0028_naming_nm_position_17(gateway, admin) -> None:
    pcn = unique("P")[:17]
    body, _, file_id, claims = await post_sample(
        gateway, admin, "999_005010X231A1/rejected.999", icn="000000028", gcn="28", claims=[(pcn, "0028")]
    )
    assert (body["kind"], body["state"]) == ("999", "processed"), body
    assert body["counts"]["claims_rejected"] == 1

    rejected = await staged(admin, "claim.rejected.v1", {str(claims[pcn])})
    assert len(rejected) == 1, "999 loop 2000 IK5*R: the claim of set AK202 0028 is rejected"
    (reason,) = rejected[0]["reasons"]
    assert reason["code"] == "999:IK304-1", "loop 2100 IK304 1 names the error"
    assert (reason["source"], reason["segment_id"], reason["segment_position"]) == ("999", "NM", 17), (
        "loop 2100 IK301 NM, IK302 17 locate the segment"
    )
    assert "Unrecognized segment ID" in reason["message"], "IK304 1's published description"

    (ack,) = await staged(admin, "submission_file.acknowledged.v1", {str(file_id)})
    assert (ack["kind"], ack["code"], ack["group_control_number"]) == ("999", "R", "28"), "AK901 R, AK102 28"
    assert (ack["sets_included"], ack["sets_received"], ack["sets_accepted"]) == (1, 1, 0), "AK902-AK904"
    (set_ack,) = ack["sets"]
    assert (set_ack["control_number"], set_ack["code"]) == ("0028", "R"), "loop 2000 AK202 0028, IK501 R"
    assert set_ack["claim_ids"] == [str(claims[pcn])]
    assert set_ack["errors"][0]["error_code"] == "1" and set_ack["errors"][0]["segment_id"] == "NM"

    row = await claim_row(admin, claims[pcn])
    assert (row["ack_state"], row["ack_source"]) == ("rejected", "999")
    sent = await admin.fetchrow("SELECT state, ack_code FROM gateway.submission_files WHERE id = $1", file_id)
    assert (sent["state"], sent["ack_code"]) == ("rejected", "R")


async def test_accepted_999_accepts_set_0001_and_warns_of_its_iea02(gateway, admin) -> None:
    pcn = unique("P")[:17]
    body, _, file_id, claims = await post_sample(
        gateway, admin, "999_005010X231A1/accepted.999", icn="000017456", gcn="17456", claims=[(pcn, "0001")]
    )
    assert (body["kind"], body["state"]) == ("999", "processed"), "IEA02 ≠ ISA13: read through, not reviewed"
    iea = [e for e in body["errors"] if e["segment"] == "IEA" and e["element"] == 2]
    assert iea, "the IEA02 defect is recorded on the file"
    assert _warning_rules(body) == {"envelope"}

    (ack,) = await staged(admin, "submission_file.acknowledged.v1", {str(file_id)})
    assert (ack["code"], ack["group_control_number"]) == ("A", "17456"), "AK9*A for AK1*HC*17456"
    assert [(s["control_number"], s["code"], s["claim_ids"]) for s in ack["sets"]] == [
        ("0001", "A", [str(claims[pcn])])
    ], "loop 2000 AK2 0001 IK5*A"
    assert await staged(admin, "claim.rejected.v1", {str(claims[pcn])}) == []
    row = await claim_row(admin, claims[pcn])
    assert row["ack_state"] == "pending", "a 999 acceptance is not the payer's: the 277CA decides"
    sent = await admin.fetchrow("SELECT state, ack_code FROM gateway.submission_files WHERE id = $1", file_id)
    assert (sent["state"], sent["ack_code"]) == ("acknowledged", "A")


async def test_accepted_277ca_acknowledges_pcn_5781_a2_20_with_payer_claim_number(gateway, admin) -> None:
    body, _, _, claims = await post_sample(
        gateway, admin, "277CA_005010X214/accepted.277", icn="000000674", gcn="674", claims=[("5781", "0001")]
    )
    assert (body["kind"], body["state"]) == ("277CA", "processed"), body
    assert _warning_rules(body) == {"2200C_STC"}, "no 2200C STC: a warning, not review (HL*4*3*PT is right)"

    (ack,) = await staged(admin, "claim.acknowledged.v1", {str(claims["5781"])})
    assert ack["payer_claim_control_number"] == "1107000000014420", "loop 2200D REF*1K"
    assert (ack["source"], ack["file_id"]) == ("277CA", body["id"])
    (status,) = ack["statuses"]
    assert (status["category_code"], status["status_code"]) == ("A2", "20"), "loop 2200D STC01 A2:20"
    assert status["category_description"].startswith("Acknowledgement/Acceptance into adjudication system")
    assert status["status_description"] == "Accepted for processing."
    row = await claim_row(admin, claims["5781"])
    assert (row["ack_state"], row["ack_source"], row["payer_claim_control_number"]) == (
        "accepted",
        "277CA",
        "1107000000014420",
    )


async def test_rejected_277ca_rejects_pcn_3920394930203_a7_562_85(gateway, admin) -> None:
    body, raw, _, claims = await post_sample(
        gateway,
        admin,
        "277CA_005010X214/rejected.277",
        icn="000001120",
        gcn="1120",
        claims=[("3920394930203", "0001")],
    )
    assert body["state"] == "processed"
    assert _warning_rules(body) == {"2200C_STC"}, "loop 2200C without STC: a warning"
    assert raw == sample("277CA_005010X214/rejected.277").decode(), "kept exactly as received"

    (rejection,) = await staged(admin, "claim.rejected.v1", {str(claims["3920394930203"])})
    (reason,) = rejection["reasons"]
    assert reason["code"] == "A7:562:85", "loop 2200D STC01 A7|562|85 (ISA16 '|')"
    assert (reason["source"], reason["category_code"], reason["status_code"], reason["entity_code"]) == (
        "277CA",
        "A7",
        "562",
        "85",
    )
    assert "Rejected for Invalid Information" in reason["message"], "category A7's description"
    assert "National Provider Identifier (NPI)" in reason["message"], "status 562's description"
    assert "Billing Provider" in reason["message"], "entity 85's description"
    row = await claim_row(admin, claims["3920394930203"])
    assert (row["ack_state"], row["payer_claim_control_number"]) == ("rejected", "1107000000001120")
