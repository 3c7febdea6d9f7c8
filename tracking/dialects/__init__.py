"""Vendor dialect adapters: a vendor payload in, canonical messages out."""
