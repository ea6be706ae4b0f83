"""Pure RSS rules: filters, identity/dedupe, caption length, backoff. Table tests + hypothesis properties."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.rss import backoff
from shared.rss.filters import FilterSettings, KeywordFilter, evaluate
from shared.rss.identity import canonical_url, dedupe_key, normalise_title, titles_near_duplicate
from shared.rss.textlength import URL_RE, caption_length, shorten, x_length
from shared.rss.textutil import strip_html

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def kf(text, match="contains", cs=False, active=True):
    return KeywordFilter(text=text, match_type=match, case_sensitive=cs, active=active)


# --- filters -------------------------------------------------------------------------------------
FILTER_TABLE = [
    # scope, required, blocked, title, body, accepted
    ("title", [kf("trailer")], [], "New Dune Trailer", "", True),
    ("title", [kf("trailer")], [], "Dune review", "<p>the trailer</p>", False),
    ("body", [kf("trailer")], [], "Dune review", "<p>the <b>trailer</b></p>", True),
    ("title_or_body", [kf("trailer")], [], "Dune review", "<p>trailer</p>", True),
    ("title_and_body", [kf("trailer")], [], "Dune trailer", "<p>no match</p>", False),
    ("title_and_body", [kf("trailer")], [], "Dune trailer", "<p>the trailer</p>", True),
    ("title", [kf("Trailer", cs=True)], [], "dune trailer", "", False),
    ("title", [kf("Trailer", cs=True)], [], "Dune Trailer", "", True),
    ("title", [kf("dune trailer", match="exact")], [], "Dune Trailer", "", True),
    ("title", [kf("dune", match="exact")], [], "Dune Trailer", "", False),
    ("title", [kf("trailer"), kf("dune")], [], "Alien trailer", "", False),  # all required must match
    ("title", [kf("trailer"), kf("dune", active=False)], [], "Alien trailer", "", True),  # inactive ignored
    ("title", [], [kf("rumor")], "Batman rumor roundup", "", False),
    ("title", [], [kf("rumor", active=False)], "Batman rumor roundup", "", True),
    ("title_or_body", [kf("trailer")], [kf("spoiler")], "Trailer", "<i>spoiler</i> inside", False),
    ("body", [], [kf("script")], "x", "<script>script</script>visible", True),  # script text is not body text
    ("title", [kf("  ")], [], "anything", "", True),  # blank filters are ignored
]


@pytest.mark.parametrize("scope,required,blocked,title,body,accepted", FILTER_TABLE)
def test_filter_table(scope, required, blocked, title, body, accepted):
    s = FilterSettings(scope=scope, required=tuple(required), blocked=tuple(blocked))
    v = evaluate(s, title=title, body_html=body, published_at=NOW, now=NOW)
    assert v.accepted is accepted
    if not accepted:
        assert v.reason


def test_filter_age_and_start_from_now():
    s = FilterSettings(max_item_age_minutes=60)
    assert evaluate(s, title="a", body_html="", published_at=NOW - timedelta(minutes=59), now=NOW).accepted
    v = evaluate(s, title="a", body_html="", published_at=NOW - timedelta(minutes=61), now=NOW)
    assert not v.accepted and "maxItemAgeMinutes" in v.reason
    s2 = FilterSettings.from_json({"startFromNowAt": "2026-03-01T11:00:00Z"})
    assert not evaluate(s2, title="a", body_html="", published_at=NOW - timedelta(hours=2), now=NOW).accepted
    assert evaluate(s2, title="a", body_html="", published_at=NOW, now=NOW).accepted


def test_filter_settings_from_contract_json():
    s = FilterSettings.from_json({"scope": "title", "required": [{"text": "Trailer", "matchType": "exact",
                                                                   "caseSensitive": True, "active": True}],
                                  "blocked": [], "maxItemAgeMinutes": 30})
    assert s.scope == "title" and s.required[0].match_type == "exact" and s.required[0].case_sensitive
    assert FilterSettings.from_json({"scope": "bogus"}).scope == "title_or_body"


words = st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu")), min_size=1, max_size=8)


@given(title=st.lists(words, max_size=6).map(" ".join), needle=words)
def test_blocked_beats_required(title, needle):
    s = FilterSettings(scope="title", required=(kf(needle),), blocked=(kf(needle),))
    assert not evaluate(s, title=title, body_html="", published_at=None, now=NOW).accepted


@given(title=st.lists(words, max_size=6).map(" ".join), needle=words)
def test_contains_case_insensitive_is_casefold_substring(title, needle):
    s = FilterSettings(scope="title", required=(kf(needle),))
    got = evaluate(s, title=title, body_html="", published_at=None, now=NOW).accepted
    assert got == (needle.casefold() in title.casefold())


@given(st.text(max_size=200))
def test_strip_html_never_leaves_tags_from_plain_tags(text):
    out = strip_html(f"<p>{text.replace('<', ' ').replace('>', ' ')}</p>")
    assert "<p>" not in out and "</p>" not in out


# --- identity --------------------------------------------------------------------------------------
@pytest.mark.parametrize("a,b", [
    ("https://www.Example.com/news/story/?utm_source=rss&utm_medium=feed", "http://example.com/news/story"),
    ("https://example.com/a?b=2&a=1#comments", "https://example.com/a?a=1&b=2"),
    ("https://example.com:443/a?fbclid=xyz", "https://example.com/a"),
])
def test_canonical_url_equal(a, b):
    assert canonical_url(a) == canonical_url(b)


def test_canonical_url_keeps_meaningful_query():
    assert canonical_url("https://e.com/watch?v=abc") != canonical_url("https://e.com/watch?v=def")


def test_dedupe_key_order():
    assert dedupe_key(guid="g1", link="https://a/1", title="t", content="c") == \
        dedupe_key(guid="g1", link="https://a/2", title="x", content="y")
    assert dedupe_key(guid=None, link="https://a.com/1?utm_source=x", title="t", content="c") == \
        dedupe_key(guid="", link="https://a.com/1", title="other", content="")
    assert dedupe_key(guid=None, link=None, title="t", content="c") != dedupe_key(guid=None, link=None, title="t",
                                                                                  content="d")


@given(st.text(max_size=50), st.text(max_size=50))
def test_dedupe_key_is_stable_and_prefixed(g, t):
    k = dedupe_key(guid=g, link=None, title=t, content=None)
    assert k == dedupe_key(guid=g, link=None, title=t, content=None)
    assert k[:2] in ("g:", "t:") and len(k) == 66


@pytest.mark.parametrize("a,b,same", [
    ("Dune: Part Three — Official Trailer", "Dune Part Three official trailer!", True),
    ("Dune: Part Three Official Trailer Released Today", "Dune Part Three Official Trailer Released Today!", True),
    ("Trailer", "Trailer 2", False),
    ("Avengers Doomsday first trailer breaks records", "Avengers Secret Wars cast announced officially", False),
    ("Pokémon movie gets a release date", "Pokemon movie gets release date", True),
])
def test_near_duplicate_titles(a, b, same):
    assert titles_near_duplicate(a, b) is same


@given(st.text(max_size=80))
def test_near_duplicate_reflexive_and_symmetric(t):
    if normalise_title(t):
        assert titles_near_duplicate(t, t)
    assert titles_near_duplicate(t, t + " x") == titles_near_duplicate(t + " x", t)


# --- caption length --------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("hello", 5),
    ("https://example.com/" + "a" * 100, 23),
    ("see https://a.co", 4 + 23),
    ("日本語", 6),
    ("😀", 2),
    ("👩‍👩‍👧", 2),
    ("🇺🇸", 2),
    ("café", 4),
    ("cafe\u0301", 4),  # NFC makes it one code point
])
def test_x_weighted_length(text, expected):
    assert x_length(text) == expected


def test_other_platforms_count_code_points():
    assert caption_length("https://example.com/" + "a" * 100, "threads") == 120


def test_shorten_keeps_trailing_link_and_word_boundary():
    link = "https://news.example.com/2026/03/01/a-very-long-article-slug-about-a-trailer?id=12345"
    text = ("The first trailer for the sequel is here and it looks incredible, with returning cast " * 5) + link
    out = shorten(text, "x")
    assert x_length(out) <= 280
    assert out.endswith(link)
    prose = out[: -len(link)].rstrip()
    assert prose.endswith("…")
    assert text.startswith(prose[:-1].rstrip())  # a prefix of the original prose, cut between words
    assert prose[:-1] == prose[:-1].rstrip() and text[len(prose[:-1].rstrip())] in " ,"


def test_shorten_never_cuts_an_oversized_url():
    url = "https://example.com/" + "a" * 80
    assert shorten(url, "threads", 30) == ""
    out = shorten(url + " " + "b" * 50, "threads", 30)
    assert "example.com" not in out and caption_length(out, "threads") <= 30


url_st = st.builds(lambda host, path: f"https://{host}.com/{path}",
                   st.text(alphabet="abcdefghij", min_size=1, max_size=10),
                   st.text(alphabet="abcdefghij0123456789-/", min_size=0, max_size=60))
token_st = st.one_of(st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Lo", "So", "Nd")),
                             min_size=1, max_size=15), url_st)


@settings(max_examples=150)
@given(tokens=st.lists(token_st, min_size=1, max_size=80), platform=st.sampled_from(["x", "threads"]),
       limit=st.integers(min_value=30, max_value=300))
def test_shorten_properties(tokens, platform, limit):
    text = " ".join(tokens)
    out = shorten(text, platform, limit)
    assert caption_length(out, platform) <= limit
    if caption_length(text, platform) <= limit:
        assert out == text
    # every URL in the output is a whole URL from the input: never cut mid-URL
    originals = {m.group(0) for m in URL_RE.finditer(text)}
    for m in URL_RE.finditer(out):
        assert m.group(0) in originals


# --- backoff --------------------------------------------------------------------------------------
def test_backoff_table():
    assert [backoff.retry_delay(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (5, 10, 20, 40)]
    assert backoff.retry_delay(10) == timedelta(hours=24)
    assert backoff.retry_delay(10_000) == timedelta(hours=24)


@given(st.integers(min_value=1, max_value=1000))
def test_backoff_monotonic_and_capped(n):
    assert backoff.retry_delay(n) <= backoff.retry_delay(n + 1) <= timedelta(hours=24)


def test_new_items_oldest_first_or_newest_first():
    from shared.rss.parser import Entry
    from shared.rss.pipeline import order_new_items

    def e(title, minutes, pos):
        return ({"title": title}, Entry(guid=title, link=None, title=title, summary_html="", content_html="",
                                        published_at=NOW - timedelta(minutes=minutes) if minutes is not None
                                        else None, position=pos))
    items = [e("newest", 1, 0), e("middle", 5, 1), e("oldest", 9, 2), e("undated-late-in-doc", None, 3)]
    assert [r["title"] for r, _ in order_new_items(items, "oldest_first")] == \
        ["undated-late-in-doc", "oldest", "middle", "newest"]
    assert [r["title"] for r, _ in order_new_items(items, "newest_first")] == \
        ["newest", "middle", "oldest", "undated-late-in-doc"]
