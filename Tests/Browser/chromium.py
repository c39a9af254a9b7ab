"""Headless Chromium through Selenium for the dashboard's browser test and benchmark, quit however the
run ends: an exception, Ctrl-C, or SIGTERM/SIGHUP (from the Swift side at its deadline) all go through
`finally`, so neither chromedriver nor Chromium outlives the run; and they run in this process's own
process group, for the caller to sweep after it (DashboardBrowserTests, DashboardBenchmark).

Environment: CHROMEDRIVER (default /usr/bin/chromedriver), CHROMIUM (default /usr/bin/chromium).
"""
import contextlib
import os
import signal

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def _exit_on_signal(number, _frame):
    raise SystemExit(128 + number)


@contextlib.contextmanager
def chromium(width, height):
    """A Chrome driver at width × height with the browser log kept, quit when the block is left."""
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _exit_on_signal)
    # A process group of our own, which chromedriver and Chromium join: should this process die without
    # quitting them (SIGKILL), the caller still ends them all with `kill -- -<this pid>`.
    os.setpgid(0, 0)
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Downloads (the dashboard's CSV buttons) go to DOWNLOADS, where the test reads them.
    options.add_experimental_option("prefs", {"download.default_directory": os.path.abspath(os.environ.get("DOWNLOADS", ".local/downloads")),
                                              "download.prompt_for_download": False})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        # A second signal while quitting must not cut the quit short.
        for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(number, signal.SIG_IGN)
        driver.quit()
