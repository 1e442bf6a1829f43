"""Messages: what each event means to whom, rendered from the versioned templates, guarded
against protected health information, and recorded as notifications with one delivery per
channel. The event handlers live here; sending is the deliveries sub-domain's work."""
