"""Administrators' pages: onboarding agencies, organizations, users, CAD clients and MOUs."""

from .web import bp  # noqa: F401 - routes join the console's blueprint
