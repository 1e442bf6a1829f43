"""Inbox: notifications as their recipient sees them in the app (one per cause event,
recipient and template), read state, and each one's deliveries and attempt history."""
