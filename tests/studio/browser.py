"""An annotator in a real browser: Debian's headless Chromium driven by Selenium through Label Studio's UI.

Test tooling, not part of the package (no user of ``crossclaim`` drives a browser): used by the browser
end-to-end test, the explain page's browser test and ``scripts/studio_screenshots.py`` (which puts
``tests/`` on its path), all of which import it as ``studio.browser``. It works the interface
as a person does (a real mouse drag selects text, clicks pick labels and choices, keys type values)
and reads the editor's state (``window.Htx``) only to wait and to report, never to change it.

Learned against Label Studio 1.23.2:

- The editor builds its annotation twice on load; nodes of the first build go stale a moment later,
  so a task counts as open once the annotation id and the text container stayed the same for a while.
- Picking a label (click or hotkey) while a region is selected adds that label to the region, so every
  region starts from Escape until nothing is selected.
- JavaScript string offsets are UTF-16, so the drag positions come from a DOM Range over code points.
- A relation is drawn unlabelled; its label is chosen in the Relations tab, on hover.
- The bottom bar covers the lowest controls: everything is scrolled to the middle before a click.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    SELENIUM = True
except ImportError:  # the `test` extra is not installed
    SELENIUM = False


def browser_missing() -> str | None:
    """Why the browser cannot run here (None when it can): no selenium, no chromium or no chromedriver."""
    if not SELENIUM:
        return "the selenium package is not installed (pip install -e '.[test]')"
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        return f"missing {', '.join(missing)} (Debian packages chromium and chromium-driver)"
    return None


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[webdriver.Chrome]:
    """Headless Debian Chromium with its matching chromedriver; Selenium is given both paths, so it
    downloads nothing."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=en-US"):
        opts.add_argument(arg)
    opts.add_argument(f"--window-size={width},{height}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


# Finds the n-th occurrence of a string in the text's DOM and returns the client rects of its first and
# last character. A start on a text-node boundary belongs to the next node, an end to the previous one:
# otherwise the "first character" is a zero-width rect at the end of the line before.
RECTS_JS = r"""
  const [needle, occ] = arguments;
  const root = document.querySelector('.lsf-richtext__container');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = []; let full = '';
  while (walker.nextNode()) { nodes.push([walker.currentNode, full.length]); full += walker.currentNode.data; }
  let pos = -1;
  for (let i = 0; i <= occ; i++) { pos = full.indexOf(needle, pos + 1); if (pos < 0) return null; }
  const locate = (off, isEnd) => { for (const [n, b] of nodes)
    if (off >= b && (isEnd ? off <= b + n.data.length : off < b + n.data.length)) return [n, off - b]; };
  const rect = (a, z) => { const r = document.createRange(); r.setStart(...locate(a, false));
    r.setEnd(...locate(z, true)); const rs = r.getClientRects(); return rs.length ? rs[0].toJSON() : null; };
  const end = pos + needle.length, cps = [...needle];
  return {first: rect(pos, pos + cps[0].length), last: rect(end - cps[cps.length - 1].length, end)};
"""


# The centre of the first character whose innermost highlight has the class prefix, scrolled into view.
REGION_RECT_JS = r"""
  const [prefix] = arguments;
  const root = document.querySelector('.lsf-richtext__container');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const mark = node.parentElement.closest('span.htx-highlight');
    if (!mark || !node.data.trim() || ![...mark.classList].some(c => c.startsWith(prefix))) continue;
    const at = node.data.search(/\S/), cp = String.fromCodePoint(node.data.codePointAt(at));
    mark.scrollIntoView({block: 'center'});
    const range = document.createRange(); range.setStart(node, at); range.setEnd(node, at + cp.length);
    const r = range.getClientRects()[0];
    return {x: r.left + r.width / 2, y: r.top + r.height / 2};
  }
  return null;
"""


class Annotator:
    """One annotator's moves in Label Studio, each with an explicit wait."""

    SUBMIT = "button[data-testid='bottombar-submit-button']"
    UPDATE = "button[data-testid='bottombar-update-button']"  # on an annotation already saved
    SAVE = f"{SUBMIT}, {UPDATE}"
    TEXT = ".lsf-richtext__container"

    def __init__(self, driver: webdriver.Chrome, url: str, timeout: float = 20) -> None:
        self.d, self.url = driver, url.rstrip("/")
        self.wait = WebDriverWait(driver, timeout, ignored_exceptions=[StaleElementReferenceException])

    # -- evidence ---------------------------------------------------------------------------------
    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.d.save_screenshot(str(path))
        return path

    def evidence(self, folder: Path, name: str) -> None:
        """Screenshot, page HTML and browser console of the current page, for a failure report."""
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            self.d.save_screenshot(str(folder / f"{name}.png"))
            (folder / f"{name}.html").write_text(self.d.page_source, encoding="utf-8")
            logs = self.d.get_log("browser")
            (folder / f"{name}.console.json").write_text(json.dumps(logs, indent=1), encoding="utf-8")

    # -- reading the editor -----------------------------------------------------------------------
    def store(self, js: str):
        """Read-only look into the editor's state, for waits and reports."""
        return self.d.execute_script(
            f"try {{ const a = Htx.annotationStore.selected; {js} }} catch (e) {{ return null }}"
        )

    def regions(self) -> list[dict]:
        """The current annotation's regions: id, text, labels, selected."""
        js = (
            "return a.regionStore.regions.map(r => ({id: r.cleanId, text: r.text, selected: r.selected,"
            " labels: r.labels ? [...r.labels] : []}))"
        )
        return self.store(js) or []

    def shown(self, css: str) -> list:
        """The displayed elements matching ``css``."""
        return [e for e in self.d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]

    def visible(self, css: str):
        """The one displayed element matching ``css``, else None."""
        els = self.shown(css)
        return els[0] if len(els) == 1 else None

    # -- generic moves ----------------------------------------------------------------------------
    def click(self, el) -> None:
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
        el.click()

    def click_css(self, css: str) -> None:
        self._click_located((By.CSS_SELECTOR, css))

    def _click_located(self, locator: tuple[str, str]) -> None:
        for attempt in range(3):  # the editor re-renders shortly after loading: a stale node is found again
            try:
                self.click(self.wait.until(EC.element_to_be_clickable(locator)))
                return
            except StaleElementReferenceException:
                if attempt == 2:
                    raise

    def keys(self, *keys: str) -> None:
        ActionChains(self.d).send_keys(*keys).perform()

    # -- the annotator's steps --------------------------------------------------------------------
    def login(self, email: str, password: str) -> None:
        self.d.get(f"{self.url}/user/login/")
        self.wait.until(EC.presence_of_element_located((By.NAME, "email"))).send_keys(email)
        self.d.find_element(By.NAME, "password").send_keys(password)
        self.d.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]").click()
        self.wait.until(lambda d: "/user/login" not in d.current_url)

    def open_task(self, project: int, task: int, settle: float = 0.8, object_css: str = TEXT) -> None:
        """Open the labeling screen of a task from the task list and wait until it stays the same."""
        self.d.get(f"{self.url}/projects/{project}/data?task={task}")
        self.settle(f"the labeling screen of task {task}", settle, object_css)

    def open_queue(self, project: int, settle: float = 0.8, object_css: str = TEXT) -> int:
        """Press Label All Tasks in the project's task list (the member's own queue); the task it shows."""
        self.d.get(f"{self.url}/projects/{project}/data")
        self.click_xpath("//button[normalize-space()='Label All Tasks']")
        self.settle(f"the queue of project {project}", settle, object_css)
        return int(self.d.execute_script("return Htx.task.id"))

    def settle(self, what: str, settle: float = 0.8, object_css: str = TEXT) -> None:
        """Wait until the editor's annotation, text and save button stayed the same for ``settle`` seconds."""
        state_js = (
            "try { return Htx.annotationStore.selected.id + '|' +"
            f" !!document.querySelector({json.dumps(object_css)}) + '|' +"
            f" !!document.querySelector({json.dumps(self.SAVE)}) }} catch (e) {{ return null }}"
        )
        last, since, deadline = None, time.monotonic(), time.monotonic() + 45
        while time.monotonic() < deadline:
            state = self.d.execute_script(state_js)
            if state != last:
                last, since = state, time.monotonic()
            elif state and state.endswith("true|true") and time.monotonic() - since >= settle:
                return
            time.sleep(0.05)
        raise TimeoutException(f"{what} did not settle (last state {last!r})")

    def annotations(self) -> list[dict]:
        """The annotations the editor holds for the task: server id (None for a new one), author, selected."""
        js = (
            "return Htx.annotationStore.annotations.map(a => ({pk: a.pk ? String(a.pk) : null,"
            " user: a.user ? a.user.email : null, selected: a.selected}))"
        )
        return self.d.execute_script(f"try {{ {js} }} catch (e) {{ return null }}") or []

    def select_annotation(self, pk: str) -> None:
        """Click the tab (the annotations carousel, in the editor's order) of the saved annotation ``pk``."""
        (at,) = [i for i, x in enumerate(self.annotations()) if x["pk"] == pk]
        self.click(self.wait.until(lambda d: self.shown(".lsf-annotation-button")[at]))
        self.wait.until(lambda d: [x for x in self.annotations() if x["selected"] and x["pk"] == pk])

    def create_annotation(self) -> None:
        """Press Create an annotation (the task list's editor, on a task others annotated): a new one, selected."""
        self.click_css("button[aria-label='Create an annotation']")
        self.wait.until(lambda d: [x for x in self.annotations() if x["selected"] and x["pk"] is None])

    def click_xpath(self, xpath: str) -> None:
        self._click_located((By.XPATH, xpath))

    def deselect(self) -> None:
        """Escape until no region is selected (a label picked now would be added to the selected region)."""
        for _ in range(3):
            if not any(r["selected"] for r in self.regions()):
                return
            self.keys(Keys.ESCAPE)
            time.sleep(0.1)
        assert not any(r["selected"] for r in self.regions()), "a region stays selected after Escape"

    def pick_label(self, label: str, hotkey: str | None = None) -> None:
        """Choose the label for the next region: by its hotkey when given, else by a click."""
        if hotkey:
            self.keys(hotkey)
            return
        xp = (
            "//span[contains(@class,'lsf-label_clickable')]"
            f"[span[contains(@class,'lsf-label__text') and normalize-space(text())='{label}']]"
        )
        self.click(self.wait.until(EC.element_to_be_clickable((By.XPATH, xp))))

    def drag(self, needle: str, occurrence: int = 0) -> None:
        """A real mouse drag (W3C pointer actions at viewport coordinates) across the string."""
        r = self.d.execute_script(RECTS_JS, needle, occurrence)
        assert r and r["first"] and r["last"], f"{needle!r} is not in the text"
        y0 = r["first"]["top"] + r["first"]["height"] / 2
        y1 = r["last"]["top"] + r["last"]["height"] / 2
        x0, x1 = r["first"]["left"] + 1, r["last"]["right"] - 1
        chain = ActionChains(self.d, duration=50)
        pointer = chain.w3c_actions.pointer_action
        pointer.move_to_location(int(x0), int(y0))
        pointer.pointer_down()
        pointer.move_to_location(int((x0 + x1) / 2), int(y1))
        pointer.move_to_location(int(x1), int(y1))
        pointer.pointer_up()
        chain.perform()

    def make_region(self, label: str, needle: str, hotkey: str | None = None) -> str:
        """Pick the label, then drag over the text; the new region's id."""
        self.deselect()
        before = {r["id"] for r in self.regions()}
        for attempt in range(2):
            self.pick_label(label, hotkey)
            self.drag(needle)
            try:
                WebDriverWait(self.d, 5).until(lambda d: [r for r in self.regions() if r["id"] not in before])
                break
            except TimeoutException:
                if attempt:
                    raise
        (new,) = [r for r in self.regions() if r["id"] not in before]
        assert new["labels"] == [label] and new["text"] == needle, new
        return new["id"]

    def region_id(self, label: str, text: str | None = None) -> str:
        """The id of the one region with this label (and text, when given)."""
        (rid,) = {r["id"] for r in self.regions() if r["labels"] == [label] and text in (None, r["text"])}
        return rid

    def click_region(self, rid: str) -> None:
        """A real click on a character whose innermost highlight is the region's (a click on a nested
        region's character would select that one)."""
        rect = self.d.execute_script(REGION_RECT_JS, f"htx-highlight-{rid}-")
        assert rect, f"region {rid} has no character of its own to click on"
        chain = ActionChains(self.d)
        chain.w3c_actions.pointer_action.move_to_location(int(rect["x"]), int(rect["y"])).click()
        chain.perform()

    def select_region(self, label: str, text: str | None = None) -> None:
        """Select the region with this label (and text) by a click on it."""
        self.deselect()
        rid = self.region_id(label, text)
        self.click_region(rid)
        self.wait.until(lambda d: [r for r in self.regions() if r["selected"] and r["id"] == rid])

    def type_value(self, name: str, text: str, enter: bool = True) -> None:
        """Type into the displayed text box ``name``; Enter commits a per-region value."""
        box = self.wait.until(lambda d: self.visible(f"input[name='{name}'], textarea[name='{name}']"))
        self.click(box)
        box.send_keys(text)
        if enter:
            box.send_keys(Keys.ENTER)  # the committed value shows as an item; the box is gone
            self.wait.until(
                lambda d: text in d.find_element(By.TAG_NAME, "body").text and not self.visible(f"input[name='{name}']")
            )

    def choice(self, value: str):
        """(input, label) of the one displayed choice with this value (an input is named after its value)."""
        found = []
        for i in self.d.find_elements(By.CSS_SELECTOR, f".lsf-choices input[name='{value}']"):
            label = i.find_element(By.XPATH, "./ancestor::label")
            if label.is_displayed():
                found.append((i, label))
        return found[0] if len(found) == 1 else None

    def choose(self, value: str) -> None:
        """Click a displayed choice; found again after the click, since it re-renders."""
        self.click(self.wait.until(lambda d: self.choice(value))[1])
        self.wait.until(lambda d: (c := self.choice(value)) and c[0].is_selected())

    def relate(self, from_label: str, to_label: str, relation: str) -> None:
        """Draw a relation between two regions, then give it its label in the Relations tab."""
        self.select_region(from_label)
        count = self.store("return a.relationStore.relations.length") or 0
        self.click_css("button[aria-label='Create Relation']")
        self.click_region(self.region_id(to_label))
        self.wait.until(lambda d: self.store("return a.relationStore.relations.length") == count + 1)
        tab = self.wait.until(
            lambda d: next((e for e in self.shown(".lsf-panel-tabs__tab") if e.text.strip() == "Relations"), None)
        )
        self.click(tab)
        items = self.wait.until(lambda d: self.shown(".lsf-relations__item"))
        ActionChains(self.d).move_to_element(items[-1]).perform()  # its buttons render only on hover
        self.click_css("button[aria-label='Show Relation Labels']")
        self.click_css(".lsf-relation-meta button[data-testid^='select-trigger']")
        self.click_css(f"[data-testid='select-option-{relation}']")
        labels_js = f"return [...a.relationStore.relations[{count}].labels]"
        self.wait.until(lambda d: self.store(labels_js) == [relation])
        self.keys(Keys.ESCAPE)

    def submit(self, saved: Callable[[], bool], timeout: float = 20, button: str = SUBMIT) -> None:
        """Press Submit (or ``button``) and wait until ``saved()`` (the server has the annotation); a dialog
        that blocks the submit is reported by its text."""
        self.deselect()
        self.click_css(button)
        try:
            WebDriverWait(self.d, timeout).until(lambda d: saved())
        except TimeoutException:
            dialogs = [e.text for e in self.shown(".ant-modal-content")]
            raise AssertionError(f"the annotation was not saved; dialogs on screen: {dialogs}") from None
