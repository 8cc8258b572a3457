"""The records through the API: CRUD, history, concurrent edits, retries, bad input, secrets."""
