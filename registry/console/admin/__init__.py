"""Administrators' pages: onboarding agencies, organizations, users, CAD clients and MOUs.

Each page calls the service its API route calls, with the same checks in the same order (who
may write, the form's version as the If-Match, then the write), so the API's rules, messages,
history and audit events are the console's. Every administrator's write in the API wants a fresh
login (`fresh=True` on the agencies, organizations, users, CAD clients and MOUs routes): so every
form here has a box for the administrator's own password, checked by
sessions.confirm_password unless they signed in within the fresh-login window.

- common.py: what the pages share (the create and edit steps, values shown, choices, names);
- partners.py: the start page, agencies and organizations;
- accounts.py: users and CAD clients;
- mous.py: MOUs, drafted and taken through the lifecycle's steps.
"""

from . import accounts, mous, partners  # noqa: F401 - their routes join the console's blueprint
