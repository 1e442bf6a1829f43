"""Claims service: create, scrub and submit 837P claims; follow up, work denials, appeal, bill secondary."""
