"""Outbound: claims waiting for a file, the interchange files built from them, their upload."""
