"""`civicport demo`: a portal with real sample data, in one command."""

from __future__ import annotations

from civicport.cli.output import err_console, reporting_errors, row_progress
from civicport.cli.serve import HOST_OPTION, PORT_OPTION, run_server
from civicport.config import load_settings


def demo_command(host: str = HOST_OPTION, port: int = PORT_OPTION) -> None:
    """Publish the bundled sample datasets into $CIVICPORT_HOME (first run only), then serve.

    Example: civicport demo --port 8080
    """
    settings = load_settings()
    err_console.print(f"Setting up the sample portal in {settings.home.resolve()}", highlight=False)
    with reporting_errors():
        from civicport.demo.setup import setup_demo  # heavy: readers and the catalog service

        outcomes, admin = setup_demo(settings, progress=row_progress)
    for outcome in outcomes:
        state = "imported" if outcome.result else "already there"
        err_console.print(
            f"  {outcome.dataset.id}  {outcome.dataset.metadata.title} ({state})", highlight=False
        )
    if admin is not None:
        err_console.print(
            f"Staff sign-in at http://{host}:{port}/account/sign-in as {admin.email} with the "
            f"password {admin.password} (shown this once; change it with "
            f"`civicport users password {admin.email}`).",
            highlight=False,
        )
    run_server(settings, host=host, port=port)
