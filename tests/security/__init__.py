"""Cross-cutting security suites: the OWASP API Top 10 checklist, fuzzing against the API
document, and the fixes from the outside security test."""
