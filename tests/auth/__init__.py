"""Logins, tokens, lockout and login limits."""
