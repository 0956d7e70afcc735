"""Payments in: QuickBooks bill payments become payments here (webhooks, catch-up, date-range import)."""
