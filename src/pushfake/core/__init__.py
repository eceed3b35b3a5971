"""Vendor-neutral machinery: clock, seeded randomness, store, spec loading, request decoding.

Nothing in this package imports a vendor module.
"""
