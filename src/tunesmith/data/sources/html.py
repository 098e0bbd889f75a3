"""HTML pages: the main text, without navigation, headers, footers or scripts.

Parsed by BeautifulSoup with lxml (a real parser, so broken markup still yields a tree). The
main content is ``<main>``, else ``role="main"``, else the ``<article>`` elements, else the
body; boilerplate elements (nav, header, footer, aside, forms, scripts, styles) and ARIA
landmarks for navigation are removed first. Headings become ``# heading`` paragraphs, which the
chunker treats as titles, as it does for Markdown.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

from tunesmith.data.sources.base import Document, ReadContext, register_reader

_BOILERPLATE_TAGS = ("script", "style", "noscript", "template", "nav", "header", "footer",
                     "aside", "form", "button", "svg", "iframe", "menu", "dialog", "head")
_BOILERPLATE_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu",
                      "menubar", "dialog"}
# class/id words that name navigation chrome, matched as whole words only
_BOILERPLATE_NAMES = re.compile(
    r"(?:^|[\s_-])(nav|navbar|navigation|menu|sidebar|breadcrumbs?|cookie-?banner|cookies?|"
    r"skip-?link|site-?header|site-?footer|share|social|related-?posts|advert|ads?)(?:$|[\s_-])",
    re.IGNORECASE,
)
_BLOCKS = ("p", "div", "section", "li", "dd", "dt", "pre", "blockquote", "tr", "table",
           "figcaption", "ul", "ol", "dl", "address", "main", "article")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _is_boilerplate(tag: Tag) -> bool:
    if tag.get("role") in _BOILERPLATE_ROLES or tag.get("aria-hidden") == "true":
        return True
    names = " ".join([*tag.get_attribute_list("class"), str(tag.get("id") or "")])
    return bool(names.strip()) and bool(_BOILERPLATE_NAMES.search(names))


def _main_content(soup: BeautifulSoup) -> Tag:
    main = soup.find("main") or soup.find(None, {"role": "main"})
    if isinstance(main, Tag):
        return main
    articles = soup.find_all("article")
    if len(articles) == 1 and isinstance(articles[0], Tag):
        return articles[0]
    if articles:  # several: their closest shared parent holds them all
        parent = articles[0].parent
        if isinstance(parent, Tag):
            return parent
    body = soup.body
    return body if isinstance(body, Tag) else soup


def html_to_text(markup: bytes | str, encoding: str | None = None) -> tuple[str, str]:
    """The page's (title, main text); paragraphs separated by blank lines."""
    soup = BeautifulSoup(markup, "lxml", from_encoding=encoding if isinstance(markup, bytes)
                         else None)
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup.find_all(_BOILERPLATE_TAGS):
        tag.decompose()
    for tag in soup.find_all(True):
        if not tag.decomposed and _is_boilerplate(tag):
            tag.decompose()
    main = _main_content(soup)
    if not title:
        heading = main.find(_HEADINGS)
        title = heading.get_text(" ", strip=True) if heading else ""
    for br in main.find_all("br"):
        br.replace_with("\n")
    for heading in main.find_all(_HEADINGS):
        heading.insert_before("\n\n# ")
        heading.insert_after("\n\n")
    for block in main.find_all(_BLOCKS):
        block.insert_before("\n\n")
        block.insert_after("\n\n")
    paragraphs = []
    for chunk in re.split(r"\n\s*\n", main.get_text()):
        line = " ".join(chunk.split())
        if line and line != "#":
            paragraphs.append(line)
    return title, "\n\n".join(paragraphs)


@register_reader("html", (".html", ".htm", ".xhtml"))
def read_html(ctx: ReadContext) -> list[Document]:
    # bytes go to the parser as they are: it honours <meta charset> and falls back to
    # detection (charset-normalizer) itself
    title, text = html_to_text(ctx.raw, ctx.options.encoding)
    return [Document(ctx.doc_id, text, str(ctx.file), title or ctx.file.stem, ctx.sha256,
                     "html")]
