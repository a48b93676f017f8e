"""Billing: orders from billing_queue, usage events rated from a price list (DESIGN.md 7)."""
