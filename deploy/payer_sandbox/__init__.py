"""The payer sandbox: a partner system (clearinghouse + payers + EHR) for development,
tests, the demo and benchmarks. It talks to the platform only through HTTP (270/271) and
Kafka (claim.submitted in; claim.acknowledged / claim.rejected / remittance.received out;
encounter.completed from the EHR generator). See docs/payer_sandbox.md."""
