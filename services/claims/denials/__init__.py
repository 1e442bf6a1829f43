"""The denials work queue (who works which denial, how it ended) and appeals with their letters."""
