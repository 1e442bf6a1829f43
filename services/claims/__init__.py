"""Claims service: Claim creation, scrubbing, 837P submission, follow-up, denials, appeals and secondary billing."""
