"""Fixtures for the browser tests: a headless Chromium driven by Playwright, and page visits
that collect what went wrong (console errors, uncaught exceptions, failed requests).

The browser is the system's (Debian ``chromium`` here, ``google-chrome`` on GitHub's
Ubuntu runners): Playwright's own browser download is never needed. Without Playwright or
a browser the tests that ask for one are skipped, saying why.
"""

import dataclasses
import os
import shutil

import pytest

BROWSER_ENV_VAR = "KDTUTOR_CHROMIUM"
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
# No first-run dialogs, sync, updates or background traffic: a test page's requests are
# the only ones, and QUIC off keeps a proxy-less CI machine from waiting on UDP.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_browser() -> str | None:
    """The Chromium to drive: ``$KDTUTOR_CHROMIUM``, else the first of ``chromium``,
    ``chromium-browser``, ``google-chrome`` on ``PATH``; ``None`` if there is none."""
    given = os.environ.get(BROWSER_ENV_VAR)
    if given:
        return shutil.which(given) or given
    return next(filter(None, map(shutil.which, BROWSER_NAMES)), None)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for one test module (closed after it); skips without one.

    Module scope, not session: Playwright's sync API keeps an event loop of its own in this
    thread while it is open, so it is closed before other modules run notebooks (papermill,
    nbclient) with asyncio in this process.
    """
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    executable = find_browser()
    if executable is None:
        pytest.skip(
            f"no Chromium found (set ${BROWSER_ENV_VAR}, or install one of "
            f"{', '.join(BROWSER_NAMES)}; e.g. apt-get install chromium)"
        )
    if not os.path.exists(executable):
        pytest.skip(f"${BROWSER_ENV_VAR}={executable} is not a browser found on this machine")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclasses.dataclass
class Visit:
    """A page opened by :func:`visit` and what went wrong on it so far."""

    page: object  # playwright.sync_api.Page
    console_errors: list = dataclasses.field(default_factory=list)
    failed_requests: list = dataclasses.field(default_factory=list)
    network_requests: list = dataclasses.field(default_factory=list)

    def problems(self) -> list[str]:
        """Every console error, failed request and (when offline) network request, as text."""
        return [
            *(f"console error: {text}" for text in self.console_errors),
            *(f"failed request: {text}" for text in self.failed_requests),
            *(f"network request from an offline page: {url}" for url in self.network_requests),
        ]


_LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


def _watch(page, *, offline: bool) -> Visit:
    """Record on a :class:`Visit` what goes wrong on ``page`` from now on."""
    seen = Visit(page)

    def on_console(message):
        if message.type == "error":
            seen.console_errors.append(message.text)

    def on_request(request):
        if offline and not request.url.startswith(_LOCAL_SCHEMES):
            seen.network_requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.console_errors.append(f"uncaught {error}"))
    def on_failed(request):
        # The browser cancels a page's icon request when the page closes or moves on before
        # it completed ("aborted"); a missing icon fails as not found, which still counts.
        icon = "favicon" in request.url.rsplit("/", 1)[-1]
        if icon and "ERR_ABORTED" in (request.failure or ""):
            return
        seen.failed_requests.append(f"{request.url} ({request.failure})")

    page.on("requestfailed", on_failed)
    page.on("request", on_request)
    return seen


@pytest.fixture
def visit(browser):
    """Return ``open(url, offline=True) -> Visit``: the page loaded in a fresh browser context.

    Offline, the context has no network and any request that is not to a local file or
    ``data:`` URL is recorded as a problem, so a page that would fetch a script from a CDN
    fails here even on a machine that is online (as GitHub's runners are).
    """
    contexts = []

    def open_page(url: str, *, offline: bool = True, wait_until: str = "load") -> Visit:
        context = browser.new_context(offline=offline)
        contexts.append(context)
        seen = _watch(context.new_page(), offline=offline)
        seen.page.goto(url, wait_until=wait_until)
        return seen

    yield open_page
    for context in contexts:
        context.close()


def pytest_collection_modifyitems(items):
    """Mark every test that asks for the ``browser`` fixture ``browser``, and every browser
    or notebooks test ``slow`` too: the README's ``pytest`` (``-m "not slow"`` in
    pyproject.toml) leaves them to ``pytest -m slow``, which ``.ci/run`` runs after it."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("browser") or item.get_closest_marker("notebooks"):
            item.add_marker(pytest.mark.slow)
