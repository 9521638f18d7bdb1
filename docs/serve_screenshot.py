"""Screenshot of ``lowlight serve`` in headless Chromium, after enhancing two SCI sample photos
(docs/serve.png, referenced by the README).

    python docs/serve_screenshot.py [--photos ../shared/data/sci_samples/easy/0016.png ...]

Needs the [serve] and [browser-test] extras and Debian's chromium + chromium-driver.
"""

from __future__ import annotations

import argparse
import io
import socket
import threading
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "sci_samples" / "easy"


def main() -> None:
    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from lowlight.deploy.server import create_app

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", nargs="*", type=Path, default=[DATA / "0016.png"])
    parser.add_argument("--model", default="lime")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "serve.png")
    opts = parser.parse_args()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1000,640",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(driver, 600)
        wait.until(lambda d: len(Select(d.find_element(By.ID, "model")).options) > 1)
        Select(driver.find_element(By.ID, "model")).select_by_value(opts.model)
        driver.find_element(By.ID, "files").send_keys(
            "\n".join(str(p.resolve()) for p in opts.photos)
        )
        driver.find_element(By.ID, "go").click()
        wait.until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, ".state.done")) == len(opts.photos)
        )
        png = driver.get_screenshot_as_png()
    finally:
        driver.quit()
        server.should_exit = True
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(opts.out, optimize=True)
    print(f"wrote {opts.out} ({opts.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
