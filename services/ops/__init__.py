"""The ops console: one page where operations staff see every service's health, consumer lag,
outbox backlog, dead letters and stuck work, and replay dead letters. It keeps no state."""
