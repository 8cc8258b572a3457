"""Uploaded files (floor plans, MOU documents): their checks, storage and budget."""
