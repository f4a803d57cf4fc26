"""The HTTP layer's parts: one Powertools Router per resource (service, flows,
executions, compat), the request parameters they share (params), the error statuses and
answer shapes (responses), and the domain services they call (services)."""
