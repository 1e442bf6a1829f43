"""Templates: the versioned message templates, `<name>/v<N>.j2` in this folder, one file per
version, listed and previewed over the API with a sample event each.

A file never changes once messages were sent with it: a new wording is a new file `v<N+1>`,
and the highest version is the one in use. Rendering them for events is the messages
sub-domain's work (`messages.usecases.render`); the previews here go through it too.
"""
