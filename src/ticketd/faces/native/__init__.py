"""ticketd's own API under /api/v1: JSON, RFC 9457 problems, ETags, Idempotency-Key."""
