"""The clearinghouse gateway: X12 files to and from trading partners' SFTP mailboxes.

It owns submission files, interchange control numbers, mailbox state and received files. It
turns `claim.submitted` 837s into interchange files per trading partner, uploads them, takes
each TA1, 999, 277CA, 277 and 835 the partner leaves exactly once, and publishes what they say
(docs/gateway.md, docs/clearinghouse.md).
"""
