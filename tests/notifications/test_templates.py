"""Every template version renders with sample data and passes the PHI scan; the catalogue and
its previews over HTTP."""

from __future__ import annotations

from services.notifications.messages.domain import find_phi
from services.notifications.messages.usecases import render, versions
from services.notifications.settings import NotificationSettings
from services.notifications.templates.domain import PHI_TRAP_VALUES, PHI_TRAPS, SAMPLE_EVENTS, sample_context
from tests.notifications.helpers import READ, running_notifications

# --- must show: every template renders and passes the PHI scan ---------------------------------


def test_every_template_version_renders_with_sample_data_and_passes_the_phi_scan():
    settings = NotificationSettings()
    assert set(versions()) == set(SAMPLE_EVENTS)
    rendered_count = 0
    for name, numbers in versions().items():
        for version in numbers:
            # The sample context plus what the practice knows about the patient: a template that
            # printed any of it would fail here.
            context = {**sample_context(name, settings), **PHI_TRAPS}
            out = render(name, context, version)
            assert out.subject and out.email and out.sms and out.inbox, (name, version)
            for channel_text in (out.subject, out.email, out.sms):
                assert find_phi(channel_text, PHI_TRAP_VALUES) == [], (name, version, channel_text)
            assert find_phi(out.inbox, PHI_TRAP_VALUES) == [], (name, version)
            rendered_count += 1
    assert rendered_count >= 12
    # A message about a claim names the practice and the amount and invites the patient to sign in.
    claim = render("insurance_processed", sample_context("insurance_processed", settings))
    assert settings.practice_name in claim.email and "$1,180.00" in claim.email and "$120.00" in claim.email
    assert settings.sign_in_url in claim.email and settings.sign_in_url in claim.sms


def test_the_phi_scan_catches_what_it_looks_for():
    assert find_phi("Your visit for E11.9 was paid") == ["diagnosis_code"]
    assert find_phi("diagnosis I10 noted") == ["diagnosis_code"]
    assert find_phi("procedure 99213 billed") == ["procedure_code"]
    assert "procedure_code" in find_phi("HCPCS J1100")  # also shaped like ICD-10 J11.00
    assert find_phi("Member ID: XYZ123456") == ["member_id"]
    assert find_phi("member SBX10001") == ["member_id"]
    assert find_phi("DOB 04/12/1961") == ["birth_date"]
    assert find_phi("Dear Jane Q. Doe", ["Jane"]) == ["forbidden_value"]
    # ...and not what merely looks similar: money, dates, receipts, payer ids, CARC codes.
    assert find_phi("$12,345.00 paid on Mar 2, 2026, receipt R-20260302-1A2B3C4D, SBX001, CO-50") == []


async def test_templates_are_listed_and_previewed_with_sample_data(settings, sink):
    async with running_notifications(settings, sink) as (_, client):
        listed = (await client.get("/v1/templates", headers=READ)).json()
        receipt = next(t for t in listed if t["name"] == "payment_receipt")
        assert receipt["versions"] == [1, 2] and receipt["latest"] == 2
        preview = await client.get("/v1/templates/claim_denied/preview", headers=READ)
        assert preview.status_code == 200
        body = preview.json()
        assert body["version"] == 1 and body["phi_findings"] == []
        assert "Recommended action: Appeal" in body["email"]
        old = (await client.get("/v1/templates/payment_receipt/preview?version=1", headers=READ)).json()
        assert old["version"] == 1 and "$40.25" in old["inbox"]
        missing = await client.get("/v1/templates/payment_receipt/preview?version=9", headers=READ)
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "query.version"
