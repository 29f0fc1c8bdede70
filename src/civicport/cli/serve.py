"""`civicport serve`: run the portal over HTTP with Uvicorn."""

from __future__ import annotations

import typer

from civicport.cli.output import err_console, reporting_errors
from civicport.config import Settings, load_settings
from civicport.db.engine import make_engine
from civicport.db.migrate import upgrade

HOST_OPTION = typer.Option("127.0.0.1", "--host", help="Address to listen on.")
PORT_OPTION = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on.")


def serve_command(
    host: str = HOST_OPTION,
    port: int = PORT_OPTION,
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
) -> None:
    """Serve the portal (API and pages) until interrupted.

    Example: civicport serve --host 0.0.0.0 --port 8080 --workers 4
    """
    settings = load_settings()
    with reporting_errors():
        migrate(settings)
    run_server(settings, host=host, port=port, workers=workers)


def migrate(settings: Settings) -> None:
    """Bring the database schema up to date once, before any worker starts, so N workers do
    not race to run the same migration."""
    engine = make_engine(settings)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def run_server(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Run Uvicorn on the app factory; each worker builds its app from the same environment."""
    # Imported here: `civicport import` never needs the web stack, and starts faster without it.
    import uvicorn

    from civicport.api.access_log import log_config
    from civicport.api.http_protocol import SodaHttpToolsProtocol

    err_console.print(
        f"civicport serving {settings.site_name} at [bold]http://{host}:{port}[/bold] "
        "(Ctrl+C to stop)",
        highlight=False,
    )
    uvicorn.run(
        "civicport.asgi:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=log_config(),
        http=SodaHttpToolsProtocol,
    )
