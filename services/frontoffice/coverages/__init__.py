"""A patient's coverages in coordination-of-benefits order (primary, secondary, tertiary):
payer, plan, member id, group, subscriber and relationship, effective and termination dates;
each change classified (added, member id corrected, terminated, reordered, updated)."""
