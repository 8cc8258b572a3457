"""The console's maps show what partners typed as text, never as markup."""

NAME = '<a id="injected" href="https://evil.example">Call dispatch here</a>'


def test_a_point_named_like_markup_is_shown_as_its_text(browser, make):
    organization = make.organization()
    facility = make.facility(organization, name="Harbor Mall")
    make.tactical_point(facility, name=NAME, lat=39.8001, lon=-89.6001)
    agency = make.agency()
    make.mou(organization, agency)
    browser.sign_in(make.user("agency_user", agency=agency))
    browser.go(f"/console/preplans/{facility.id}")

    # Hover every marker, as a responder would, to open the tooltips.
    browser.driver.execute_script(
        "document.querySelectorAll('.leaflet-interactive').forEach(marker => "
        "marker.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})));"
    )
    tooltips = [t.text for t in browser.find_all(".leaflet-tooltip")]
    assert any(text.startswith(NAME) for text in tooltips), tooltips
    assert browser.find_all("#injected") == []
    assert browser.console_errors() == []
