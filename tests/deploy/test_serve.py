"""``lowlight serve``: the API refuses what it must (unknown models, non-images, too many
pixels, too many bytes, client paths), and the page works in a real headless Chromium:
upload a photo, wait for the result, download it, check the downloaded file."""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="needs the [serve] extra")
pytest.importorskip("multipart", reason="needs the [serve] extra")


def _png(width: int = 80, height: int = 60, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray((rng.random((height, width, 3)) * 60).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def client():  # noqa: ANN201
    from fastapi.testclient import TestClient

    from lowlight.deploy.server import create_app

    return TestClient(create_app(["gamma", "identity"], max_bytes=200_000, max_pixels=50_000))


class TestApi:
    def test_page_and_models(self, client) -> None:  # noqa: ANN001
        assert client.get("/").status_code == 200 and "<form" in client.get("/").text
        info = client.get("/api/models").json()
        assert [m["name"] for m in info["models"]] == ["gamma", "identity"]
        assert info["max_pixels"] == 50_000

    def test_enhances_in_memory_and_ignores_the_client_file_name(
        self, client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:  # noqa: ANN001
        monkeypatch.chdir(tmp_path)
        files = {"image": ("../../evil.png", _png(), "image/png")}
        response = client.post("/api/enhance", files=files, data={"model": "gamma"})
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        out = np.asarray(Image.open(io.BytesIO(response.content)))
        assert (
            out.shape == (60, 80, 3)
            and out.mean() > np.asarray(Image.open(io.BytesIO(_png()))).mean()
        )
        assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent.parent / "evil.png").exists()

    @pytest.mark.parametrize(
        ("data", "model", "status", "match"),
        [
            (b"not an image", "gamma", 400, "not an image"),
            (None, "/etc/passwd", 400, "unknown model"),
            (None, "lime", 400, "unknown model"),  # registered, but not offered
        ],
    )
    def test_refusals(self, client, data, model, status, match) -> None:  # noqa: ANN001
        files = {"image": ("x.png", data or _png(), "image/png")}
        response = client.post("/api/enhance", files=files, data={"model": model})
        assert response.status_code == status and match in response.json()["error"]

    def test_pixel_and_byte_limits(self, client) -> None:  # noqa: ANN001
        big = {"image": ("x.png", _png(300, 200), "image/png")}  # 60 000 px > 50 000
        response = client.post("/api/enhance", files=big, data={"model": "gamma"})
        assert response.status_code == 413 and "MP" in response.json()["error"]
        heavy = {"image": ("x.png", b"\x89PNG" + b"0" * 300_000, "image/png")}
        response = client.post("/api/enhance", files=heavy, data={"model": "gamma"})
        assert response.status_code == 413 and "larger than" in response.json()["error"]

    def test_speed_and_strength_only_where_enhance_takes_them(self) -> None:
        from lowlight.deploy.server import Enhancer, enhance_options

        class Plain:
            def enhance(self, image):  # noqa: ANN001, ANN202
                return image

        class Tunable:
            def enhance(self, image, speed: str = "balanced", strength: float = 1.0):  # noqa: ANN001, ANN202
                self.got = (speed, strength)
                return image * strength

        assert enhance_options(Plain()) == {}
        assert set(enhance_options(Tunable())) == {"speed", "strength"}
        enhancer = Enhancer(["plain", "tunable"])
        enhancer._models = {"plain": Plain(), "tunable": Tunable()}
        rgb = np.full((4, 4, 3), 0.5, np.float32)
        assert np.array_equal(enhancer.enhance(rgb, "plain", "fast", 0.2), rgb)  # ignored
        assert np.allclose(enhancer.enhance(rgb, "tunable", "fast", 0.2), 0.1)
        assert enhancer._models["tunable"].got == ("fast", 0.2)


def test_serve_binds_localhost_by_default() -> None:
    from lowlight.cli.serve import command

    host = next(p for p in command.params if p.name == "host")
    assert host.default == "127.0.0.1"


# ------------------------------------------------------------------ real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server() -> Iterator[str]:
    import uvicorn

    from lowlight.deploy.server import create_app

    port = _free_port()
    config = uvicorn.Config(
        create_app(["gamma", "lime"]), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def chrome(download_dir: Path, width: int = 1100, height: int = 760):  # noqa: ANN201
    """A headless Debian Chromium driven by Selenium, downloading into ``download_dir``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    return webdriver.Chrome(service=Service(DRIVER), options=options)


@pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
    ".ci/run installs them)",
)
def test_page_in_a_real_browser(server: str, tmp_path: Path) -> None:
    pytest.importorskip("selenium", reason="needs the [browser-test] extra")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    photo = tmp_path / "night shot.png"
    photo.write_bytes(_png(96, 64, seed=3))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = chrome(downloads)
    try:
        driver.get(server)
        wait = WebDriverWait(driver, 120)
        wait.until(lambda d: len(Select(d.find_element(By.ID, "model")).options) == 2)
        Select(driver.find_element(By.ID, "model")).select_by_value("gamma")
        driver.find_element(By.ID, "files").send_keys(str(photo))
        driver.find_element(By.ID, "go").click()
        link = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "a.download")))
        assert driver.find_element(By.CSS_SELECTOR, ".state").text == "done"
        assert link.get_attribute("download") == "night shot_gamma.png"
        slider = driver.find_element(By.CSS_SELECTOR, ".card input[type=range]")
        driver.execute_script(
            "arguments[0].value = 20; arguments[0].dispatchEvent(new Event('input'))", slider
        )
        clip = driver.find_element(By.CSS_SELECTOR, ".after").value_of_css_property("clip-path")
        assert "20%" in clip
        link.click()
        target = downloads / "night shot_gamma.png"
        wait.until(lambda d: target.is_file() and not list(downloads.glob("*.crdownload")))
    finally:
        driver.quit()
    got = np.asarray(Image.open(target).convert("RGB"))
    src = np.asarray(Image.open(photo).convert("RGB"))
    assert got.shape == src.shape and got.mean() > src.mean() + 10
