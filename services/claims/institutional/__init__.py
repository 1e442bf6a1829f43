"""Institutional claims (UB-04, 837I 005010X223A2): the facility's type of bill, stay, codes and
DRG, its scrubber edits, and the 837I writer."""
