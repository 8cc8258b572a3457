"""Street aliases, as NENA's Alias / AliasSet: another name for a site address or a street,
added by a person, with who and when, and reviewable; never a blanket rewrite."""
