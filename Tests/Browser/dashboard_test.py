"""The dashboard in a real browser (Debian's chromium and chromium-driver, driven by Selenium) against
the real platform that DashboardBrowserTests started. Every wait is on a condition with a deadline; any
JavaScript console error fails the run; screenshots go to $SCREENSHOTS. Exit 0 when every check held.

Environment: DASHBOARD_URL, DASHBOARD_TOKEN (a read token), DASHBOARD_ADMIN_TOKEN, MQTT_HOST, MQTT_PORT,
SENSORS (comma list, catalog order), ALERT_RULE (an alert rule's name), ALERT_OPEN and ALERT_CLEARED (the ids
of an open and a cleared episode of it), SCREENSHOTS, and chromium.py's CHROMEDRIVER and CHROMIUM.
"""
import json
import os
import struct
import subprocess
import sys
import time
import urllib.request

from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from chromium import chromium

URL = os.environ["DASHBOARD_URL"].rstrip("/")
TOKEN = os.environ["DASHBOARD_TOKEN"]
ADMIN_TOKEN = os.environ["DASHBOARD_ADMIN_TOKEN"]
ALERT_RULE, ALERT_OPEN, ALERT_CLEARED = os.environ["ALERT_RULE"], os.environ["ALERT_OPEN"], os.environ["ALERT_CLEARED"]
SENSORS = os.environ["SENSORS"].split(",")
SHOTS = os.environ.get("SCREENSHOTS", ".local/screenshots")
os.makedirs(SHOTS, exist_ok=True)


def log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def api(path):
    request = urllib.request.Request(URL + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def publish(topic, payload):
    subprocess.run(["mosquitto_pub", "-h", os.environ["MQTT_HOST"], "-p", os.environ["MQTT_PORT"], "-q", "1",
                    "-t", topic, "-s"], input=payload, check=True, timeout=10)


def tm_frame(seq, micros, values):
    """A float32 tm frame of one sample (docs/wire-formats.md), built here apart from the platform's encoder."""
    header = struct.pack("<2sBBBBHIQ", b"TM", 1, 0, len(values), 0, 1, seq, micros)
    return header + struct.pack("<I", 0) + b"".join(struct.pack("<f", v) for v in values)


class Run:
    def __init__(self, driver):
        self.driver = driver

    def wait(self, what, condition, timeout=15):
        """Polls `condition` (a function of the driver) until it is truthy; a failure names `what`."""
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05,
                                 ignored_exceptions=[StaleElementReferenceException]).until(condition)
        except TimeoutException:
            self.shot("failed-" + what.replace(" ", "-")[:40])
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")

    def shot(self, name):
        path = os.path.join(SHOTS, f"{name}-{self.driver.get_window_size()['width']}px.png")
        self.driver.save_screenshot(path)
        log(f"screenshot {path}")

    def console_errors(self, allow=()):
        """Fails on every SEVERE browser log entry (JavaScript errors, failed loads), but a failed load with a
        status in `allow` (a refused sign-in's 401, a read token's refused acknowledgement's 403)."""
        for entry in self.driver.get_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            if entry.get("source") == "network" and any(f"status of {status}" in entry["message"] for status in allow):
                continue
            raise AssertionError(f"console error: {entry['message']}")

    def texts(self, css):
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

    def go(self, fragment):
        self.driver.get(f"{URL}/#{fragment}")

    # -- the checks ---------------------------------------------------------------------------------

    def sign_in_refused_then_accepted(self):
        self.go("/")
        self.wait("the sign-in form", lambda d: d.find_element(By.ID, "token").is_displayed())
        self.console_errors()
        self.shot("signin")
        self.driver.find_element(By.ID, "token").send_keys("not-the-token")
        self.driver.find_element(By.ID, "signin-submit").click()
        self.wait("the refusal", lambda d: "refused" in d.find_element(By.ID, "signin-error").text)
        assert not self.driver.find_element(By.ID, "nav").is_displayed(), "navigation shown without a token"
        self.shot("signin-refused")
        self.console_errors(allow=(401,))
        field = self.driver.find_element(By.ID, "token")
        field.clear()
        field.send_keys(TOKEN)
        self.driver.find_element(By.ID, "signin-submit").click()
        self.wait("the overview after sign-in", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sensors tbody tr")) > 0)
        assert self.driver.execute_script("return sessionStorage.getItem('telemetry.token')") == TOKEN

    def token_outside_latin1_is_refused(self):
        """A header cannot carry such a character (fetch throws before sending): still a refusal, not "did not answer"."""
        self.go("/")
        self.wait("the sign-in form", lambda d: d.find_element(By.ID, "token").is_displayed())
        field = self.driver.find_element(By.ID, "token")
        field.clear()
        field.send_keys("t\u20acken")
        self.driver.find_element(By.ID, "signin-submit").click()
        self.wait("the refusal of a token outside Latin-1",
                  lambda d: d.find_element(By.ID, "signin-error").text == "That token was refused.")
        self.console_errors()

    def undecodable_fragment_shows_a_problem(self):
        """`%E0` is no UTF-8: the page says so instead of staying blank."""
        self.go("/sensor/%E0")
        self.wait("the problem view of #/sensor/%E0", lambda d: d.find_elements(By.ID, "problem"))
        self.go("/device/temperature/%E0%A4")
        self.wait("the problem view of #/device/temperature/%E0%A4", lambda d: d.find_elements(By.ID, "problem"))
        self.console_errors()

    def overview_matches_the_api(self):
        self.go("/")

        def page_equals_api(driver):
            rows = {}
            for row in driver.find_elements(By.CSS_SELECTOR, "#sensors tbody tr"):
                cells = [row.find_element(By.CSS_SELECTOR, f"td.{c}").text.replace(",", "") for c in ("devices", "hour", "minute", "rejected")]
                rows[row.get_attribute("data-sensor")] = [int(c) for c in cells]
            expected = {s["sensor"]: [s["devices"], s["readings_last_hour"], s["readings_last_minute"], s["rejected_last_hour"]]
                        for s in api("/v1/overview")["sensors"]}
            return rows if list(rows) == SENSORS and rows == expected else None

        rows = self.wait("the overview's six sensor types with the API's counts", page_equals_api)
        for sensor in SENSORS:
            listed = len(api(f"/v1/sensors/{sensor}/devices?limit=10000")["devices"])
            assert rows[sensor][0] == listed, f"{sensor}: {rows[sensor][0]} devices shown, the devices API lists {listed}"
            assert rows[sensor][1] > 0, f"{sensor}: no readings in the last hour"
        # Devices per state, as the API counts them (the emulator's devices are all online here).
        states = api("/v1/overview")["devices_by_state"]
        shown = self.wait("device states on the overview", lambda d: self.texts("#device-states .state-count") or None)
        assert any(t.startswith("online") and t.split()[-1].replace(",", "") == str(states["online"]) for t in shown), f"{shown} vs {states}"
        self.wait("six ingest services, up", lambda d: len([t for t in self.texts("#services tbody tr .badge") if t == "up"]) == len(SENSORS), timeout=20)
        self.shot("overview")
        self.console_errors()
        log(f"overview: {rows}")

    def devices_search_and_page(self, sensor):
        self.go(f"/sensor/{sensor}")
        # This sensor type's list: until it is drawn the previous page's (another type's) may still be there.
        self.wait("the device list", lambda d: d.find_element(By.TAG_NAME, "h1").text == f"{sensor}: devices"
                  and len(d.find_elements(By.CSS_SELECTOR, "#devices tbody tr")) > 0)
        devices = [r.get_attribute("data-device") for r in self.driver.find_elements(By.CSS_SELECTOR, "#devices tbody tr")]
        assert devices == sorted(devices), "devices not in id order"
        # One header per column, units as people write them, a state badge and "… ago" per device.
        fields = next(s for s in api("/v1/sensors")["sensors"] if s["name"] == sensor)["fields"]
        heads = self.texts("#devices thead th")
        assert len(heads) == 3 + len(fields) and len(self.driver.find_elements(By.CSS_SELECTOR, "#devices tbody tr:first-child td")) == len(heads), heads
        assert heads[3:] == [f"{f['name']} ({ {'Cel': '°C', 'lat': '°', 'lon': '°'}.get(f['unit'], f['unit']) })" for f in fields], heads
        badges = self.texts("#devices tbody .badge.state")
        assert badges and all(b in ("online", "silent", "offline") for b in badges), badges
        assert all(t.endswith("ago") for t in self.texts("#devices tbody td.last-seen")), self.texts("#devices tbody td.last-seen")
        prefix = devices[-1][:-1]
        search = self.driver.find_element(By.ID, "device-search")
        search.clear()
        search.send_keys(prefix + "\n")
        self.wait("search results", lambda d: all(r.get_attribute("data-device").startswith(prefix)
                                                  for r in d.find_elements(By.CSS_SELECTOR, "#devices tbody tr"))
                  and "prefix=" in d.current_url)
        self.shot("devices")
        self.console_errors()
        return devices[0]

    def chart_points_equal_the_api(self, sensor, device, range_name):
        self.go(f"/device/{sensor}/{device}?range={range_name}")
        # The range's own bucket: until the new view is drawn the previous range's charts are still there.
        bucket = {"1h": "10s", "24h": "5m", "7d": "30m", "30d": "2h"}[range_name]
        svgs = self.wait(f"charts for {range_name}", lambda d: d.find_elements(By.CSS_SELECTOR, f"svg.chart[data-points][data-to][data-bucket='{bucket}']"))
        for svg in svgs:
            field, bucket = svg.get_attribute("data-field"), svg.get_attribute("data-bucket")
            start, end = svg.get_attribute("data-from"), svg.get_attribute("data-to")
            answer = api(f"/v1/sensors/{sensor}/aggregates?device={device}&bucket={bucket}&fn=count,avg,min,max&from={start}&to={end}&field={field}")
            expected = sum(len(s["points"]) for s in answer["series"])
            shown = int(svg.get_attribute("data-points"))
            # Runs of consecutive buckets are lines, a lone bucket a dot: no line across a gap.
            vertices = sum(len(p.get_attribute("points").split()) for p in svg.find_elements(By.CSS_SELECTOR, "polyline.avg")) \
                + len(svg.find_elements(By.CSS_SELECTOR, "circle.avg"))
            assert shown == expected == vertices, f"{field} over {range_name} @ {bucket}: chart has {shown} points ({vertices} vertices), the API {expected}"
            assert expected > 0, f"{field}: no points over {range_name}"
        ticks = svg.find_elements(By.CSS_SELECTOR, "text.tick")
        assert len(ticks) >= 6, f"{len(ticks)} tick labels on the {range_name} chart"
        self.shot(f"device-{range_name}")
        self.console_errors()

    def location_map(self, sensor):
        """The location sensor type's devices on a map (a plain projection, no tiles), one dot each, and a device's track."""
        self.go(f"/sensor/{sensor}")
        svg = self.wait("the map of latest positions", lambda d: d.find_elements(By.CSS_SELECTOR, "svg#map[data-points]"))[0]
        rows = len(self.driver.find_elements(By.CSS_SELECTOR, "#devices tbody tr"))
        dots = len(svg.find_elements(By.CSS_SELECTOR, "circle.position"))
        assert dots == rows == int(svg.get_attribute("data-points")) and dots > 0, f"{dots} dots for {rows} devices"
        device = self.driver.find_element(By.CSS_SELECTOR, "#devices tbody tr").get_attribute("data-device")
        self.go(f"/device/{sensor}/{device}")
        track = self.wait("the device's track", lambda d: d.find_elements(By.CSS_SELECTOR, "svg#track[data-points]"))[0]
        shown = len(self.driver.find_elements(By.CSS_SELECTOR, "#raw tbody tr"))
        # The track has every reading of the hour; the table shows 50 of them at first.
        assert int(track.get_attribute("data-points")) >= shown > 0 and shown <= 50, f"{track.get_attribute('data-points')} track points, {shown} rows"
        self.shot("location")
        self.console_errors()

    def zoom_and_hover(self, sensor, device):
        """Dragging across a chart shows that part as a custom range; the pointer shows a point's values."""
        self.go(f"/device/{sensor}/{device}?range=24h")
        svg = self.wait("the 24h chart", lambda d: d.find_elements(By.CSS_SELECTOR, "svg.chart[data-points][data-bucket='5m']"))[0]
        overlay = svg.find_element(By.CSS_SELECTOR, "rect.overlay")
        width = overlay.size["width"]
        actions = ActionChains(self.driver)
        # Offsets are from the element's centre: to 30% of its width, then drag across another 30%.
        actions.move_to_element_with_offset(overlay, int(-width * 0.2), 0).perform()
        tip = svg.find_element(By.CSS_SELECTOR, "text.tip").text
        assert "avg" in tip and "UTC" in tip, f"hover shows {tip!r}"
        actions.click_and_hold().move_by_offset(int(width * 0.3), 0).release().perform()
        self.wait("the zoomed range", lambda d: "from=" in d.current_url and "to=" in d.current_url
                  and d.find_elements(By.CSS_SELECTOR, "svg.chart[data-points]"))
        start, end = self.driver.find_element(By.ID, "range-from").get_attribute("value"), self.driver.find_element(By.ID, "range-to").get_attribute("value")
        assert start < end, (start, end)
        self.shot("device-zoomed")
        self.console_errors()

    def csv_downloads(self, sensor, device):
        """The device page's CSV buttons save what the API answers as CSV."""
        folder = os.path.abspath(os.environ.get("DOWNLOADS", ".local/downloads"))
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        self.go(f"/device/{sensor}/{device}?range=1h")
        field = next(s for s in api("/v1/sensors")["sensors"] if s["name"] == sensor)["fields"][0]["name"]
        for button, header in [("csv-readings", f"time,seq,{field}"), ("csv-aggregates", "device,field,time,count,avg,min,max")]:
            # Clicked inside the wait: the live stream may redraw the page between finding the button and the click.
            self.wait(f"the {button} button", lambda d: d.find_elements(By.ID, button) and (d.find_element(By.ID, button).click() or True))
            def saved(_):
                files = [n for n in os.listdir(folder) if n.endswith(".csv")]
                for name in files:
                    with open(os.path.join(folder, name), encoding="utf-8") as f:
                        lines = f.read().splitlines()
                    if lines and lines[0] == header and len(lines) > 1:
                        return lines
                return None
            lines = self.wait(f"{button}'s file in {folder}", saved, timeout=15)
            log(f"{button}: {len(lines) - 1} rows")
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))
        self.console_errors()

    def live_reading_within_two_seconds(self, sensor, device):
        self.go(f"/device/{sensor}/{device}?range=1h")
        self.wait("the live stream", lambda d: d.find_element(By.ID, "live").get_attribute("data-state") == "on")
        value = 42.25
        published = time.monotonic()
        publish(f"telemetry/{sensor}/{device}", tm_frame(991, int(time.time() * 1e6), [value]))
        self.wait("the published reading in the live table", lambda d: "42.25" in d.find_element(By.CSS_SELECTOR, "#raw tbody tr").text, timeout=2)
        latency = time.monotonic() - published
        points = int(self.driver.find_element(By.CSS_SELECTOR, "svg.chart").get_attribute("data-points"))
        log(f"live reading shown {latency * 1000:.0f} ms after publishing (chart now {points} points)")
        self.shot("device-live")
        self.console_errors()

    def dead_letters_appear_newest_first(self, sensor):
        first, second = f"telemetry/{sensor}/browser-bad-first", f"telemetry/{sensor}/browser-bad-second"
        stored = lambda topic: lambda d: any(r["topic"] == topic for r in api(f"/v1/rejected?sensor={sensor}")["rejected"])
        # The first is stored before the second is sent, so the second is received later: the view must
        # list it above the first. Both are stored before the view opens (it does not refresh by itself).
        publish(first, b"\x54\x4d\x01\x00\x01")
        self.wait("the first dead letter in the API", stored(first))
        publish(second, b"\x54\x4d\x01\x00\x01")
        self.wait("the second dead letter in the API", stored(second))
        text = f"telemetry/{sensor}/browser-bad-json/json"
        publish(text, b'{"nothing":{"of":"ours"}}')
        self.wait("the JSON dead letter in the API", stored(text))
        self.go(f"/rejected?sensor={sensor}")

        def both_shown(driver):
            topics = [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#rejected tbody tr td.topic")]
            return topics if first in topics and second in topics else None

        topics = self.wait("both dead letters in their view", both_shown)
        assert topics.index(second) < topics.index(first), f"the second dead letter is not above the first: {topics}"
        row = self.driver.find_elements(By.CSS_SELECTOR, "#rejected tbody tr")[topics.index(second)]
        assert "544d 0100 01" in row.find_element(By.CSS_SELECTOR, "td.hex").text, row.text
        assert row.find_element(By.CSS_SELECTOR, "td.device").text == "browser-bad-second", row.text
        # A text payload is shown as text, JSON pretty-printed.
        json_row = next(r for r in self.driver.find_elements(By.CSS_SELECTOR, "#rejected tbody tr") if r.find_element(By.CSS_SELECTOR, "td.topic").text == text)
        assert '"of": "ours"' in json_row.find_element(By.CSS_SELECTOR, "td.text pre").text, json_row.text
        reason = row.find_element(By.CSS_SELECTOR, "td.reason").text.split(":")[0]
        field = self.driver.find_element(By.ID, "filter-reason")
        field.clear()
        field.send_keys(reason)
        self.driver.find_element(By.ID, "filter-apply").click()
        self.wait("rows of that reason only", lambda d: "reason=" in d.current_url and all(
            t.startswith(reason) for t in self.texts("#rejected tbody td.reason")) and self.texts("#rejected tbody td.reason"))
        self.shot("rejected")
        self.console_errors()

    def phone_width(self, sensor, device):
        self.driver.set_window_size(390, 844)
        for name, fragment, ready in [("overview", "/", "#sensors tbody tr"), ("device", f"/device/{sensor}/{device}", "svg.chart[data-points]"),
                                      ("alerts", "/alerts", "#alerts tbody tr")]:
            self.go(fragment)
            self.wait(f"{fragment} at phone width", lambda d: d.find_elements(By.CSS_SELECTOR, ready))
            overflow = self.driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{fragment} is {overflow} px wider than a phone's screen"
            self.shot("phone-" + name)
        self.console_errors()

    # -- alerts -------------------------------------------------------------------------------------

    def sign_in_as(self, token):
        """Signs out (the header's button) and in again with `token`."""
        self.go("/")
        sign_out = self.driver.find_element(By.ID, "sign-out")
        if sign_out.is_displayed():
            sign_out.click()
        field = self.wait("the sign-in form", lambda d: d.find_element(By.ID, "token") if d.find_element(By.ID, "token").is_displayed() else None)
        field.clear()
        field.send_keys(token)
        self.driver.find_element(By.ID, "signin-submit").click()
        self.wait("the overview after sign-in", lambda d: d.find_elements(By.CSS_SELECTOR, "#sensors tbody tr"))
        assert self.driver.execute_script("return sessionStorage.getItem('telemetry.token')") == token

    def alert_row(self, table, episode):
        rows = self.driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr[data-id='{episode}']")
        return rows[0] if rows else None

    def open_alerts_first_on_the_overview(self):
        """The overview opens with what is open or acknowledged (as the API lists it), each with its rule,
        device link, value vs threshold with the unit, when it was raised and its state; a cleared one is not there."""
        self.go("/")
        episode = api(f"/v1/alerts/{ALERT_OPEN}")
        assert episode["state"] == "open", episode
        # One snapshot of the page (it redraws every 5 s: elements found one by one could go stale).
        snapshot = """
            const row = document.querySelector(`#open-alerts tbody tr[data-id='${arguments[0]}']`);
            if (!row) return null;
            const cell = css => row.querySelector(css);
            return { view: Array.from(document.getElementById('view').children, e => e.tagName + '#' + e.id),
                     ids: Array.from(document.querySelectorAll('#open-alerts tbody tr'), r => r.dataset.id),
                     rule: cell('td.rule').textContent, device: cell('td.device a').textContent,
                     href: cell('td.device a').getAttribute('href'), measure: cell('td.measure').textContent,
                     raised: cell('td.raised time').textContent, title: cell('td.raised time').title,
                     badge: cell('.badge').textContent, link: document.getElementById('alerts-link').getAttribute('href') };"""
        shown = self.wait("the open alert on the overview", lambda d: d.execute_script(snapshot, ALERT_OPEN))
        listed = [a["id"] for a in api("/v1/alerts?state=open,acknowledged&limit=20")["alerts"]]
        assert shown["ids"] == listed, f"the overview lists {shown['ids']}, the API {listed}"
        assert ALERT_CLEARED not in shown["ids"], "a cleared episode among the open alerts"
        # First: the alerts come right after the title, above the device states and the sensor types.
        assert shown["view"][:3] == ["H1#", "SECTION#alerts-section", "P#device-states"], f"the overview begins with {shown['view'][:3]}"
        assert shown["rule"] == ALERT_RULE, shown
        assert shown["device"] == episode["device"] and shown["href"] == f"#/device/{episode['sensor']}/{episode['device']}", shown
        assert shown["measure"] == f"celsius: {episode['value']:g}\u00a0°C > {episode['threshold']:g}\u00a0°C", shown
        assert shown["raised"].endswith(" ago") and shown["title"].endswith(" UTC"), shown
        assert shown["badge"] == "open" and shown["link"].startswith("#/alerts"), shown
        self.shot("overview-alerts")
        self.console_errors()

    def alerts_page_filters(self):
        """#/alerts lists both episodes (not cleared first); the state and device filters keep only theirs."""
        self.driver.find_element(By.CSS_SELECTOR, "#nav a[href='#/alerts']").click()
        self.wait("both episodes on the alerts page", lambda d: self.alert_row("alerts", ALERT_OPEN) and self.alert_row("alerts", ALERT_CLEARED))
        ids = [r.get_attribute("data-id") for r in self.driver.find_elements(By.CSS_SELECTOR, "#alerts tbody tr")]
        assert ids.index(ALERT_OPEN) < ids.index(ALERT_CLEARED), f"the cleared episode above the open one: {ids}"
        assert self.alert_row("alerts", ALERT_OPEN).find_elements(By.CSS_SELECTOR, "button.acknowledge"), "no Acknowledge on the open episode"
        assert not self.alert_row("alerts", ALERT_CLEARED).find_elements(By.CSS_SELECTOR, "button.acknowledge"), "Acknowledge on a cleared episode"
        self.shot("alerts")

        def shows(filters, only):
            """Rows, once the page is the one of `filters`: `only` and nothing else (here only our rule raises)."""
            def check(driver):
                rows = driver.find_elements(By.CSS_SELECTOR, "#alerts tbody tr")
                return filters in driver.current_url and [r.get_attribute("data-id") for r in rows] == only
            self.wait(f"{filters}: {only}", check)

        Select(self.driver.find_element(By.ID, "alert-state")).select_by_value("cleared")
        self.driver.find_element(By.ID, "alert-apply").click()
        shows("state=cleared", [ALERT_CLEARED])
        assert all(t == "cleared" for t in self.texts("#alerts tbody .badge")), self.texts("#alerts tbody .badge")
        Select(self.driver.find_element(By.ID, "alert-state")).select_by_value("open")
        self.driver.find_element(By.ID, "alert-apply").click()
        shows("state=open", [ALERT_OPEN])
        cooled = api(f"/v1/alerts/{ALERT_CLEARED}")["device"]
        Select(self.driver.find_element(By.ID, "alert-state")).select_by_value("all")
        self.driver.find_element(By.ID, "alert-device").send_keys(cooled)
        self.driver.find_element(By.ID, "alert-apply").click()
        shows(f"device={cooled}", [ALERT_CLEARED])
        self.console_errors()

    def acknowledging_needs_an_admin_token(self):
        """With the read token the button says so (403), the user stays signed in, the episode stays open."""
        self.go("/alerts?state=open")
        self.wait("the Acknowledge button", lambda d: self.alert_row("alerts", ALERT_OPEN)
                  and self.alert_row("alerts", ALERT_OPEN).find_element(By.CSS_SELECTOR, "button.acknowledge")).click()
        message = self.wait("the admin-token message", lambda d: d.find_element(By.ID, "alerts-message")
                            if "Acknowledging needs an admin token" in d.find_element(By.ID, "alerts-message").text else None)
        assert message.is_displayed()
        assert self.driver.find_element(By.ID, "nav").is_displayed(), "signed out by a 403"
        assert self.driver.execute_script("return sessionStorage.getItem('telemetry.token')") == TOKEN
        assert self.alert_row("alerts", ALERT_OPEN).get_attribute("data-state") == "open"
        assert api(f"/v1/alerts/{ALERT_OPEN}")["state"] == "open"
        self.shot("alerts-forbidden")
        self.console_errors(allow=(403,))

    def acknowledge_with_the_admin_token(self):
        """Signed in with the admin token, Acknowledge turns the row acknowledged and the API says so; the
        overview still lists it (acknowledged is not cleared)."""
        self.sign_in_as(ADMIN_TOKEN)
        self.go("/alerts?state=open")
        self.wait("the Acknowledge button", lambda d: self.alert_row("alerts", ALERT_OPEN)
                  and self.alert_row("alerts", ALERT_OPEN).find_element(By.CSS_SELECTOR, "button.acknowledge")).click()
        row = self.wait("the row acknowledged", lambda d: self.alert_row("alerts", ALERT_OPEN)
                        if self.alert_row("alerts", ALERT_OPEN).get_attribute("data-state") == "acknowledged" else None)
        assert row.find_element(By.CSS_SELECTOR, ".badge").text == "acknowledged" and not row.find_elements(By.CSS_SELECTOR, "button.acknowledge"), row.text
        episode = api(f"/v1/alerts/{ALERT_OPEN}")
        assert episode["state"] == "acknowledged" and episode["acknowledged_at"], episode
        self.shot("alerts-acknowledged")
        self.go("/")
        self.wait("the acknowledged alert on the overview", lambda d: self.alert_row("open-alerts", ALERT_OPEN)
                  and self.alert_row("open-alerts", ALERT_OPEN).find_element(By.CSS_SELECTOR, ".badge").text == "acknowledged")
        self.console_errors()
        self.sign_in_as(TOKEN)

    def cleared_alert_leaves_the_overview(self):
        """A reading below the rule's clear level clears the episode: the overview then says "No open alerts"."""
        episode = api(f"/v1/alerts/{ALERT_OPEN}")
        publish(f"telemetry/{episode['sensor']}/{episode['device']}", tm_frame(7, int(time.time() * 1e6), [20.0]))
        self.wait("the episode cleared in the API", lambda d: api(f"/v1/alerts/{ALERT_OPEN}")["state"] == "cleared")
        self.go("/")
        self.wait("no open alerts on the overview", lambda d: d.find_element(By.ID, "no-open-alerts").text == "No open alerts"
                  if d.find_elements(By.ID, "no-open-alerts") else None)
        self.shot("overview-no-alerts")
        self.console_errors()


def main():
    with chromium(1280, 800) as driver:
        run = Run(driver)
        try:
            run.token_outside_latin1_is_refused()
            run.sign_in_refused_then_accepted()
            run.undecodable_fragment_shows_a_problem()
            run.overview_matches_the_api()
            run.open_alerts_first_on_the_overview()
            run.alerts_page_filters()
            run.acknowledging_needs_an_admin_token()
            run.acknowledge_with_the_admin_token()
            run.cleared_alert_leaves_the_overview()
            temperature = os.environ["LIVE_SENSOR"]
            device = run.devices_search_and_page(temperature)
            run.devices_search_and_page(next(s for s in SENSORS if s.startswith("power")))  # four fields, four headers
            for range_name in ["1h", "24h", "7d", "30d"]:
                run.chart_points_equal_the_api(temperature, device, range_name)
            run.zoom_and_hover(temperature, device)
            run.location_map(next(s for s in SENSORS if s.startswith("location")))
            run.csv_downloads(temperature, device)
            run.live_reading_within_two_seconds(temperature, device)
            run.dead_letters_appear_newest_first(temperature)
            run.phone_width(temperature, device)
            log("every browser check held")
            return 0
        except AssertionError as failure:
            log(f"FAILED: {failure}")
            return 1


if __name__ == "__main__":
    sys.exit(main())
