"""Screenshots of the main pages with the demo's data, for the README (``docs/screenshots/``).

Runs what ``costtracker demo`` runs (the emulators on loopback, three months collected into a
fresh SQLite file, the demo admin), serves the app, and has Debian's Chromium take each page.
The browser may reach nothing but this machine.

    .venv/bin/python -m benchmarks.screenshots [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import ViewportSize

from costtracker.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    collect_demo_data,
    create_demo_admin,
    demo_environment,
    fresh_database,
    seed_exchange_rates,
)
from costtracker.emulators.serve import bind, emulated_keys, serve_emulators, server_for
from costtracker.settings import load_settings
from costtracker.web.app import create_app

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
ARGS += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
# name -> (path, viewport, whole page)
SHOTS: dict[str, tuple[str, ViewportSize, bool]] = {
    "overview": ("/?preset=last-month&lang=en&theme=light", DESKTOP, True),
    "explorer": ("/explorer?provider=openai&workspace=edugami&preset=last-month", DESKTOP, True),
    "explorer-dark": ("/explorer?provider=anthropic&preset=this-month&theme=dark", DESKTOP, False),
    "explorer-fr": ("/explorer?provider=openrouter&preset=last-month&lang=fr&theme=light", DESKTOP, False),
    "collections": ("/collections?lang=en", DESKTOP, False),
    "report": ("/report", DESKTOP, False),
    "phone": ("/explorer?provider=openai&preset=this-month", PHONE, True),
}


def take(origin: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Chromium is not installed (apt-get install chromium)")
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        context = browser.new_context(locale="en-US", viewport=DESKTOP)
        context.route("**/*", lambda route: _confine(route, outside))
        page = context.new_page()
        page.goto(origin + "/login")
        page.fill("input[name=email]", DEMO_ADMIN_EMAIL)
        page.fill("input[name=password]", DEMO_ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(origin + "/")
        for name, (path, viewport, whole) in SHOTS.items():
            page.set_viewport_size(viewport)
            page.goto(origin + path)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(400)  # Plotly's transitions
            page.screenshot(path=str(out / f"{name}.png"), full_page=whole)
            print(f"  {out / name}.png")
        browser.close()
    if outside:
        raise SystemExit(f"the pages asked for other hosts: {outside}")


def _confine(route: Any, outside: list[str]) -> None:
    if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost") or route.request.url.startswith(
        "data:"
    ):
        route.continue_()
        return
    outside.append(route.request.url)
    route.abort()


async def run(out: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with serve_emulators(emulated_keys()) as served:
            os.environ.update(demo_environment(served, Path(folder)))
            settings = load_settings()
            fresh_database(settings)
            seed_exchange_rates(settings)
            await collect_demo_data(settings, print)
            create_demo_admin(settings)
            sock = bind(0)
            server = server_for(create_app(settings))
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started:
                await asyncio.sleep(0.05)
            try:
                await asyncio.to_thread(take, f"http://127.0.0.1:{sock.getsockname()[1]}", out)
            finally:
                server.should_exit = True
                await serving


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args.out))


if __name__ == "__main__":
    main()
