"""Sending claims: the 837P writer and the one submission path every caller takes (the API, the
encounter handler, corrections and voids, secondary claims)."""
