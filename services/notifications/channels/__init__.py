"""Channels: the providers email and SMS go out through, one small adapter per provider, all
with `send(message) -> None`. The adapters are created when the service starts and closed when
it stops (see `usecases.open_channels`)."""
