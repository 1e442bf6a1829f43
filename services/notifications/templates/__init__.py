"""Templates: the catalogue of versioned message templates over the API, listed with their
versions and previewed with a sample event each.

The files are `messages/templates/<name>/v<N>.j2`, one per version, rendered by the messages
sub-domain (`messages.usecases.render`), which the previews go through too. A file never
changes once messages were sent with it: a new wording is a new file `v<N+1>`, and the highest
version is the one in use.
"""
