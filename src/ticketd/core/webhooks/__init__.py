"""Outbound webhooks to the Standard Webhooks specification: endpoints, the messages derived from
the event log, their signed delivery with retries, and the delivery log."""
