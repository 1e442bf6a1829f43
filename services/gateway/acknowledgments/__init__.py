"""Acknowledgments: TA1, 999 and 277CA files read, matched to our submission files and claims,
and published as `submission_file.acknowledged`, `claim.acknowledged` and `claim.rejected`."""
