"""Real-world-shaped feed documents for the RSS tests (written by hand after real publishers' feeds)."""

RSS2_CONTENT_MEDIA = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel>
  <title>Screen News Daily</title>
  <link>https://screennews.example/</link>
  <description>Film and TV news</description>
  <image><url>https://screennews.example/logo.png</url><title>Screen News</title><link>https://screennews.example/</link></image>
  <item>
    <title>Dune: Part Three gets its first official trailer</title>
    <link>https://screennews.example/2026/03/dune-part-three-trailer?utm_source=rss&amp;utm_medium=feed</link>
    <guid isPermaLink="false">sn-10001</guid>
    <pubDate>Sun, 01 Mar 2026 10:00:00 +0000</pubDate>
    <dc:creator>Jane Critic</dc:creator>
    <description><![CDATA[Denis Villeneuve's finale arrives in December.]]></description>
    <content:encoded><![CDATA[<p>Denis Villeneuve's <strong>finale</strong> arrives in December.</p>
      <p><img src="/images/dune3-inline.jpg" alt="Dune"/></p><p>More inside.</p>]]></content:encoded>
    <media:content url="https://cdn.screennews.example/dune3-hero.jpg" medium="image" width="1920" height="1080"/>
    <media:thumbnail url="https://cdn.screennews.example/dune3-thumb.jpg" width="320" height="180"/>
  </item>
  <item>
    <title>Box office: weekend report</title>
    <link>https://screennews.example/2026/03/box-office</link>
    <guid isPermaLink="false">sn-10000</guid>
    <pubDate>Sun, 01 Mar 2026 08:00:00 +0000</pubDate>
    <description><![CDATA[<p>Numbers are in.</p>]]></description>
    <enclosure url="https://cdn.screennews.example/box.jpg" type="image/jpeg" length="12345"/>
  </item>
</channel>
</rss>"""

ATOM_XML_BASE = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://trailers.example/blog/">
  <title>Trailer Blog</title>
  <link href="/" rel="alternate"/>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2026-03-01T12:00:00Z</updated>
  <entry>
    <title>Teaser: The Batman Part II</title>
    <link href="posts/batman-2-teaser" rel="alternate"/>
    <id>tag:trailers.example,2026:batman-2</id>
    <updated>2026-03-01T11:00:00Z</updated>
    <summary type="html">&lt;p&gt;The teaser is &lt;a href="posts/more"&gt;here&lt;/a&gt;.&lt;/p&gt;</summary>
  </entry>
  <entry xml:base="https://trailers.example/other/">
    <title>Relative base per entry</title>
    <link href="entry-two"/>
    <id>tag:trailers.example,2026:two</id>
    <updated>2026-03-01T10:00:00Z</updated>
    <content type="html">&lt;img src="pic.png"&gt; body</content>
  </entry>
</feed>"""

WIN1252 = ("""<?xml version="1.0" encoding="windows-1252"?>
<rss version="2.0"><channel><title>Caf\u00e9 Cin\u00e9ma \u2013 News</title><link>https://cafe.example/</link>
<description>d</description>
<item><title>Am\u00e9lie returns \u2013 \u201cofficial\u201d news</title><link>https://cafe.example/amelie</link>
<guid>cafe-1</guid><description>Cr\u00e8me br\u00fbl\u00e9e \u2026</description></item>
</channel></rss>""").encode("cp1252")

BOM_UTF8 = b"\xef\xbb\xbf" + """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>BOM Feed \u2605</title><link>https://bom.example/</link><description>d</description>
<item><title>Star \u2605 item</title><link>https://bom.example/1</link><guid>bom-1</guid></item>
</channel></rss>""".encode("utf-8")

DUPLICATE_GUIDS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Sloppy CMS</title><link>https://sloppy.example/</link><description>d</description>
<item><title>First story</title><link>https://sloppy.example/a</link><guid>same-guid</guid></item>
<item><title>Second story</title><link>https://sloppy.example/b</link><guid>same-guid</guid></item>
<item><title>Third story</title><link>https://sloppy.example/c</link><guid>unique-3</guid></item>
</channel></rss>"""

MISSING_GUIDS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>No GUIDs</title><link>https://noguid.example/</link><description>d</description>
<item><title>Link only</title><link>https://noguid.example/1?utm_campaign=x</link></item>
<item><title>Title only, no link</title><description>unique body text</description></item>
<item><title>Another link</title><link>https://noguid.example/2</link></item>
</channel></rss>"""

TRUNCATED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Cut Off</title><link>https://cut.example/</link><description>d</description>
<item><title>Complete item</title><link>https://cut.example/1</link><guid>cut-1</guid></item>
<item><title>Second complete</title><link>https://cut.example/2</link><guid>cut-2</guid></item>
<item><title>Half an it"""

HTML_PAGE = """<!DOCTYPE html><html><head><title>Movie Site</title>
<link rel="alternate" type="application/rss+xml" href="/feed.xml" title="RSS">
<meta property="og:image" content="https://moviesite.example/og.jpg"></head>
<body><h1>Welcome</h1><p>Not a feed.</p></body></html>"""


def rss_items(title: str, items: list[tuple[str, str, str]], *, pub_base: str = "Sun, 01 Mar 2026") -> str:
    """A simple RSS 2.0 document; items are (guid, title, link), newest first."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid isPermaLink=\"false\">{g}</guid>"
        f"<pubDate>{pub_base} {10 - i % 10:02d}:00:00 +0000</pubDate>"
        f"<description><![CDATA[<p>About {t}.</p>]]></description></item>"
        for i, (g, t, link) in enumerate(items))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://example.org/</link><description>d</description>{body}</channel></rss>")
