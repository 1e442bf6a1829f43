"""Claim status (005010X212): 276 inquiries to payers, real time or as files, and their 277 answers."""
