"""The front office: patients and their coverage, billing inquiries and disputes, financial
assistance (issue 19).

It owns the patient registry (demographics, guarantor, coverages in order, every change kept),
the tickets billing staff work (inquiries, disputes, their service levels) and the practice's
financial assistance policy with its screenings and applications. The other services learn of
changes through events.
"""
