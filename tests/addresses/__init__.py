"""The address matcher and its evaluation set (match_eval/)."""
