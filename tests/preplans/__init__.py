"""The CAD lookup, the pre-plan document and its cache, incidents and break-glass."""
