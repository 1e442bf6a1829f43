"""The console: the ops page, and the JSON it shows, gathered from every service's operations
routes (`/v1/ops/overview`, `/v1/ops/dead-letters`) over HTTP with the operator's token."""
