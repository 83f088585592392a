"""`priorauth serve --demo` prints where the web pages are, next to the tokens."""

from __future__ import annotations

from priorauth.commands.serve import demo_instructions

TOKENS = {"submitter": "pa_s", "reviewer": "pa_r", "admin": "pa_a"}


def test_demo_instructions_name_the_web_pages(monkeypatch):
    monkeypatch.delenv("PRIORAUTH_DISABLED_DOORS", raising=False)
    text = demo_instructions("http://127.0.0.1:8000", TOKENS, "sqlite:///x.db")
    lines = text.splitlines()
    web = lines.index("web pages: http://127.0.0.1:8000/web/  (sign in with a token below)")
    assert lines[web + 1] == "demo tokens (new at each start):" and "  REVIEWER=pa_r" in lines


def test_no_web_address_when_the_web_door_is_disabled(monkeypatch):
    monkeypatch.setenv("PRIORAUTH_DISABLED_DOORS", "web")
    assert "/web/" not in demo_instructions("http://127.0.0.1:8000", TOKENS, "sqlite:///x.db")
