"""Joint exercises at a facility, and after-action findings (of an exercise or a real incident)
with their follow-ups."""
