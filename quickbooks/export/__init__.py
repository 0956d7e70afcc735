"""Documents out: approved documents made to match in QuickBooks (outbox → delivery → settle)."""
