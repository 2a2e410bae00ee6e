"""config: the effective settings and where each came from; --markdown: the docs' tables."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any


def register(add) -> None:
    p = add("config", "print the effective settings and where each came from (default, file, environment, flag)")
    p.add_argument(
        "--markdown",
        action="store_true",
        help="print the settings tables of the docs' configuration page instead (defaults, variables, meaning)",
    )
    p.set_defaults(handler=cmd_config)


def cmd_config(args: argparse.Namespace, settings) -> int:
    from recommender.cli.common import setting_overrides
    from recommender.config import SECRETS, Settings, config_file
    from server.config import ServerConfig

    if args.markdown:
        print(settings_markdown(), end="")
        return 0
    settings, origin = Settings.resolve(setting_overrides(args))
    server, server_origin = ServerConfig.resolve(settings)
    path = config_file()
    print(f"config file: {path if path is not None else 'none (no ./recsys.toml, RECSYS_CONFIG unset)'}")
    rows = [(f.name, getattr(settings, f.name), origin.get(f.name, "default")) for f in fields(settings)]
    rows += [
        (f"server.{f.name}", getattr(server, f.name), server_origin.get(f.name, "default"))
        for f in fields(server)
        if f.name != "settings"
    ]
    width = max(len(name) for name, _, _ in rows)
    for name, value, source in rows:
        shown = ("(set)" if value else "(unset)") if name.removeprefix("server.") in SECRETS else _text(value)
        print(f"{name:<{width}}  {shown:<40}  {source}")
    return 0


def settings_markdown() -> str:
    """The configuration page's two tables, from the settings' own declarations."""
    from recommender.config import Settings, env_name
    from server.config import ServerConfig, server_env_name

    def table(cls: Any, variable) -> list[str]:
        lines = ["| setting | environment variable | default | what it is |", "|---|---|---|---|"]
        for f in fields(cls):
            if f.name == "settings":
                continue
            default = "unset" if f.default is None or f.default is MISSING else f"`{_text(f.default)}`"
            doc = cls.__pydantic_fields__[f.name].description or ""
            lines.append(f"| `{f.name}` | `{variable(f.name)}` | {default} | {doc} |")
        return lines

    out = ["<!-- settings:start (recsys config --markdown) -->", "", *table(Settings, env_name), ""]
    out += ["Server (the `[server]` table of the config file):", "", *table(ServerConfig, server_env_name), ""]
    out += ["<!-- settings:end -->", ""]
    return "\n".join(out)


def _text(value: Any) -> str:
    from recommender.config import REPO_ROOT

    if value is None:
        return "unset"
    if isinstance(value, Path) and value.is_relative_to(REPO_ROOT):  # the same on every checkout
        return value.relative_to(REPO_ROOT).as_posix()
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)
