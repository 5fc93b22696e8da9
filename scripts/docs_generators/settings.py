"""The service settings table, from `tessera_server.config.Settings`."""

from __future__ import annotations

from .common import _cell, use_repository_sources

# --------------------------------------------------------------------------------------
# Service settings


def settings_table(detailed: bool = True) -> str:
    """One table row per field of `Settings`. Detailed (the docs site): variable with an
    anchor, type with its bounds, default, meaning. Short (the README): variable, default,
    meaning."""
    use_repository_sources()
    from tessera_server.config import Settings

    head = (
        ["Variable", "Type", "Default", "Meaning"]
        if detailed
        else ["Variable", "Default", "Meaning"]
    )
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, field in Settings.model_fields.items():
        env = f"TESSERA_{name.upper()}"
        if field.default_factory is not None:
            default = "a file in the user data directory" + (" (see below)" if detailed else "")
        elif field.default in ("", None):
            default = "(empty)"
        elif isinstance(field.default, bool) and detailed:
            default = f"`{str(field.default).lower()}`"
        else:
            default = f"`{field.default}`"
        if not detailed:
            rows.append(f"| `{env}` | {default} | {field.description or ''} |")
            continue
        kind = getattr(field.annotation, "__name__", str(field.annotation))
        bounds = [
            f"{label} {getattr(meta, attr)}"
            for meta in field.metadata
            for attr, label in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"))
            if getattr(meta, attr, None) is not None
        ]
        if bounds:
            kind = f"{kind}, {', '.join(bounds)}"
        rows.append(
            f'| <a id="{env.lower().replace("_", "-")}"></a>`{env}` | {kind} | {default} '
            f"| {_cell(field.description or '')} |"
        )
    return "\n".join(rows)


def service_settings() -> str:
    """The docs site's settings table."""
    return settings_table(detailed=True)
