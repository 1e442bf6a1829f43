"""Versioned Jinja2 templates: `templates/<name>/v<N>.j2`, one file per version.

A file never changes once messages were sent with it: a new wording is a new file `v<N+1>`,
and the highest version is the one in use. Every message records (template, version), and old
versions stay previewable. Each file defines four blocks: `subject`, `email` (plain text),
`sms` and `inbox`. Templates see only the small, PHI-free context that `messages.py` builds
from an event, and StrictUndefined turns a misspelt field into an error, not a blank.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

TEMPLATE_DIR = Path(__file__).parent / "templates"
BLOCKS = ("subject", "email", "sms", "inbox")
_VERSION_FILE = re.compile(r"^v(\d+)\.j2$")


class UnknownTemplate(LookupError):
    """No such template, or no such version of it."""


def _money(value: Decimal | int | str) -> str:
    return f"${Decimal(value):,.2f}"


def _day(value: date | datetime) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def _iso(value: date | datetime) -> str:
    return f"{value:%Y-%m-%d}"


@cache
def environment() -> Environment:
    # Plain text (email text/plain, SMS, inbox JSON), never HTML: escaping would garble it.
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,  # noqa: S701
        keep_trailing_newline=False,
    )
    env.filters.update(money=_money, day=_day, iso=_iso)
    return env


@cache
def versions() -> dict[str, list[int]]:
    """Every template and its versions, ascending (read from the files once)."""
    found: dict[str, list[int]] = {}
    for folder in sorted(p for p in TEMPLATE_DIR.iterdir() if p.is_dir()):
        numbers = sorted(int(m.group(1)) for f in folder.iterdir() if (m := _VERSION_FILE.match(f.name)))
        if numbers:
            found[folder.name] = numbers
    return found


def latest_version(name: str) -> int:
    if name not in versions():
        raise UnknownTemplate(name)
    return versions()[name][-1]


@cache
def _compiled(name: str, version: int) -> tuple[Template, dict[str, Any]]:
    """A template version, compiled once, and the globals it sees. A version's file never
    changes, so neither is looked up again (Jinja's own cache stats the file on every use and
    merges the globals into every context)."""
    if version not in versions().get(name, []):
        raise UnknownTemplate(f"{name} v{version}")
    template = environment().get_template(f"{name}/v{version}.j2")
    return template, dict(template.globals)


@dataclass(frozen=True)
class Rendered:
    template: str
    version: int
    subject: str
    email: str
    sms: str
    inbox: str

    def text_for(self, channel: str) -> str:
        return {"email": self.email, "sms": self.sms, "inbox": self.inbox}[channel]


def render(name: str, context: dict[str, Any], version: int | None = None) -> Rendered:
    """Render every block of one template version (the latest when not given)."""
    version = version or latest_version(name)
    template, globals_ = _compiled(name, version)
    # The globals and the context in one new dict, as `new_context` builds it when not shared.
    ctx = template.new_context({**globals_, **context}, shared=True)
    parts = {block: "".join(template.blocks[block](ctx)).strip() for block in BLOCKS}
    # One line for subjects and SMS, whatever the template's whitespace.
    parts["subject"] = " ".join(parts["subject"].split())
    parts["sms"] = " ".join(parts["sms"].split())
    return Rendered(template=name, version=version, **parts)
