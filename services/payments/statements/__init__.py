"""Patient statements: a cycle issues one per account that owes money, read from the ledger
(charges, what insurance paid, adjustments, patient payments, amount due and due date),
fetchable as JSON, HTML and PDF; each publishes `statement.issued`."""
