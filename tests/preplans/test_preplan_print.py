"""The printable pre-plan (issue 11, item 4): GET /preplans/{id} as HTML or PDF, by Accept or
?format=; an Accept it cannot answer is a 406. One page of "first five minutes", no external
asset, the break-glass banner on break-glass prints, every print audited like a read."""

import base64
import hashlib
import html
import re
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pypdfium2
import pytest
from sqlalchemy import select, update

from registry import transaction
from registry.audit.models import AuditEvent
from registry.db import utcnow
from registry.facilities.models import ACCESS_POINT_KINDS, TACTICAL_POINT_KINDS
from registry.floorplans.storage import preview_key
from registry.organizations.models import Organization
from registry.preplans.document import cache
from registry.preplans.printing import html as print_html
from registry.preplans.printing.sheet import KIND_LABELS
from tests import sample_files
from tests.conftest import assert_problem, count
from tests.file_store import file_part
from tests.file_store import store as store  # a fixture: the local and the S3 file store

API = "/api/v1"
HTML, PDF = "text/html", "application/pdf"
DOOR_CODE, KEY_PLACE = "4711#", "Behind the loading dock's left pillar"


def url(facility_id: int) -> str:
    return f"{API}/preplans/{facility_id}"


def upload_plan(client, headers, facility_id, level_number: int, label: str, png: bytes):
    response = client.post(
        f"{API}/facilities/{facility_id}/floor-plans",
        data={
            "building": "Main building",
            "level_number": str(level_number),
            "level_label": label,
            "title": f"{label} plan",
            "file": file_part(png, f"{label}.png"),
        },
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def site(make, client):
    """A store shared with Springfield PD: contacts, points of every first-five-minutes kind,
    a key box with a code, hazards, and plans of the ground floor and the basement."""
    cache.clear()
    org = make.organization(name="Prairie Goods Stores")
    agency = make.agency(name="Springfield Police Department")
    outsider = make.agency(name="Chatham Police Department")
    facility = make.facility(
        org,
        name="Prairie Goods #12",
        hazards="Propane cages at the loading dock",
        main_phone="+12175550100",
        occupancy=850,
        aed_locations="Front registers",
    )
    mou = make.mou(org, agency, title="Springfield data sharing 2026")
    contacts = [
        make.contact(facility_id=facility.id, name="Dana Night", call_order=2),
        make.contact(
            facility_id=facility.id,
            name="Sam Around-the-clock",
            call_order=1,
            available_24_7=True,
            role="Security operations",
            phones=[{"kind": "mobile", "number": "+12175550111"}],
            confirmed_at=utcnow() - timedelta(days=3),
        ),
        make.contact(
            facility_id=facility.id,
            name="Ann Daytime",
            call_order=1,
            phones=[{"kind": "office", "number": "+12175550122", "extension": "12"}],
        ),
    ]
    points = {
        "entrance": make.access_point(facility, kind="entrance", name="Front doors"),
        "key_box": make.access_point(
            facility,
            kind="key_box",
            name="Knox box by the north door",
            code=DOOR_CODE,
            key_location=KEY_PLACE,
            lat=39.8009,
            lon=-89.6,
        ),
        "fire_alarm_panel": make.access_point(
            facility, kind="fire_alarm_panel", name="FACP in the vestibule", level="Ground"
        ),
        "loading_dock": make.access_point(facility, kind="loading_dock", name="Dock 2"),
    }
    for kind, name in (
        ("staging_area", "North lot"),
        ("command_post", "Bank parking lot"),
        ("casualty_collection_point", "Garden center"),
        ("reunification_site", "Lincoln Elementary gym"),
        ("family_assistance_center", "Holiday Inn ballroom"),
        ("media_area", "Corner of 5th and Main"),
    ):
        points[kind] = make.tactical_point(facility, kind=kind, name=name)
    manager = make.manager(org)
    ground = upload_plan(
        client, manager, facility.id, 0, "Ground floor", sample_files.png((300, 200))
    )
    upload_plan(client, manager, facility.id, -1, "Basement", sample_files.png(color="red"))
    return SimpleNamespace(
        org=org,
        agency=agency,
        facility=facility,
        mou=mou,
        contacts=contacts,
        points=points,
        ground=ground,
        manager=manager,
        officer=make.officer(agency),
        cad=make.headers(make.cad_client(agency)),
        outsider=make.officer(outsider),
        other_manager=make.manager(make.organization()),
        admin=make.admin(),
    )


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page, as a PDF reader extracts it (PDFium, as the upload checks use)."""
    document = pypdfium2.PdfDocument(data)
    try:
        pages = []
        for page in document:
            text_page = page.get_textpage()
            pages.append(text_page.get_text_range())
            text_page.close()
            page.close()
        return pages
    finally:
        document.close()


def flat(text: str) -> str:
    """Text with line breaks and runs of spaces as single spaces (a PDF wraps its lines)."""
    return re.sub(r"\s+", " ", text)


def printed(client, site, format: str, headers=None, by_query=False):
    headers = headers or site.officer
    if by_query:
        response = client.get(
            url(site.facility.id), query_string={"format": format}, headers=headers
        )
    else:
        accept = {"html": HTML, "pdf": PDF}[format]
        response = client.get(url(site.facility.id), headers={**headers, "Accept": accept})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def preplan_views(app) -> list[AuditEvent]:
    with app.app_context(), transaction.session_scope() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "preplan.view").order_by(AuditEvent.id)
        ).all()
        session.expunge_all()
        return events


@pytest.mark.parametrize("by_query", [False, True], ids=["accept", "format"])
def test_html_page_has_the_first_five_minutes(client, site, by_query):
    response = printed(client, site, "html", by_query=by_query)
    assert response.content_type == "text/html; charset=utf-8"
    assert response.headers["Vary"] == "Accept"
    assert "preplan-" in response.headers["Content-Disposition"]
    page = response.get_data(as_text=True)
    assert "Prairie Goods #12" in page
    assert f"{site.facility.address_line1}" in page and "Springfield, IL 62701" in page
    assert "39.80000, -89.60000" in page
    # Contacts in call order; the 24/7 one first among equals, and marked.
    names = [c.name for c in site.contacts]
    order = [page.index(name) for name in ("Sam Around-the-clock", "Ann Daytime", "Dana Night")]
    assert order == sorted(order), names
    marked = re.findall(r'<tr class="marked">(.*?)</tr>', page, re.S)
    assert len(marked) == 1 and "Sam Around-the-clock" in marked[0] and "24/7" in marked[0]
    assert "+12175550122 ext. 12 (office)" in page
    for point in site.points.values():
        assert point.name in page
    for label in ("Entrance", "Key box", "Fire alarm panel", "Staging", "Command post"):
        assert f"<td>{label}</td>" in page
    for label in ("Casualty collection", "Reunification site", "Family assistance center"):
        assert f"<td>{label}</td>" in page
    assert "Other access points" in page and "Dock 2" in page
    assert "100 m N of the facility (39.80090, -89.60000)" in page  # the key box
    assert "Propane cages at the loading dock" in page and "Front registers" in page
    # How fresh each part is.
    today = utcnow().date().isoformat()
    assert f"updated {today}" in page
    assert f"verified {(utcnow() - timedelta(days=3)).date().isoformat()}" in page
    assert "never verified" in page
    # Who shared it under which MOU.
    assert (
        f"Prairie Goods Stores shares with Springfield Police Department under MOU "
        f"#{site.mou.id} “Springfield data sharing 2026”"
    ) in page
    # The ground floor's plan, inlined; the basement named.
    assert "Ground floor — Ground floor plan" in page
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', page)
    assert "Other levels in the registry: Main building Basement." in page


def test_html_has_no_script_no_external_asset_and_its_own_policy(client, site):
    response = printed(client, site, "html")
    page = response.get_data(as_text=True)
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "@import" not in page and "url(" not in page
    policy = response.headers["Content-Security-Policy"]
    assert "script-src" not in policy and "unsafe-inline" not in policy
    assert "default-src 'none'" in policy and "img-src data:" in policy
    # The one stylesheet is allowed by its hash, and no element carries a style attribute.
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    assert " style=" not in page
    # The API's own policy is unchanged for JSON.
    json_policy = client.get(url(site.facility.id), headers=site.officer).headers
    assert json_policy["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_text_is_escaped_in_html(client, site, app):
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            update(Organization)
            .where(Organization.id == site.org.id)
            .values(name="<script>alert(1)</script> Goods")
        )
    page = printed(client, site, "html").get_data(as_text=True)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Goods" in page


@pytest.mark.parametrize("by_query", [False, True], ids=["accept", "format"])
def test_pdf_has_the_first_five_minutes_on_page_one(client, site, by_query):
    response = printed(client, site, "pdf", by_query=by_query)
    assert response.mimetype == PDF
    assert response.headers["Vary"] == "Accept"
    data = response.get_data()
    assert data.startswith(b"%PDF-")
    pages = pdf_pages(data)
    first = flat(pages[0])
    for text in (
        "Prairie Goods #12",
        "+12175550111",
        "Sam Around-the-clock",
        "24/7",
        "Front doors",
        "Knox box by the north door",
        "FACP in the vestibule",
        "North lot",
        "Bank parking lot",
        "Garden center",
        "Lincoln Elementary gym",
        "Holiday Inn ballroom",
        "Propane cages at the loading dock",
        "Springfield Police Department",
        "Ground floor plan",
    ):
        assert text in first, text
    assert first.index("Sam Around-the-clock") < first.index("Ann Daytime")
    assert first.index("Ann Daytime") < first.index("Dana Night")
    assert f"page 1 of {len(pages)}" in first
    # The plan's preview is drawn on page one.
    document = pypdfium2.PdfDocument(data)
    kinds = [obj.type for obj in document[0].get_objects()]
    document.close()
    assert pypdfium2.raw.FPDF_PAGEOBJ_IMAGE in kinds


def test_a_long_preplan_keeps_the_essentials_on_page_one(client, site, make):
    for n in range(40):
        make.access_point(
            site.facility, kind="emergency_exit", name=f"Exit {n}", notes="Alarmed door. " * 8
        )
    pages = pdf_pages(printed(client, site, "pdf").get_data())
    assert len(pages) >= 2
    first, rest = flat(pages[0]), flat(" ".join(pages[1:]))
    for text in ("Sam Around-the-clock", "Knox box by the north door", "Holiday Inn ballroom"):
        assert text in first
    assert "Exit 39" in rest
    # The later pages say whose they are.
    assert "Prairie Goods #12 — pre-plan, continued" in flat(pages[1])


def test_codes_and_key_locations_are_never_printed(client, site):
    page = printed(client, site, "html").get_data(as_text=True)
    pdf_text = flat(" ".join(pdf_pages(printed(client, site, "pdf").get_data())))
    for text in (page, pdf_text):
        assert DOOR_CODE not in text and KEY_PLACE not in text
        assert "Code and key location on file: reveal in the registry." in flat(text)


def test_unicode_names_render_in_the_pdf(client, site, app, make):
    facility = make.facility(site.org, name="Łódź Café 東京 Ελλάδα")
    make.contact(facility_id=facility.id, name="Zoë Ñúñez 김민준", available_24_7=True)
    cache.clear()
    response = client.get(url(facility.id), headers={**site.officer, "Accept": PDF})
    assert response.status_code == 200
    text = flat(pdf_pages(response.get_data())[0])
    assert "Łódź Café 東京 Ελλάδα" in text
    assert "Zoë Ñúñez 김민준" in text
    page = client.get(url(facility.id), headers={**site.officer, "Accept": HTML})
    assert "Łódź Café 東京 Ελλάδα" in page.get_data(as_text=True)


def test_an_accept_it_cannot_answer_is_406_and_not_audited(client, site, app):
    for accept in ("text/csv", "application/xml", "image/png, text/plain"):
        response = client.get(url(site.facility.id), headers={**site.officer, "Accept": accept})
        body = assert_problem(response, 406)
        assert body["type"] == "urn:partner-registry:problem:not-acceptable"
        assert "text/html" in body["detail"] and "application/pdf" in body["detail"]
    # A refused request read nothing: like a 404, it is not in the audit trail.
    assert count(app, AuditEvent, AuditEvent.action == "preplan.view") == 0
    assert_problem(
        client.get(url(site.facility.id), query_string={"format": "csv"}, headers=site.officer),
        422,
        "format",
    )
    # ?format= names one outright, whatever Accept says.
    named = client.get(
        url(site.facility.id) + "?format=pdf", headers={**site.officer, "Accept": "text/csv"}
    )
    assert named.status_code == 200 and named.mimetype == PDF


@pytest.mark.parametrize("accept", [None, "", "*/*", "application/json", "application/*"])
def test_json_stays_the_default(client, site, accept):
    headers = dict(site.officer)
    if accept is not None:
        headers["Accept"] = accept
    response = client.get(url(site.facility.id), headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json["facility"]["name"] == "Prairie Goods #12"


def test_a_browser_gets_the_page(client, site):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get(url(site.facility.id), headers={**site.officer, "Accept": accept})
    assert response.mimetype == HTML


def test_every_print_is_audited_with_its_format(client, site, app):
    printed(client, site, "html")
    printed(client, site, "pdf", headers=site.cad, by_query=True)
    client.get(url(site.facility.id), headers=site.officer)
    views = preplan_views(app)
    assert [(e.details["format"], e.actor.split(":")[0]) for e in views] == [
        ("html", "user"),
        ("pdf", "cad"),
        ("json", "user"),
    ]
    assert all(e.facility_id == site.facility.id and not e.break_glass for e in views)


def test_each_representation_has_its_own_tag(client, site, app):
    tags = {}
    for format in ("json", "geojson", "html", "pdf"):
        response = client.get(url(site.facility.id) + f"?format={format}", headers=site.officer)
        tags[format] = response.headers["ETag"]
    assert len(set(tags.values())) == 4
    # A print says when it was printed: the same in meaning, not byte for byte.
    assert tags["html"].startswith('W/"') and tags["pdf"].startswith('W/"')
    again = client.get(
        url(site.facility.id) + "?format=pdf",
        headers={**site.officer, "If-None-Match": tags["pdf"]},
    )
    assert again.status_code == 304 and again.get_data() == b""
    other = client.get(
        url(site.facility.id) + "?format=pdf",
        headers={**site.officer, "If-None-Match": tags["json"]},
    )
    assert other.status_code == 200 and other.mimetype == PDF
    # The page names the MOU's parties: renaming one changes the page's tag, not the JSON's.
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            update(Organization).where(Organization.id == site.org.id).values(name="Prairie Co")
        )
    renamed = client.get(
        url(site.facility.id) + "?format=pdf",
        headers={**site.officer, "If-None-Match": tags["pdf"]},
    )
    assert renamed.status_code == 200 and renamed.headers["ETag"] != tags["pdf"]
    assert "Prairie Co shares with" in flat(pdf_pages(renamed.get_data())[0])
    assert client.get(url(site.facility.id), headers=site.officer).headers["ETag"] == tags["json"]


@pytest.mark.parametrize("format", ["html", "pdf"])
def test_who_may_not_see_the_facility_gets_404(client, site, format):
    for headers in (site.outsider, site.other_manager):
        for request in (
            {"query_string": {"format": format}, "headers": headers},
            {"headers": {**headers, "Accept": {"html": HTML, "pdf": PDF}[format]}},
        ):
            response = client.get(url(site.facility.id), **request)
            assert_problem(response, 404)
            assert "Prairie Goods" not in response.get_data(as_text=True)
    assert_problem(client.get(url(site.facility.id) + f"?format={format}"), 401)


def test_a_break_glass_print_carries_the_banner(client, site, make, app):
    """A mutual-aid agency without an MOU prints the pre-plan through its open incident: the
    banner on the page (and on every PDF page), the header, the audit trail flagged; and it
    learns no organization name it could not read otherwise."""
    cad = make.headers(make.cad_client(make.agency(name="Chatham Fire Protection District")))
    assert_problem(client.get(url(site.facility.id) + "?format=pdf", headers=cad), 404)
    for n in range(30):  # long enough for a second page
        make.access_point(site.facility, kind="stairwell", name=f"Stair {n}", notes="Roof. " * 9)
    opened = client.post(
        f"{API}/incidents",
        json={
            "cad_incident_number": "CFD-2026-1",
            "incident_type": "active assailant",
            "address": f"{site.facility.address_line1}, Springfield IL 62701",
        },
        headers=cad,
    )
    assert opened.status_code == 201, opened.json
    incident = opened.json["id"]
    assert opened.json["break_glass"] is True
    banner = f"BREAK-GLASS ACCESS — incident #{incident}."

    page = printed(client, site, "html", headers=cad)
    assert page.headers["Registry-Break-Glass"] == f"incident={incident}"
    text = html.unescape(page.get_data(as_text=True))
    assert re.search(r'<div class="banner" role="alert">BREAK-GLASS ACCESS', text)
    assert banner in text and "Not shared with your agency" in text
    assert "Prairie Goods Stores" not in text  # not an MOU partner of this agency
    assert "Prairie Goods #12" in text

    document = printed(client, site, "pdf", headers=cad)
    assert document.headers["Registry-Break-Glass"] == f"incident={incident}"
    assert f"-bg{incident}-pdf-" in document.headers["ETag"]
    pages = [flat(p) for p in pdf_pages(document.get_data())]
    assert len(pages) >= 2
    assert banner in pages[0]
    for later in pages[1:]:
        assert "BREAK-GLASS ACCESS (see page 1)" in later
    assert all("· BREAK-GLASS ·" in p for p in pages)

    views = preplan_views(app)
    assert [(e.details["format"], e.break_glass, e.details["incident_id"]) for e in views] == [
        ("html", True, incident),
        ("pdf", True, incident),
    ]
    # The sharing agency's print carries no banner.
    shared = printed(client, site, "html").get_data(as_text=True)
    assert (
        "BREAK-GLASS" not in shared
        and "Registry-Break-Glass" not in printed(client, site, "pdf").headers
    )


def test_a_manager_and_an_admin_print_too(client, site):
    for headers in (site.manager, site.admin):
        page = printed(client, site, "html", headers=headers).get_data(as_text=True)
        assert "Prairie Goods Stores shares with Springfield Police Department" in page


def test_a_plan_whose_preview_cannot_be_read_is_named_instead(client, site, app):
    store = app.extensions["registry.storage"]
    store.delete(preview_key(site.ground["sha256"]))
    for format in ("html", "pdf"):
        response = printed(client, site, format)
        text = (
            response.get_data(as_text=True)
            if format == "html"
            else flat(" ".join(pdf_pages(response.get_data())))
        )
        assert f"Not shown here: see the registry ({site.ground['url']})." in text
        assert "data:image/png" not in text


def test_a_facility_without_plans_or_contacts_still_prints(client, site, make):
    bare = make.facility(site.org, name="Empty lot", lat=None, lon=None)
    for format in ("html", "pdf"):
        response = client.get(url(bare.id) + f"?format={format}", headers=site.officer)
        assert response.status_code == 200
        text = (
            html.unescape(response.get_data(as_text=True))
            if format == "html"
            else flat(" ".join(pdf_pages(response.get_data())))
        )
        assert "Floor plan: none uploaded." in text
        assert "No contacts recorded: call the facility's main number." in text
        assert "No position recorded." in text


def test_every_point_kind_has_a_printed_name():
    assert set(ACCESS_POINT_KINDS) | set(TACTICAL_POINT_KINDS) == set(KIND_LABELS)


def test_the_page_policy_is_the_stylesheet_it_inlines():
    """The hash in the policy is computed from the same stylesheet the page inlines."""
    css = print_html._CSS
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in print_html.POLICY


def test_the_plan_image_comes_from_either_file_store(store, client, make):
    """The ground-level preview is read through the file store's interface: a local directory
    and S3 (whose reads may come back in parts) give the same bytes the preview URL sends."""
    org, agency = make.organization(), make.agency()
    facility = make.facility(org, name="Store with a plan")
    make.mou(org, agency)
    officer = make.officer(agency)
    plan = upload_plan(
        client, make.manager(org), facility.id, 0, "Ground", sample_files.png((900, 600))
    )
    response = client.get(plan["preview_url"], headers=officer)
    preview = response.get_data()
    response.close()
    assert response.status_code == 200 and len(preview) > 100
    page = client.get(url(facility.id) + "?format=html", headers=officer).get_data(as_text=True)
    inlined = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page).group(1)
    assert base64.b64decode(inlined) == preview


def test_pdfs_have_a_budget_of_their_own(site, build_app, app):
    limited = build_app(REGISTRY_PDF_RATE_LIMIT="2/minute").test_client()
    for _ in range(2):
        etag = printed(limited, site, "pdf").headers["ETag"]
    # The same version again costs no render, so it spends nothing.
    again = limited.get(
        url(site.facility.id), headers={**site.officer, "Accept": PDF, "If-None-Match": etag}
    )
    assert again.status_code == 304
    views = len(preplan_views(app))
    refused = limited.get(
        url(site.facility.id), headers={**site.officer, "Accept": PDF, "If-None-Match": '"x"'}
    )
    assert_problem(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len(preplan_views(app)) == views  # a refused print is no read
    # The page and the JSON stay open to the same caller; another caller has its own budget.
    printed(limited, site, "html")
    assert limited.get(url(site.facility.id), headers=site.officer).status_code == 200
    printed(limited, site, "pdf", headers=site.manager)


def test_the_pdf_budget_is_counted_under_the_deployments_prefix(site, build_app):
    """Two deployments sharing one Redis (REGISTRY_RATELIMIT_KEY_PREFIX) keep their budgets
    apart; two workers of one deployment share theirs."""
    redis = pytest.importorskip("redis")
    server = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.exceptions.RedisError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    prefixes = [f"registry-test-{uuid.uuid4().hex}" for _ in range(2)]

    def deployment(prefix):
        return build_app(
            REGISTRY_RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
            REGISTRY_RATELIMIT_KEY_PREFIX=prefix,
            REGISTRY_PDF_RATE_LIMIT="1/minute",
        ).test_client()

    try:
        first, other_worker, second = (
            deployment(prefixes[0]),
            deployment(prefixes[0]),
            deployment(prefixes[1]),
        )
        printed(first, site, "pdf")
        printed(second, site, "pdf")  # another deployment: its own budget
        refused = other_worker.get(url(site.facility.id), headers={**site.officer, "Accept": PDF})
        assert_problem(refused, 429)  # the same deployment: the budget is spent
        assert all(any(p.encode() in key for key in server.keys("*")) for p in prefixes)
    finally:
        for prefix in prefixes:
            for key in server.scan_iter(f"*{prefix}*"):
                server.delete(key)
        server.close()
