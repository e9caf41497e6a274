"""Translatable templates: ``{{ _("Sign in") }}`` and ``{% trans %}`` work in every template.

For now the translations are the identity (English). The explorer's Babel catalogues replace
them with ``env.install_gettext_translations(...)``; templates do not change.
"""

from __future__ import annotations

from jinja2 import Environment


def install_i18n(env: Environment) -> None:
    if "jinja2.ext.InternationalizationExtension" not in env.extensions:
        env.add_extension("jinja2.ext.i18n")
        env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
