"""The sheet as one self-contained HTML page: no script, no external file, the ground-level plan
inlined as a `data:` image. Its Content-Security-Policy (`POLICY`) allows exactly that: the one
stylesheet by its hash and `data:` images, nothing else (the API's own policy, default-src
'none', would block both; Swagger UI's would allow scripts)."""

import base64
import hashlib
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from .sheet import Sheet

_environment = Environment(
    loader=PackageLoader("registry.preplans.printing", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)
# Inlined verbatim (Markup: the stylesheet is ours, not data), so its hash is the page's.
_CSS = resources.files(__package__).joinpath("templates/preplan.css").read_text("utf-8")
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
POLICY = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def render(sheet: Sheet) -> str:
    image = base64.b64encode(sheet.plan.png).decode("ascii") if sheet.plan.png else ""
    css = Markup(_CSS)  # noqa: S704 - the package's own stylesheet, never data
    return _environment.get_template("preplan.html").render(sheet=sheet, css=css, plan_image=image)
