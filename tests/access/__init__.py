"""Who may read and write what: the role x record tables and their order of checks."""
