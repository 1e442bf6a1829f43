"""Coverage: what a payer's 271 says about one patient (X12 005010X279A1), read into plain data
and folded into what the front desk asks per service type (copay, coinsurance, deductible and
out-of-pocket, in and out of network). No I/O: checks call it with the payer's answer."""
