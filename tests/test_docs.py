"""The documentation is checked against the code, so it cannot drift."""

from pathlib import Path

import pytest

from costtracker.settings import Settings, env_names

ROOT = Path(__file__).parent.parent
VARIABLES = sorted({name for field in Settings.model_fields.values() for name in env_names(field)})


@pytest.mark.parametrize("variable", VARIABLES)
def test_every_setting_is_documented(variable: str) -> None:
    assert f"`{variable}`" in (ROOT / "docs" / "configuration.md").read_text(), f"{variable} undocumented"


@pytest.mark.parametrize("variable", VARIABLES)
def test_every_setting_is_in_the_env_example(variable: str) -> None:
    assert f"{variable}=" in (ROOT / ".env.example").read_text(), f"{variable} missing from .env.example"


def test_every_registered_source_has_a_doc_page() -> None:
    from costtracker.sources import available_sources

    for key in available_sources():
        assert (ROOT / "docs" / "providers" / f"{key}.md").is_file(), f"docs/providers/{key}.md missing"
