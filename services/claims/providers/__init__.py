"""The practice's provider registry: who bills and who renders, by NPI, with what the 837P needs
of them (names, the billing street address with ZIP+4, tax id, taxonomy). Claims that arrive
with NPIs only (the EHR's encounters, a REST caller that omits the details) take the rest
from here, and the scrubber holds a claim that still lacks any of it."""
