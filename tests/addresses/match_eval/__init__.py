"""The CAD lookup's address-matching evaluation set (facilities, queries) and its loader."""
