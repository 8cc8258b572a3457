"""The web console in a real browser: Debian's Chromium, driven by Selenium through Debian's
chromedriver (nothing is downloaded), against the app served on 127.0.0.1 from a thread.

Each test gets the empty database of tests/conftest.py; `browser.sign_in(user)` signs in through
the form. `browser.check_accessibility()` runs axe-core (vendored in tests/browser/vendor) on
the current page and fails on serious or critical violations. `browser.screenshot(name)` saves
a PNG under REGISTRY_SCREENSHOT_DIR (default: a temporary directory) and fails when it is
blank. The browser is reused for the whole run (it takes seconds to start); its cookies are
cleared before each test.

Without Chromium these tests are skipped, except under CI (CI=true), where .ci/run installs it
and a missing browser is a failure.
"""

import os
import shutil
import threading
from pathlib import Path

import pytest
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

VENDOR = Path(__file__).parent / "vendor"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# axe's impact levels that fail a page.
FAILING_IMPACTS = ("serious", "critical")


def _require_browser():
    if CHROMIUM and CHROMEDRIVER:
        return
    message = (
        "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def driver():
    _require_browser()
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    chrome = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    chrome.set_page_load_timeout(30)
    yield chrome
    chrome.quit()


class Browser:
    def __init__(self, driver, base_url: str, shots: Path):
        self.driver = driver
        self.base_url = base_url
        self.shots = shots

    # --- navigation ------------------------------------------------------------------------
    def go(self, path: str):
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.base_url)

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str = "main") -> str:
        return self.find(css).text

    def fill(self, field_id: str, value: str):
        box = self.find(f"#{field_id}")
        box.clear()
        box.send_keys(value)

    def choose(self, field_id: str, value: str):
        Select(self.find(f"#{field_id}")).select_by_value(value)

    def click(self, css: str, navigates: bool = True):
        """Click an element; when it leads to another page (a link, a submit button), wait
        for that page: Selenium's click may return before the old page is gone."""
        old_page = self.find("html")
        self.find(css).click()
        if navigates:
            self.wait_for_new_page(old_page)

    def wait_for_new_page(self, old_page):
        """Wait until `old_page` (its html element) has been replaced by the next page.

        Asked while the old document is being torn down, Chromium may answer "Node with given
        id does not belong to the document" instead of "stale": the wait asks again."""
        WebDriverWait(self.driver, 15, ignored_exceptions=(WebDriverException,)).until(
            expected_conditions.staleness_of(old_page)
        )

    def submit(self, form_css: str = "main form"):
        """Press the form's submit button, as a person would, and wait for the answer."""
        self.click(f"{form_css} button[type=submit]")

    def error_for(self, field_id: str) -> str:
        return self.find(f"#{field_id}-error").text

    # --- people ----------------------------------------------------------------------------
    def sign_in(self, user, password: str = PASSWORD):
        self.go("/console/sign-in")
        self.fill("username", user.username)
        self.fill("password", password)
        self.submit()

    # --- checks ----------------------------------------------------------------------------
    def check_accessibility(self) -> None:
        """axe-core on this page: no serious or critical violation."""
        self.driver.execute_script((VENDOR / "axe.min.js").read_text())
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations)).catch(e => done(String(e)));"
        )
        assert isinstance(result, list), result
        failing = [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(node["target"]) for node in v["nodes"][:3])
            for v in result
            if v["impact"] in FAILING_IMPACTS
        ]
        assert not failing, f"{self.path}: " + "; ".join(failing)

    def screenshot(self, name: str) -> Path:
        """Save the page as `name`.png and fail if it is blank (one colour, or nearly)."""
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        with Image.open(path) as image:
            colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 20, f"{name}: the screenshot is blank ({len(colours)} colours)"
        return path

    def console_errors(self) -> list[str]:
        """What the pages logged as errors (a CSP refusal, a script failing), since the last
        call. Not the 4xx answers to refused forms, which Chromium logs too."""
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE"
            and "favicon" not in entry["message"]
            and "the server responded with a status of 4" not in entry["message"]
        ]

    def screenshot_whole_page(self, name: str) -> Path:
        """`screenshot` of the whole page, not only what the window shows: the window is made
        as tall as the page (at most 5000 px) for the shot, then given its size back."""
        size = self.driver.get_window_size()
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(size["width"], min(max(height + 150, size["height"]), 5000))
        try:
            return self.screenshot(name)
        finally:
            self.driver.set_window_size(size["width"], size["height"])


@pytest.fixture
def browser(driver, live_server, tmp_path_factory):
    driver.delete_all_cookies()
    shots = Path(os.environ.get("REGISTRY_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    shots.mkdir(parents=True, exist_ok=True)
    return Browser(driver, live_server, shots)
