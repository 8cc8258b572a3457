"""The Api object: flask-restx as the router under API_PREFIX and the generator of its document.

Every error from every route is shaped in errors.py (see its docstring for why).
"""

from flask_restx import Api

from .. import errors

# Every route of the API lives under this prefix; nothing else spells it out.
API_PREFIX = "/api/v1"


class RegistryApi(Api):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Listed so the document's `produces` names the error media type; JSON stays the default.
        self.representations[errors.PROBLEM_JSON] = self.representations["application/json"]

    def handle_error(self, e):
        return errors.problem_response(e)
