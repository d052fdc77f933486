"""The notification outbox and its delivery adapters."""
