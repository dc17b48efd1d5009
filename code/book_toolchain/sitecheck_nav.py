"""The browser check's clicks and pictures: the sidebar toggles at phone, tablet and desktop
widths, and the screenshots of every page (used by :mod:`book_toolchain.sitecheck`).

Navigation, on every page that has the theme's primary sidebar (``#pst-primary-sidebar``):

- at 390 px (and at 900 px on the first page checked: the theme switches at 992 px, and a
  resize of a long page costs a second) the site's table of contents is off screen; a click
  on the visible "primary" toggle must bring it on screen (the theme opens it as a dialog),
  and Escape must close it again. The page-contents ("secondary") toggle must do the same for the page's own
  table of contents, where the page has one;
- at 1440 px both tables of contents are on screen; a click on the primary toggle must hide
  the site's, a second click must show it again.

A toggle that only shows its tooltip (issue 22: the theme had wired a hidden copy of each
button) fails here, naming the width and the button.
"""

from __future__ import annotations

import re
from pathlib import Path

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 900, "height": 900}
WIDE = {"width": 1440, "height": 900}
SETTLE_MS = 4000  # the theme animates the sidebar (0.3 s); a loaded machine needs more: poll
SCREENSHOT_MAX_HEIGHT = 3000


def _wait(page, what: str, expected: bool) -> bool:
    """Poll the page until ``__sitecheck.nav()[what]`` is ``expected``; False on timeout."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            f"window.__sitecheck.nav().{what} === {str(expected).lower()}", timeout=SETTLE_MS
        )
        return True
    except PlaywrightTimeout:  # the state never came
        return False


def _click(page, selector: str) -> None:
    page.locator(f"{selector} >> visible=true").first.click(timeout=SETTLE_MS)


def check_navigation(page, tablet: bool = True) -> tuple[int, list[str]]:
    """(number of toggle actions checked, failures) on the loaded page, at 390 px, at 900 px
    if ``tablet``, and at 1440 px, where the viewport is left. Pages without the theme's
    sidebar are not checked."""
    failures: list[str] = []
    count = 0
    state = page.evaluate("window.__sitecheck.nav()")
    if not state["themed"]:
        return 0, []
    for viewport in (PHONE, TABLET) if tablet else (PHONE,):
        width = viewport["width"]
        page.set_viewport_size(viewport)
        page.evaluate("window.scrollTo(0, 0)")
        for side, toggle in (("primary", ".primary-toggle"), ("secondary", ".secondary-toggle")):
            state = page.evaluate("window.__sitecheck.nav()")
            if side == "secondary" and not state["hasToc"]:
                continue
            count += 1
            what = "site's table of contents" if side == "primary" else "page's contents"
            if not state[f"{side}Toggle"]:
                failures.append(f"at {width} px: no visible {side} sidebar toggle ({what})")
                continue
            if state[side] and not _wait(page, side, False):
                failures.append(f"at {width} px: the {what} covers the page before any click")
                continue
            _click(page, toggle)
            if not _wait(page, side, True):
                failures.append(
                    f"at {width} px: clicking the {side} sidebar toggle did not show the {what} "
                    "(dead navigation toggle)"
                )
                continue
            page.keyboard.press("Escape")
            if not _wait(page, side, False):
                failures.append(f"at {width} px: Escape did not close the {what}")
                page.reload(wait_until="load")
                page.evaluate("window.__sitecheck.ready()")
    page.set_viewport_size(WIDE)
    page.evaluate("window.scrollTo(0, 0)")
    count += 1
    if not _wait(page, "primary", True):
        failures.append("at 1440 px: the site's table of contents is not on screen")
    elif not page.evaluate("window.__sitecheck.nav()")["primaryToggle"]:
        failures.append("at 1440 px: no visible primary sidebar toggle")
    else:
        _click(page, ".primary-toggle")
        if not _wait(page, "primary", False):
            failures.append(
                "at 1440 px: clicking the primary sidebar toggle did not hide the site's table "
                "of contents (dead navigation toggle)"
            )
        else:
            _click(page, ".primary-toggle")
            if not _wait(page, "primary", True):
                failures.append("at 1440 px: a second click did not bring the sidebar back")
    return count, failures


def screenshot_name(rel: str, width: int) -> str:
    """``chapters/01_x.html`` at 390 px -> ``01_x_390.png`` (the directory dropped when it is
    ``chapters``, else joined with ``-``)."""
    stem = re.sub(r"\.html$", "", rel)
    stem = stem.removeprefix("chapters/").replace("/", "-")
    return f"{stem}_{width}.png"


def take_screenshot(page, directory: Path, rel: str, width: int) -> Path:
    """The top of the page as a reader sees it (at most 3000 px), scrolled to the left edge."""
    height = page.evaluate("document.scrollingElement.scrollHeight")
    height = min(max(int(height), 1), SCREENSHOT_MAX_HEIGHT)
    path = Path(directory) / screenshot_name(rel, width)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    clip = {"x": 0, "y": 0, "width": width, "height": height}
    page.screenshot(path=path, full_page=True, clip=clip)
    return path
