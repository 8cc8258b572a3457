"""The running service: health, errors, HTTP hardening, the API document, migrations, backups
and the access log."""
