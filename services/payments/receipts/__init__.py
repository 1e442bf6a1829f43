"""Received files, the front door of every 835: the upload (`POST /v1/remittances`), the
`remittance.received` handler and a repair of a received file all go through the intake
(kept first, each set decided on its own); here is what became of each file, every error of
it as a 999 would list them, where each of its cents went, and the worker that finishes a
file whose processing crashed."""
