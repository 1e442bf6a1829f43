"""`make demo`: a simulated clinic day through the running platform and the billing manager's report."""
