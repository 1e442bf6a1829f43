"""Bulk-load years of claims history into the claims schema, in SQL (generate_series), for the
history-scale benchmark (bench/history_scale.py).

Every row is generated inside PostgreSQL, so a million claims with their status history,
denials and A/R rows load in minutes. The rows are shaped like the service's own: a claim's
`data` and 837P are about the size of the real ones (so a scan of `claims` reads what it
would read in production), each status change has its history row, adjudicated claims their
A/R rows (charge, insurance payment, contractual write-down, transfer to the patient), denied
and partly paid claims their denial. A few claims are corrections (`original_claim_id`) or
secondary claims (`primary_claim_id`) of an earlier claim, as in a real history.

Statuses (share of claims): paid 64 %, partial 6 %, denied 7 %, appealed 1 %, closed 4 %,
accepted 5 %, submitted 5 %, rejected 2 %, ready 2 %, draft 4 %. One in ten paid claims went out
twice (rejected first). Twelve payers, 200,000 patients.
"""

from __future__ import annotations

# Per claim i (1..$2): created at $1 + i/$2 of $3 days, so the claims spread evenly; `r` is a
# pseudo-random number per claim that picks the status. $4 is a one-letter tag that keeps the
# claims' ids, control numbers and encounters apart from any other load's; the other steps take
# it as $1 and extend only that load's claims (created_by 'bench:<tag>').
CLAIMS = """
INSERT INTO claims (
    id, patient_control_number, status, patient_id, payer_id, coverage_order, frequency_code,
    data, total_charge, date_of_service, encounter_id, original_claim_id, primary_claim_id,
    payer_claim_control_number, x12_837, scrub, first_scrub_clean, submission_count,
    paid_amount, allowed_amount, patient_responsibility, adjudication, created_by,
    created_at, updated_at, first_submitted_at, submitted_at, adjudicated_at)
SELECT md5($4 || 'c' || i)::uuid, $4 || lpad(i::text, 16, '0'), status,
       'P' || (i * 7919 % 200000), 'PAYER' || lpad((i * 31 % 12)::text, 2, '0'),
       CASE WHEN i % 33 = 0 AND i > 100 THEN 'secondary' ELSE 'primary' END,
       CASE WHEN i % 50 = 0 AND i > 100 THEN '7' ELSE '1' END,
       jsonb_build_object(
           'patient', jsonb_build_object('id', 'P' || (i * 7919 % 200000), 'first_name', 'Pat',
               'last_name', 'Patient' || i, 'birth_date', '1970-01-01', 'gender', 'F',
               'address', jsonb_build_object('line1', i || ' Main Street', 'city', 'Springfield',
                   'state', 'IL', 'postal_code', '62701')),
           'subscriber', jsonb_build_object('member_id', 'M' || i, 'relationship', 'self'),
           'billing_provider', jsonb_build_object('npi', '1234567893', 'tax_id', '123456789',
               'name', 'Springfield Family Practice'),
           'diagnoses', jsonb_build_array('E119', 'I10', 'Z0000'),
           'lines', jsonb_build_array(
               jsonb_build_object('procedure_code', '99214', 'modifiers', jsonb_build_array('25'),
                   'charge', charge * 0.6, 'units', 1, 'diagnosis_pointers', jsonb_build_array(1, 2)),
               jsonb_build_object('procedure_code', '93000', 'modifiers', jsonb_build_array(),
                   'charge', charge * 0.4, 'units', 1, 'diagnosis_pointers', jsonb_build_array(2)))),
       charge, created::date, $4 || 'E' || i,
       CASE WHEN i % 50 = 0 AND i > 100 THEN md5($4 || 'c' || (i - 50))::uuid END,
       CASE WHEN i % 33 = 0 AND i > 100 THEN md5($4 || 'c' || (i - 1))::uuid END,
       CASE WHEN adjudicated THEN 'PCN' || i END,
       CASE WHEN submissions > 0 THEN
           'ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *' ||
           to_char(created, 'YYMMDD') || '*1200*^*00501*' || lpad(i::text, 9, '0') || '*0*P*:~' ||
           repeat('NM1*IL*1*PATIENT*PAT****MI*M' || i || '~SV1*HC:99214:25*' || charge || '*UN*1***1:2~', 9)
       END,
       CASE WHEN clean IS NOT NULL THEN jsonb_build_object('errors', CASE WHEN clean THEN 0 ELSE 1 END,
           'warnings', 0, 'edits', jsonb_build_array()) END,
       clean, submissions,
       CASE WHEN paid THEN round(charge * 0.55, 2) END,
       CASE WHEN paid THEN round(charge * 0.7, 2) END,
       CASE WHEN paid THEN round(charge * 0.7, 2) - round(charge * 0.55, 2) END,
       CASE WHEN adjudicated THEN jsonb_build_object('status_code', '1') END,
       'bench:' || $4, created, created + interval '20 days',
       CASE WHEN submissions > 0 THEN created + interval '1 hour' END,
       CASE WHEN submissions > 0 THEN created + interval '1 hour' * submissions END,
       CASE WHEN adjudicated THEN created + interval '14 days' END
FROM (
    SELECT i, created, charge, status,
           status NOT IN ('draft', 'ready', 'submitted', 'accepted', 'rejected') AS adjudicated,
           status IN ('paid', 'partial', 'closed') AS paid,
           CASE WHEN status = 'draft' THEN NULL ELSE i % 12 <> 0 END AS clean,
           CASE WHEN status IN ('draft', 'ready') THEN 0
                WHEN status = 'paid' AND i % 10 = 3 THEN 2 ELSE 1 END AS submissions
    FROM (
        SELECT i, created, round((80 + (i * 104729 % 1900))::numeric, 2) AS charge,
               CASE WHEN r < 0.64 THEN 'paid' WHEN r < 0.70 THEN 'partial' WHEN r < 0.77 THEN 'denied'
                    WHEN r < 0.78 THEN 'appealed' WHEN r < 0.82 THEN 'closed'
                    WHEN r < 0.87 THEN 'accepted' WHEN r < 0.92 THEN 'submitted'
                    WHEN r < 0.94 THEN 'rejected' WHEN r < 0.96 THEN 'ready' ELSE 'draft' END AS status
        FROM (
            SELECT i,
                   CAST($1 AS timestamptz) + (i::float8 / $2::int) * ($3::int * interval '1 day') AS created,
                   ((i * 2654435761) % 1000003)::float8 / 1000003 AS r
            FROM generate_series(1, $2::bigint) AS i
        ) t
    ) u
) v
"""

# Each claim's path through the statuses, one history row per step, a minute apart.
HISTORY = """
INSERT INTO claim_status_history (claim_id, from_status, to_status, actor, reason, changed_at)
SELECT c.id, lag(p.s) OVER (PARTITION BY c.id ORDER BY p.k), p.s, 'bench', NULL,
       c.created_at + p.k * interval '1 minute'
FROM claims c
CROSS JOIN LATERAL unnest(CASE
    WHEN c.status = 'draft' THEN ARRAY['draft']
    WHEN c.status = 'ready' THEN ARRAY['draft', 'ready']
    WHEN c.status = 'submitted' THEN ARRAY['draft', 'ready', 'submitted']
    WHEN c.status = 'accepted' THEN ARRAY['draft', 'ready', 'submitted', 'accepted']
    WHEN c.status = 'rejected' THEN ARRAY['draft', 'ready', 'submitted', 'rejected']
    WHEN c.status = 'paid' AND c.submission_count = 2 THEN
        ARRAY['draft', 'ready', 'submitted', 'rejected', 'ready', 'submitted', 'accepted', 'paid']
    WHEN c.status = 'appealed' THEN ARRAY['draft', 'ready', 'submitted', 'accepted', 'denied', 'appealed']
    WHEN c.status = 'closed' THEN ARRAY['draft', 'ready', 'submitted', 'accepted', 'paid', 'closed']
    ELSE ARRAY['draft', 'ready', 'submitted', 'accepted', c.status] END) WITH ORDINALITY AS p(s, k)
WHERE c.created_by = 'bench:' || $1
"""

DENIALS = """
INSERT INTO denials (id, claim_id, payer_id, patient_id, reason_code, group_code, adjustments,
                     remark_codes, action, denied_amount, payer_claim_control_number, status,
                     denied_at, resolved_at)
SELECT md5('d' || c.id)::uuid, c.id, c.payer_id, c.patient_id,
       (ARRAY['16', '50', '97', '197', '29', '45'])[1 + abs(hashtext(c.id::text)) % 6], 'CO',
       '[]'::jsonb, '[]'::jsonb,
       (ARRAY['correct_and_resubmit', 'appeal', 'write_off'])[1 + abs(hashtext(c.id::text)) % 3],
       CASE WHEN c.status = 'partial' THEN round(c.total_charge * 0.2, 2) ELSE c.total_charge END,
       c.payer_claim_control_number, CASE WHEN c.status = 'appealed' THEN 'resolved' ELSE 'open' END,
       c.adjudicated_at, CASE WHEN c.status = 'appealed' THEN c.adjudicated_at + interval '3 days' END
FROM claims c WHERE c.status IN ('denied', 'partial', 'appealed') AND c.created_by = 'bench:' || $1
"""

# What each claim's payer owes: the charge when it went out, then what the 835 paid, wrote
# down and moved to the patient.
AR = """
INSERT INTO ar_entries (claim_id, payer_id, kind, amount, to_patient, payment_id, group_code,
                        reason_code, recorded_at)
SELECT c.id, c.payer_id, e.kind, e.amount, e.to_patient, e.payment_id, e.group_code, e.reason_code,
       e.at
FROM claims c
CROSS JOIN LATERAL (VALUES
    ('charge', c.total_charge, 0::numeric, NULL::uuid, NULL, NULL, c.submitted_at, true),
    ('insurance_payment', -c.paid_amount, 0, md5('p' || c.id)::uuid, NULL, NULL, c.adjudicated_at,
     c.paid_amount IS NOT NULL),
    ('adjustment', c.paid_amount - c.total_charge + c.patient_responsibility, 0, md5('p' || c.id)::uuid,
     'CO', '45', c.adjudicated_at, c.paid_amount IS NOT NULL),
    ('transfer', -c.patient_responsibility, c.patient_responsibility, md5('p' || c.id)::uuid, 'PR', '2',
     c.adjudicated_at, c.paid_amount IS NOT NULL)
) AS e(kind, amount, to_patient, payment_id, group_code, reason_code, at, present)
WHERE c.submission_count > 0 AND c.status <> 'rejected' AND e.present AND c.created_by = 'bench:' || $1
"""

STEPS = (("claims", CLAIMS), ("claim_status_history", HISTORY), ("denials", DENIALS), ("ar_entries", AR))
