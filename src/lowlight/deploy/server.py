"""``lowlight serve``: a local web page to enhance photos, on FastAPI + uvicorn.

Why FastAPI and one static page rather than Gradio (the field's usual demo framework):
the whole server is this file and ``static/index.html`` (no build step, no CDN, works
offline), its dependencies are three small packages instead of Gradio's ~60, and every
request is one of three routes that can be read and locked down: ``GET /`` (the page),
``GET /api/models``, ``POST /api/enhance``. A Gradio Space would be another front end on
the same :func:`enhance_bytes`.

Safety: the model comes from an allow-list (registered models that load with their shipped
weights), never a client path; uploads are read into memory only (nothing the client sends
is ever used as a file name or written to disk), capped in bytes (``max_bytes``) and in
pixels (checked from the header before decoding, ``max_pixels``); one enhancement runs at a
time; the server binds ``127.0.0.1`` unless told otherwise.

``speed`` and ``strength`` are passed to ``model.enhance`` only when its signature takes
them (checked with :mod:`inspect`), so the page works with models and versions that do not.
"""

import inspect
import io
import threading
import typing
from importlib import resources
from typing import Annotated, Any

import numpy as np

from lowlight._optional import require

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_PIXELS", "Enhancer", "create_app", "enhance_bytes"]

DEFAULT_MAX_BYTES = 25 * 2**20
"""Largest upload accepted (25 MiB)."""
DEFAULT_MAX_PIXELS = 24_000_000
"""Largest image accepted (24 MP), checked before decoding."""


class UploadError(ValueError):
    """An upload the server refuses (the message is shown to the user)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def enhance_options(model: Any) -> dict[str, Any]:
    """What ``model.enhance`` accepts beyond the image: ``{"speed": [choices] | None,
    "strength": default | None}`` for the parameters it has (absent keys: not supported)."""
    try:
        params = inspect.signature(model.enhance).parameters
    except (TypeError, ValueError):
        return {}
    out: dict[str, Any] = {}
    if "speed" in params:
        annotation = params["speed"].annotation
        if isinstance(annotation, str):
            try:
                annotation = typing.get_type_hints(model.enhance).get("speed", annotation)
            except Exception:  # noqa: BLE001 - unresolvable hints: no choices, free text
                annotation = None
        choices = [a for a in typing.get_args(annotation) if isinstance(a, str)]
        default = params["speed"].default
        out["speed"] = {
            "choices": choices,
            "default": None if default is inspect.Parameter.empty else default,
        }
    if "strength" in params:
        default = params["strength"].default
        out["strength"] = {
            "default": 1.0 if default in (inspect.Parameter.empty, None) else default
        }
    return out


class Enhancer:
    """Loads allowed models on first use (shipped weights only) and enhances one image at a time."""

    def __init__(self, models: list[str], device: str = "cpu") -> None:
        self.allowed = list(models)
        self.device = device
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def model(self, name: str) -> Any:
        if name not in self.allowed:
            raise UploadError(f"unknown model '{name}'; choose one of {', '.join(self.allowed)}")
        if name not in self._models:
            from lowlight.api import load

            self._models[name] = load(name, device=self.device)
        return self._models[name]

    def enhance(
        self, rgb: np.ndarray, name: str, speed: str | None, strength: float | None
    ) -> np.ndarray:
        """``(H, W, 3)`` float in ``[0, 1]`` -> the same, with ``speed``/``strength`` where supported."""
        with self._lock:
            model = self.model(name)
            supported = enhance_options(model)
            kwargs: dict[str, Any] = {}
            if speed and "speed" in supported:
                choices = supported["speed"]["choices"]
                if choices and speed not in choices:
                    raise UploadError(f"speed must be one of {', '.join(choices)}")
                kwargs["speed"] = speed
            if strength is not None and "strength" in supported:
                kwargs["strength"] = float(strength)
            return model.enhance(rgb, **kwargs)


def decode_upload(data: bytes, max_pixels: int) -> np.ndarray:
    """Upload bytes -> ``(H, W, 3)`` float32 sRGB in ``[0, 1]`` (EXIF orientation applied).

    Raises:
        UploadError: not an image, or more than ``max_pixels`` pixels (checked from the header).
    """
    from PIL import Image, UnidentifiedImageError

    from lowlight.io.image import from_pil

    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError) as exc:
        raise UploadError("not an image Pillow can read (PNG, JPEG, WebP, TIFF, BMP)") from exc
    width, height = image.size
    if width * height > max_pixels:
        raise UploadError(
            f"{width}x{height} is {width * height / 1e6:.1f} MP; this server accepts at most "
            f"{max_pixels / 1e6:.1f} MP",
            status=413,
        )
    try:
        rgb = from_pil(image).rgb
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data
        raise UploadError(f"cannot decode the image: {exc}") from exc
    return np.ascontiguousarray(rgb[..., :3], dtype=np.float32)


def encode_png(rgb: np.ndarray) -> bytes:
    """``(H, W, 3)`` float in ``[0, 1]`` -> 8-bit PNG bytes."""
    from PIL import Image

    array = (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def enhance_bytes(
    enhancer: Enhancer,
    data: bytes,
    model: str,
    *,
    speed: str | None = None,
    strength: float | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> bytes:
    """The whole request: upload bytes -> enhanced PNG bytes (nothing touches the disk)."""
    rgb = decode_upload(data, max_pixels)
    return encode_png(enhancer.enhance(rgb, model, speed, strength))


def default_models() -> list[str]:
    """Registered models that run with what ships (classical ones and those with weights)."""
    from lowlight.api import list_models, model_info

    out = []
    for name in list_models():
        info = model_info(name)
        if info.get("kind") == "classical" or info.get("default_weights"):
            out.append(name)
    return out


def create_app(
    models: list[str] | None = None,
    *,
    default_model: str | None = None,
    device: str = "cpu",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Any:
    """The FastAPI application (serve it with uvicorn; ``lowlight serve`` does).

    (This module has no ``from __future__ import annotations``: FastAPI reads the route
    annotations, which name classes imported inside this function.)"""
    fastapi = require("fastapi", extra="serve", feature="lowlight serve")
    require("multipart", extra="serve", feature="lowlight serve (file uploads)")
    from fastapi import File, Form, Request, UploadFile
    from fastapi.responses import HTMLResponse, JSONResponse, Response

    from lowlight.api import DEFAULT_MODEL, model_info

    names = models or default_models()
    default_model = default_model or (DEFAULT_MODEL if DEFAULT_MODEL in names else names[0])
    enhancer = Enhancer(names, device)
    page = (resources.files("lowlight.deploy") / "static" / "index.html").read_text("utf-8")
    app = fastapi.FastAPI(title="lowlight", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page

    @app.get("/api/models")
    def list_models() -> dict[str, Any]:
        rows = []
        for name in names:
            info = model_info(name)
            rows.append(
                {"name": name, "kind": info.get("kind", ""), "summary": info.get("summary", "")}
            )
        options: dict[str, Any] = {}
        try:
            options = enhance_options(enhancer.model(default_model))
        except Exception:  # noqa: BLE001 - the page still works without speed/strength
            options = {}
        return {
            "models": rows,
            "default": default_model,
            "options": options,
            "max_bytes": max_bytes,
            "max_pixels": max_pixels,
        }

    @app.post("/api/enhance")
    async def enhance(
        request: Request,
        image: Annotated[UploadFile, File()],
        model: Annotated[str, Form()],
        speed: Annotated[str | None, Form()] = None,
        strength: Annotated[float | None, Form()] = None,
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_bytes + 65536:
            return JSONResponse({"error": f"upload larger than {max_bytes // 2**20} MiB"}, 413)
        data = await image.read(max_bytes + 1)
        if len(data) > max_bytes:
            return JSONResponse({"error": f"upload larger than {max_bytes // 2**20} MiB"}, 413)
        try:
            png = await _in_thread(
                enhance_bytes,
                enhancer,
                data,
                model,
                speed=speed or None,
                strength=strength,
                max_pixels=max_pixels,
            )
        except UploadError as exc:
            return JSONResponse({"error": str(exc)}, exc.status)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    return app


async def _in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    import anyio

    return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
