"""What ``costtracker collect`` shows in a terminal: a progress line per provider, then a table."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from costtracker.collect.runs import OutcomeRecord
from costtracker.store.models import Outcome

COLOURS = {
    Outcome.SUCCESS: "green",
    Outcome.PARTIAL: "yellow",
    Outcome.FAILED: "red",
    Outcome.UNAVAILABLE: "magenta",
    Outcome.SKIPPED: "dim",
}


class ProgressView:
    """Listens to the engine: one spinner per provider, ticked off as its workspaces finish."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> ProgressView:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def __call__(self, kind: str, data: OutcomeRecord | str) -> None:
        if kind == "provider" and isinstance(data, str):
            self.tasks[data] = self.progress.add_task(f"{data}: collecting", total=None)
        elif kind == "outcome" and isinstance(data, OutcomeRecord) and data.provider in self.tasks:
            where = f"{data.provider} ({data.account})" if data.account else data.provider
            self.progress.console.print(f"  {where}: {data.status.value}")


def outcome_table(outcomes: list[OutcomeRecord], currency: str) -> Table:
    table = Table(title="Collection")
    for column in ("provider", "account", "status", "lines", f"amount ({currency})", "duration", "reason"):
        table.add_column(column, justify="right" if column in ("lines", "duration") else "left")
    for outcome in outcomes:
        colour = COLOURS.get(outcome.status, "white")
        amount = _amount(outcome.amount) if outcome.status in (Outcome.SUCCESS, Outcome.PARTIAL) else "—"
        table.add_row(
            outcome.provider,
            outcome.account or "—",
            f"[{colour}]{outcome.status.value}[/]",
            str(outcome.lines),
            amount,
            f"{outcome.duration_ms / 1000:.1f} s",
            outcome.reason or "",
        )
    return table


def _amount(value: Decimal | None) -> str:
    return "unknown" if value is None else f"{value:,.2f}"
