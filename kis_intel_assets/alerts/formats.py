"""A Message laid out in each channel's native rich format: Slack Block Kit, Discord embeds, plain text.

Limits are the platforms' documented maxima (Slack header 150 chars, section text 3000, 10 fields of
2000; Discord title 256, description 4096, 25 fields with 256-char names and 1024-char values); text is
clipped rather than rejected so a long error message still gets through.
"""

from __future__ import annotations

from typing import Any

from kis_intel_assets.alerts.model import Severity
from kis_intel_assets.alerts.render import Message

SEVERITY_EMOJI = {Severity.INFO: "ℹ️", Severity.WARNING: "⚠️", Severity.ERROR: "🚨"}
# Discord embed side colours: blue, amber, red.
SEVERITY_COLOUR = {Severity.INFO: 0x3498DB, Severity.WARNING: 0xF39C12, Severity.ERROR: 0xE74C3C}
BOT_NAME = "kis-intel"
DISCORD_EMBED_LIMIT = 5900  # 6000 minus a margin for the link markup Discord counts
DISCORD_SUMMARY_LIMIT = 2000


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: Message, channel: str | None = None) -> dict[str, Any]:
    """Block Kit message for an incoming webhook, or chat.postMessage when `channel` is given."""
    heading = f"{SEVERITY_EMOJI[message.severity]} {message.title}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(heading, 150), "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(_slack_escape(message.summary), 3000)}},
    ]
    if message.fields:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": clip(f"*{_slack_escape(k)}*\n{_slack_escape(v)}", 2000)}
                    for k, v in message.fields[:10]
                ],
            }
        )
    if message.links:
        link_text = "  ·  ".join(f"<{url}|{_slack_escape(label)}>" for label, url in message.links)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(link_text, 3000)}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(message.footer, 3000)}]})
    payload: dict[str, Any] = {"text": clip(f"{heading}: {message.summary}", 3000), "blocks": blocks}
    if channel:
        payload["channel"] = channel
        payload["unfurl_links"] = False
    return payload


def discord_payload(message: Message) -> dict[str, Any]:
    """One embed coloured by severity; mentions disabled so alert text can never ping anyone."""
    description = clip(message.summary, DISCORD_SUMMARY_LIMIT)
    if message.links:
        description += "\n\n" + " · ".join(f"[{label}]({url})" for label, url in message.links)
    title, footer = clip(message.title, 256), clip(message.footer, 256)
    fields = message.fields[:25]
    # Discord rejects an embed whose texts add up to more than 6000 characters: share what is left.
    per_field = (DISCORD_EMBED_LIMIT - len(title) - len(description) - len(footer)) // max(1, len(fields))
    embed: dict[str, Any] = {
        "title": title,
        "description": description,
        "color": SEVERITY_COLOUR[message.severity],
        "fields": [
            {
                "name": clip(name, 256),
                "value": clip(value or "–", max(16, min(1024, per_field - min(len(name), 256)))),
                "inline": True,
            }
            for name, value in fields
        ],
        "footer": {"text": footer},
    }
    if message.links:
        embed["url"] = message.links[0][1]
    return {"username": BOT_NAME, "embeds": [embed], "allowed_mentions": {"parse": []}}


def console_text(message: Message) -> str:
    lines = [f"[{message.severity.upper()}] {message.title}", f"  {message.summary}"]
    lines += [f"  {label}: {value}" for label, value in message.fields]
    lines += [f"  {label}: {url}" for label, url in message.links]
    return "\n".join(lines)
