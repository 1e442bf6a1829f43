"""What payers answer to a sent claim: acknowledgments and rejections (277CA), adjudications
(835, as payment.posted), denials queued from them, and billing the next payer."""
