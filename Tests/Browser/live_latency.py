"""The page side of DashboardBenchmark's publish → browser latency: a headless Chromium opens one device's
live view, and a MutationObserver (added here through Selenium; the page itself has no hook) notes, for
each row the live stream adds to the readings table, the wall-clock time it entered the DOM and the
start of the animation frame that paints it, minus the reading's time. The benchmark stamps each reading with
its publish time on this machine's clock, so both differences are publish → browser.

    DASHBOARD_URL=http://127.0.0.1:8080 DASHBOARD_TOKEN=... live_latency.py SENSOR DEVICE

Talks to the benchmark in lines: prints `ready` once the view's stream is live and the observer watches;
then reads `collect N`, waits (at most 15 s) until N rows were seen, prints one JSON line
`{"rows": [[reading time µs, DOM ms, frame ms or null], ...]}` and quits. End of input (the benchmark went away)
quits the browser too.
"""
import json
import os
import sys

from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from chromium import chromium

# performance.timeOrigin + performance.now(): wall-clock milliseconds with sub-millisecond resolution.
OBSERVE = """
window.liveLatency = [];
const now = () => performance.timeOrigin + performance.now();
new MutationObserver(records => {
  const inDOM = now();
  const entries = records.flatMap(r => [...r.addedNodes]).filter(n => n.dataset && n.dataset.time).map(row => {
    const iso = row.dataset.time;  // 2026-01-01T00:00:00.123456Z
    const micros = Date.parse(iso.slice(0, 23) + "Z") * 1000 + Number(iso.slice(23, 26));
    return [micros, inDOM - micros / 1000, null];
  });
  window.liveLatency.push(...entries);
  // The frame that paints the rows starts with this callback.
  requestAnimationFrame(() => { const framed = now(); for (const entry of entries) entry[2] = framed - entry[0] / 1000; });
}).observe(document.querySelector("#raw tbody"), { childList: true });
"""


def main():
    url, token = os.environ["DASHBOARD_URL"].rstrip("/"), os.environ["DASHBOARD_TOKEN"]
    sensor, device = sys.argv[1:3]
    with chromium(1280, 800) as driver:
        wait = lambda seconds: WebDriverWait(driver, seconds, poll_frequency=0.05, ignored_exceptions=[StaleElementReferenceException])
        driver.get(url + "/")
        driver.execute_script("sessionStorage.setItem('telemetry.token', arguments[0])", token)
        driver.get(f"{url}/#/device/{sensor}/{device}?range=1h")
        try:
            wait(30).until(lambda d: d.find_element(By.ID, "live").get_attribute("data-state") == "on")
        except TimeoutException:
            print("error: the live view did not connect within 30 s", file=sys.stderr, flush=True)
            return 1
        driver.execute_script(OBSERVE)
        print("ready", flush=True)
        line = sys.stdin.readline().split()
        if len(line) != 2 or line[0] != "collect":
            return 1  # end of input: the benchmark is gone
        expected = int(line[1])
        try:
            wait(15).until(lambda d: d.execute_script("return window.liveLatency.length") >= expected)
        except TimeoutException:
            pass  # the benchmark counts what is missing
        print(json.dumps({"rows": driver.execute_script("return window.liveLatency")}), flush=True)
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        for error in errors:
            print(f"console error: {error}", file=sys.stderr, flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
