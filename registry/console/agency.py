"""Agency staff's pages: the CAD lookup as a search box, the pre-plan as a responder reads it,
the MOUs with their partners, incidents."""

from .web import bp  # noqa: F401 - routes join the console's blueprint
