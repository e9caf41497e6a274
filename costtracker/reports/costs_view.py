"""``costtracker costs`` as a table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

STATUS_COLOURS = {"complete": "green", "partial": "yellow", "unknown": "red"}


def print_costs(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    where = " / ".join(x for x in (summary["provider"], summary["workspace"], summary["project"]) if x)
    colour = STATUS_COLOURS.get(summary["status"], "white")
    total = "unknown" if summary["total"] is None else f"{summary['total']} {summary['currency']}"
    console.print(
        f"[bold]{where}[/] {summary['start']} .. {summary['end']}: [bold]{total}[/] "
        f"[{colour}]({summary['status']})[/]"
    )
    for reason in summary["reasons"]:
        console.print(f"  [{colour}]{reason}[/]")
    table = Table()
    for column in ("model", "amount", "provenance", "requests", "input tokens", "output tokens"):
        table.add_column(column, justify="left" if column in ("model", "provenance") else "right")
    for item in summary["breakdown"]:
        table.add_row(
            item["model"],
            item["amount"] or "unknown",
            ", ".join(item["provenance"]),
            f"{item['requests']:,}",
            f"{item['input_tokens']:,}",
            f"{item['output_tokens']:,}",
        )
    console.print(table)
    provenance = ", ".join(f"{k} {v}" for k, v in summary["by_provenance"].items())
    console.print(
        f"by provenance: {provenance}; unpriced lines: {summary['unpriced_lines']}; "
        f"last updated: {summary['last_updated'] or 'never'}"
    )
