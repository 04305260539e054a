"""The grading service's own short pages: a heading and a few sentences, nothing else (no results).

The over-limit page is one: it says the submission was received and recorded, and when the next
feedback comes. Every sentence is a Message, rendered here in the course's language.
"""
from .feedback import esc, html_page


def render_notice(heading, lines: list, language: str = "en") -> str:
    """`heading` and `lines`: Messages (messages.py)."""
    title = esc(heading.text(language), language=language)
    body = f"<h1>{title}</h1>\n" + "".join(f"<p>{esc(line.text(language), language=language)}</p>\n" for line in lines)
    return html_page(title, body, lang=language)
