"""Correction reports: a responder says part of a pre-plan is wrong; the facility's managers
answer it (NG9-1-1's discrepancy report, for pre-plans)."""
