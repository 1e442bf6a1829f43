"""The patient registry: demographics, guarantor, coverages in order, every change kept."""
