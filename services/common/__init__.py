"""Code shared by every service: config, Mongo provider, events, errors, calendar, base schemas.

Kept deliberately small; anything domain-specific belongs to its service.
"""
