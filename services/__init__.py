"""The four services. Each owns one PostgreSQL schema and talks to the others only via Kafka or REST."""
