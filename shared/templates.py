"""The one Jinja environment: letters, statements and notification texts render the same way.

Autoescape is on for HTML (a patient's name cannot inject markup into a statement or an
email), and StrictUndefined turns a misspelt variable into an error at render time instead of
a silently empty field on a letter to a payer.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, PrefixLoader, StrictUndefined, Template, select_autoescape

_DIRS: dict[str, Path] = {}


def add_template_dir(prefix: str, path: Path) -> None:
    """Let `template("<prefix>/<name>")` find the files in `path`. Each sub-domain adds its own
    directory under its own prefix, so two services' `letter.txt` never collide when several
    services share a process (as in the tests)."""
    if _DIRS.get(prefix) != path:
        _DIRS[prefix] = path
        environment.cache_clear()


_FILTERS: dict[str, Any] = {}


def add_filters(**filters: Any) -> None:
    """Formatting filters (money, dates) shared by every template of the process."""
    _FILTERS.update(filters)
    environment.cache_clear()


@cache
def environment() -> Environment:
    """Plain text unless the template is an .html/.xml file: escaping would garble an SMS or a
    text letter. A file's final newline is dropped (Jinja's default)."""
    env = Environment(
        loader=PrefixLoader({k: FileSystemLoader(str(p)) for k, p in _DIRS.items()}),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml"), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        # Template files ship with the code and never change while it runs (add_template_dir
        # clears the cache): no stat of the file on every render.
        auto_reload=False,
    )
    env.filters.update(_FILTERS)
    return env


def template(name: str) -> Template:
    """A template file, named `<prefix>/<path in that directory>`."""
    return environment().get_template(name)


def from_string(source: str, *, html: bool = False) -> Template:
    """A template kept as text (a staff-edited notification template, a statement layout);
    `html=True` escapes every value."""
    env = environment()
    if html:
        env = env.overlay(autoescape=True)
    return env.from_string(source)


def render(source: str, *, html: bool = False, **context: Any) -> str:
    return from_string(source, html=html).render(**context)
