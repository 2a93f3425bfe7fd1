#!/usr/bin/env python3
"""Writes the expected body text of each page of the extraction set.

The truth of a page is what a person reading it calls the article: the
manifest (pages.toml) names, per page, the element that holds it (`body`, a
simple CSS selector) and what inside that element is not the article
(`drop`: captions, share bars, related links, the editor's line...). This
script turns that annotation into `<page>.txt`, one paragraph per line,
with Python's own HTML parser: nothing of newscrawl's code makes the truth
it is scored against. Run it after editing a page or the manifest:

    python3 bench/extract/truth.py                        # the set
    python3 bench/extract/truth.py bench/extract/holdout  # the held-out pages

Selectors understood: `tag`, `.class`, `#id`, `tag.class`, `[attr=value]`,
`:nth-of-type(n)` and `:last-of-type`, and descendants of those separated by spaces; a list separated by commas.
"""
import html.parser
import pathlib
import re
import sys
import tomllib

HERE = pathlib.Path(__file__).parent
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
BLOCK = {"address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure",
         "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
         "pre", "section", "table", "td", "th", "tr", "ul", "br"}
SKIP = {"script", "style", "noscript", "template", "head", "title"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []


class Tree(html.parser.HTMLParser):
    """A forgiving tree: an end tag closes up to its open element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        # <p> does not nest: a new block closes an open paragraph.
        if self.cur.tag == "p" and tag in BLOCK and tag != "br":
            self.cur = self.cur.parent
        n = Node(tag, [(k, v or "") for k, v in attrs], self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, [(k, v or "") for k, v in attrs], self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def simple_match(n, part):
    m = re.fullmatch(r"([a-z0-9]*)((?:[.#][\w-]+|\[[\w-]+=[^\]]*\])*)(:nth-of-type\((\d+)\)|:last-of-type)?", part)
    if not m:
        sys.exit(f"selector not understood: {part}")
    tag, rest, pseudo, nth = m.groups()
    if tag and n.tag != tag:
        return False
    if pseudo:
        same = [c for c in n.parent.children if isinstance(c, Node) and c.tag == n.tag]
        want = same[-1] if pseudo == ":last-of-type" else (same[int(nth) - 1] if int(nth) <= len(same) else None)
        if want is not n:
            return False
    for dot, name, key, value in re.findall(r"([.#])([\w-]+)|\[([\w-]+)=([^\]]*)\]", rest):
        if dot == "." and name not in n.attrs.get("class", "").split():
            return False
        if dot == "#" and n.attrs.get("id") != name:
            return False
        if key and n.attrs.get(key) != value.strip("\"'"):
            return False
    return True


def matches(n, selector):
    for alt in selector.split(","):
        parts = alt.split()
        if not parts or not simple_match(n, parts[-1]):
            continue
        i, p = len(parts) - 2, n.parent
        while i >= 0 and p is not None:
            if isinstance(p, Node) and simple_match(p, parts[i]):
                i -= 1
            p = p.parent
        if i < 0:
            return True
    return False


def find(n, selector):
    if isinstance(n, Node):
        if n.tag != "#root" and matches(n, selector):
            return n
        for c in n.children:
            f = find(c, selector)
            if f is not None:
                return f
    return None


def text(n, drop, out):
    if isinstance(n, str):
        out[-1] += n
        return
    if n.tag in SKIP or any(matches(n, d) for d in drop):
        return
    block = n.tag in BLOCK
    if block:
        out.append("")
    for c in n.children:
        text(c, drop, out)
    if block:
        out.append("")


def truth(page, body, drop):
    t = Tree()
    t.feed(page)
    t.close()
    n = find(t.root, body)
    if n is None:
        sys.exit(f"body selector {body!r} matches nothing")
    out = [""]
    text(n, drop, out)
    lines = (re.sub(r"[ \t\r\n\u00a0]+", " ", l).strip() for l in out)
    return "\n".join(l for l in lines if l) + "\n"


def main():
    # A set's directory: this one, or another laid out the same way
    # (`python3 bench/extract/truth.py bench/extract/holdout`).
    root = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    manifest = tomllib.loads((root / "pages.toml").read_text(encoding="utf-8"))
    for p in manifest["page"]:
        src = root / "pages" / p["file"]
        want = truth(src.read_text(encoding="utf-8"), p["body"], p.get("drop", []))
        src.with_suffix(".txt").write_text(want, encoding="utf-8")
    print(f"{len(manifest['page'])} pages")


if __name__ == "__main__":
    main()
