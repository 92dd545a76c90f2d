"""How a notebook's cells fit on lecture slides: short prose, short code, and the rest in the speaker notes.

``tools/slide_cells.py`` decides where the notebook's own slides start (sections, figures); this
module, run by ``tools/build_slides.py`` on a copy of each notebook (the notebook itself is not
changed), then lays every slide out for a 1280x720 projector at the decks' type sizes (prose 28 px,
code and printed output 22 px):

- **The title slide** holds the title and the learning goals; the introduction goes into the speaker
  notes, and the "Open in Colab" badge is left out.
- **Prose**: at most ``WORDS`` words a slide. A markdown cell is cut into its blocks (paragraphs,
  lists, equations, headings); the blocks that do not fit go into the speaker notes, in order.
- **Code**: at most ``CODE_LINES`` lines a slide; a longer cell goes on, at a blank line where there
  is one, on the slide below.
- **Printed output**: at most ``OUTPUT_LINES`` lines (as they wrap) and tables of at most ``TABLE_ROWS``
  rows; the slide says how many more the notebook holds. Code a cell shows as output (``show_source``)
  is laid out as code.
- **Widgets**: a saved widget cannot move, so the slide shows the picture it saved (or says "Live
  demo"), and the speaker notes tell the lecturer to run the cell in JupyterLab or Colab.
- **Height**: the pieces of a slide are estimated in pixels (``HEIGHT``, with the constants below,
  measured in Chromium); a piece that would not fit starts a slide below, which repeats the slide's
  heading, marked "continued". A figure that moves down takes along the paragraph that introduces
  it, when that paragraph is the one just before its code.
- **The lecturer's overrides**: a cell tagged ``slide-manual`` is shown whole, as it is, on the slide
  type its metadata names.

The browser test (tests/browser/test_slides_browser.py) measures every slide of every deck.
"""

from __future__ import annotations

import copy
import math
import re

import nbformat

WORDS = 120  # prose words a slide shows
CODE_LINES = 15  # code lines a slide shows
OUTPUT_LINES = 12  # printed lines a slide shows of one output
TABLE_ROWS = 8  # table rows (besides the header) a slide shows of one table
HEIGHT = 600  # pixels of a 720-pixel slide its pieces may fill (the rest: margins, the slide number)

# Sizes in pixels at the decks' type (tools/slides_template): prose 28 px, code and output 22 px, as drawn.
PROSE_CHARS, PROSE_LINE, BLOCK_GAP = 59, 42, 24  # characters a prose line holds, its height, space between blocks
CODE_LINE, CODE_BOX, OUTPUT_CHARS = 31, 36, 76  # a code or printed line; a cell's padding; characters a printed line holds
HEADINGS = {1: 80, 2: 70, 3: 60, 4: 50}  # a heading of level 1 to 4, margins included
TABLE_ROW, TABLE_CHARS, FIGURE, EQUATION = 34, 32, 440, 90  # a table line; its characters; a figure; an equation
TABLE_CHAR_PX, SLIDE_WIDTH = 13, 1180  # a table character's width; the width a table may take

MANUAL_TAG = "slide-manual"
CONTINUED = '<p class="continued">'  # starts the line that heads a slide continuing the one above
LIVE_DEMO = "▶ **Live demo**: run this cell in JupyterLab or Colab, where the controls move."
BADGE = re.compile(r"^\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)\s*$|^!\[[^\]]*\]\(https?://[^)]*\)\s*$", flags=re.M)
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s")
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[A-Z(*`\"'$\[])")


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def _slide_type(cell) -> str:
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")


def _blocks(source: str) -> list[str]:
    """A markdown text cut into blocks at blank lines, never inside a fenced code block, a $$ equation or a
    ``<details>`` block (an exercise's collapsed solution)."""
    blocks, current, fenced, maths, details = [], [], False, False, 0
    for line in source.splitlines():
        if not line.strip() and not fenced and not maths and not details:
            if current:
                blocks.append("\n".join(current))
            current = []
            continue
        current.append(line)
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if line.count("$$") % 2:
            maths = not maths
        details += line.count("<details") - line.count("</details>")
    if current:
        blocks.append("\n".join(current))
    return [part for block in blocks for part in _list_parts(block)]


def _list_parts(block: str) -> list[str]:
    """A list of more than half a slide's words, cut into its items (the lines before the first go with it)."""
    lines = block.splitlines()
    if words(block) <= WORDS // 2 or not any(LIST_ITEM.match(line) for line in lines):
        return [block]
    items: list[list[str]] = [[]]
    for line in lines:  # the lines before the first item stay with it
        if LIST_ITEM.match(line) and any(LIST_ITEM.match(x) for x in items[-1]):
            items.append([])
        items[-1].append(line)
    return ["\n".join(lines) for lines in items]  # the items on one slide are joined again (_Deck.add)


def _collapsed(block: str) -> str:
    """A block as a slide shows it: a ``<details>`` block only by its summary, until it is opened."""
    return re.sub(r"<details>\s*<summary>(.*?)</summary>.*?</details>", r"\1", block, flags=re.S)


def words(block: str) -> int:
    """The words of a markdown block as a reader counts them (markup, maths and links' addresses left out).

    >>> words("**Learning goals**: read [the paper](https://x.org/a b) and $y = x$")
    6
    """
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " ", _collapsed(block), flags=re.S)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<[^>]+>|[#*_`|>\[\]]", " ", text)
    return len([w for w in text.split() if any(ch.isalnum() for ch in w)])


def block_height(block: str) -> int:
    """Estimated pixels of a markdown block at 28 px: its wrapped lines, or its heading, table or equation."""
    block = _collapsed(block)
    first = block.lstrip()
    level = len(first) - len(first.lstrip("#"))
    if 1 <= level <= 4 and first[level:level + 1] == " ":
        return HEADINGS[level] + PROSE_LINE * (len(block) // (PROSE_CHARS + 20))
    if first.startswith("$$"):
        return EQUATION * max(1, block.count("\\\\") + 1)
    if first.startswith("|"):
        return TABLE_ROW * len(block.splitlines())
    if first.startswith("```"):
        return CODE_BOX + CODE_LINE * len(block.splitlines())
    lines, logical = 0, []
    for line in block.splitlines():  # a list item starts a line; a paragraph's lines are joined
        if LIST_ITEM.match(line) or not logical:
            logical.append(line.strip())
        else:
            logical[-1] += " " + line.strip()
    for line in logical:
        shown = re.sub(r"\]\([^)]*\)|[*`]", "", line)
        lines += max(1, math.ceil(len(shown) / PROSE_CHARS))
    return BLOCK_GAP + PROSE_LINE * lines


def _cut_sentences(block: str, budget: int) -> tuple[str, str]:
    """The first sentences of ``block`` within ``budget`` words (at least one), and the rest."""
    sentences = SENTENCE_END.split(block)
    kept = []
    for sentence in sentences:
        if kept and words(" ".join(kept + [sentence])) > budget:
            break
        kept.append(sentence)
    return " ".join(kept), " ".join(sentences[len(kept):])


def _code_chunks(source: str) -> list[str]:
    """Code cut into as few pieces of at most CODE_LINES lines as it needs, of about equal length, each cut at a
    blank line where one is near."""
    lines = source.rstrip().splitlines()
    pieces = max(1, math.ceil(len(lines) / CODE_LINES))
    chunks = []
    while pieces > 1:
        target = math.ceil(len(lines) / pieces)
        near = range(max(1, target - 4), min(target + 3, CODE_LINES, len(lines) - 1) + 1)
        blank = [i for i in near if not lines[i].strip()]
        cut = min(blank, key=lambda i: abs(i - target)) if blank else target
        chunks.append("\n".join(lines[:cut]).rstrip())
        lines = lines[cut:]
        while lines and not lines[0].strip():
            lines = lines[1:]
        pieces = max(1, math.ceil(len(lines) / CODE_LINES))
    chunks.append("\n".join(lines))
    return [chunk for chunk in chunks if chunk.strip()]


def _table_rows(html: str) -> list[str]:
    return re.findall(r"<tr\b.*?</tr>", html, flags=re.S)


def _row_height(row: str) -> int:
    """Estimated pixels of a table row: its tallest cell, each of whose ``<br>``-separated lines wraps at
    TABLE_CHARS characters (a narrow column's width)."""
    cells = re.findall(r"<t[dh]\b.*?</t[dh]>", row, flags=re.S) or [row]
    return TABLE_ROW * max(sum(max(1, math.ceil(len(re.sub(r"<[^>]+>", "", part).strip()) / TABLE_CHARS))
                               for part in re.split(r"<br\s*/?>", cell)) for cell in cells)


def _plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).strip()


def _narrow_table(html: str) -> tuple[str, int]:
    """A table cut to the columns that fit a slide's width, and how many columns were left out.

    A column needs its longest cell, or its header's longest word (headers wrap), at TABLE_CHAR_PX a character.
    """
    rows = _table_rows(html)
    cells = [re.findall(r"<t[dh]\b.*?</t[dh]>", row, flags=re.S) for row in rows]
    if not rows or "colspan" in html or len({len(c) for c in cells}) != 1:
        return html, 0
    widths = [max(max(len(w) for w in _plain(c).split() or [""]) if "<th" in c and "<td" not in row else len(_plain(c))
                  for c, row in zip(column, rows)) for column in zip(*cells)]
    kept, used = 0, 0
    for width in widths:
        used += width * TABLE_CHAR_PX + 24
        if kept and used > SLIDE_WIDTH:
            break
        kept += 1
    for row_cells in cells:
        for cell in row_cells[kept:]:
            html = html.replace(cell, "", 1)
    return html, len(widths) - kept


def _short_table(output: dict, data: dict, html: str, room: int) -> tuple[dict, int, str]:
    """A table cut to the columns that fit a slide's width and to the rows that fit in ``room`` pixels (at most
    TABLE_ROWS; at least one)."""
    html, columns_left = _narrow_table(html)
    if columns_left:
        data["text/html"] = html
        data.pop("text/plain", None)
    rows = _table_rows(html)
    body = [row for row in rows if "<td" in row]
    height = CODE_BOX + sum(_row_height(row) for row in rows if row not in body)
    kept = 0
    for row in body:
        if kept and (kept == TABLE_ROWS or height + _row_height(row) > room):
            break
        height, kept = height + _row_height(row), kept + 1
    columns = f"The table has {columns_left} more columns in the notebook. " if columns_left else ""
    if kept == len(body):
        return output, height, columns.strip()
    for row in body[kept:]:
        html = html.replace(row, "", 1)
    data["text/html"] = html
    data.pop("text/plain", None)
    return output, height + TABLE_ROW, f"{columns}The table goes on for {len(body) - kept} more rows in the notebook."


def _short_output(output: dict, room: int = HEIGHT) -> tuple[dict, int, str]:
    """An output cut to what a slide shows (a table to what fits in ``room`` pixels), its estimated height, and a
    note on what was left out ("" if nothing)."""
    output = copy.deepcopy(output)
    data = output.get("data", {})
    if "application/vnd.jupyter.widget-view+json" in data:  # a saved widget cannot move: the lecturer runs it live
        live = "Switch to JupyterLab or Colab for this demonstration: the widget responds only in a running notebook."
        pictures = {mime: value for mime, value in data.items() if mime.startswith("image/")}
        if pictures:  # the picture the widget saved, as a figure
            return nbformat.v4.new_output("display_data", data=pictures), FIGURE, live
        return nbformat.v4.new_output("display_data", data={"text/markdown": LIVE_DEMO}), PROSE_LINE * 2, live
    if any(mime.startswith("image/") for mime in data):
        return output, FIGURE, ""
    html = _text(data.get("text/html", ""))
    if "<table" in html:
        return _short_table(output, data, html, room)
    key = "text" if "text" in output else "text/plain"
    holder = output if key == "text" else data
    lines = _text(holder.get(key, "")).rstrip("\n").splitlines()
    wrapped = [max(1, math.ceil(len(line) / OUTPUT_CHARS)) for line in lines]  # printed lines wrap on a slide
    if sum(wrapped) > OUTPUT_LINES:
        kept = max(1, next(i for i in range(len(lines) + 1) if sum(wrapped[: i + 1]) > OUTPUT_LINES))
        left = len(lines) - kept
        holder[key] = "\n".join(lines[:kept] + [f"... {left} more lines in the notebook"]) + "\n"
        height = CODE_BOX + CODE_LINE * (sum(wrapped[:kept]) + 1)
        return output, height, f"The output goes on for {left} more lines in the notebook."
    return output, CODE_BOX + CODE_LINE * sum(wrapped) if lines else 0, ""


class _Deck:
    """The laid-out cells, and how full the slide being filled is."""

    def __init__(self) -> None:
        self.cells: list = []
        self.height = self.words = self.code = 0
        self.heading = ""  # the heading of the slide being filled, repeated on its continuations
        self.start = 0  # index in self.cells where the slide being filled starts
        self.pending = "slide"  # the slide type of the next cell added

    def new_slide(self, kind: str) -> None:
        self.height = self.words = self.code = 0
        self.start = len(self.cells)
        self.pending = kind

    def add(self, cell, height: int, words: int = 0, code: int = 0) -> None:
        last = self.cells[-1] if len(self.cells) > self.start else None
        if (self.pending == "-" and last is not None and cell.cell_type == last.cell_type == "markdown"
                and LIST_ITEM.match(cell.source) and any(LIST_ITEM.match(line) for line in last.source.splitlines())):
            last.source += "\n" + cell.source  # the next item of the list on this slide
        else:
            cell.metadata.setdefault("slideshow", {})["slide_type"] = self.pending
            self.pending = "-"
            self.cells.append(cell)
        self.height += height
        self.words += words
        self.code += code

    def fits(self, height: int, words: int = 0, code: int = 0) -> bool:
        return self.height + height <= HEIGHT and self.words + words <= WORDS and self.code + code <= CODE_LINES

    def continued(self) -> None:
        """Start a slide below; it repeats the heading of the slide it continues."""
        self.new_slide("subslide")
        if self.heading:
            title = re.sub(r"^#+\s*", "", self.heading.splitlines()[0]).rstrip(":")
            self.add(nbformat.v4.new_markdown_cell(f'{CONTINUED}{title}, continued</p>'), PROSE_LINE)

    def note(self, text: str) -> None:
        if text.strip():
            cell = nbformat.v4.new_markdown_cell(text)
            cell.metadata["slideshow"] = {"slide_type": "notes"}
            self.cells.append(cell)

    def place(self, cell, height: int, words: int = 0, code: int = 0) -> None:
        """``cell`` on this slide, or on a continuation below when it does not fit."""
        if not self.fits(height, words, code) and len(self.cells) > self.start:
            self.continued()
        self.add(cell, height, words, code)


def _title(deck: _Deck, cell) -> None:
    """The title slide: the title and the learning goals (the block that names them and the list that follows);
    the rest of the cell is spoken."""
    source = re.sub(r"^(#\s.*)$", r"\n\1\n", BADGE.sub("", _text(cell.source)), flags=re.M)  # the title, a block
    blocks = _blocks(source)
    goals = next((i for i, b in enumerate(blocks) if "goal" in b.splitlines()[0].lower()), len(blocks))
    shown = {goals}
    while goals + len(shown) < len(blocks) and LIST_ITEM.match(blocks[goals + len(shown)]):
        shown.add(goals + len(shown))
    deck.new_slide("slide")
    for i, block in enumerate(blocks):
        if block.lstrip().startswith("# "):
            deck.heading = block
            deck.add(nbformat.v4.new_markdown_cell(block), block_height(block))
        elif i in shown:
            deck.place(nbformat.v4.new_markdown_cell(block), block_height(block), words(block))
        else:
            deck.note(block)


def _markdown(deck: _Deck, cell, kind: str) -> None:
    """A markdown cell's blocks, on this slide while they fit; a cell that starts a slide starts it at its first
    heading (the paragraphs above a heading end the slide before it)."""
    blocks = _blocks(_text(cell.source))
    starts = kind in ("slide", "subslide")
    first = next((i for i, b in enumerate(blocks) if b.lstrip().startswith("#")), 0) if starts else 0
    for i, block in enumerate(blocks):
        heading = block.lstrip().startswith("#")
        if i == first and starts:
            deck.new_slide(kind)
            if heading or kind == "slide":  # a slide below a section keeps the section's heading
                deck.heading = block.splitlines()[0]
        height, count = block_height(block), words(block)
        if heading or deck.fits(height, count):
            deck.place(nbformat.v4.new_markdown_cell(block), height, count)
        elif len(deck.cells) == deck.start or i == first:
            if len(deck.cells) > deck.start:
                deck.continued()
            shown, rest = _cut_sentences(block, max(WORDS - deck.words, 1))
            deck.add(nbformat.v4.new_markdown_cell(shown), block_height(shown), words(shown))
            deck.note(rest)
        else:
            deck.note(block)


def _lead_in(deck: _Deck, before) -> object | None:
    """The last paragraph of ``before`` (the markdown cell above a figure's code), taken off the slide it was laid
    out on, when it is short enough to share a slide with the figure and does not start its slide."""
    if before is None or before.cell_type != "markdown":
        return None
    last_block = _blocks(_text(before.source))[-1]
    index = next((i for i in range(len(deck.cells) - 1, -1, -1) if deck.cells[i].cell_type == "markdown"
                  and _slide_type(deck.cells[i]) != "notes" and not deck.cells[i].source.startswith(CONTINUED)), None)
    if index is None or deck.cells[index].source != last_block or _slide_type(deck.cells[index]) != "-" \
            or block_height(last_block) + FIGURE > HEIGHT:
        return None
    lead_in = deck.cells.pop(index)
    if index >= deck.start:
        deck.height -= block_height(lead_in.source)
        deck.words -= words(lead_in.source)
    else:
        deck.start -= 1
    return lead_in


def _code(deck: _Deck, cell, kind: str, before) -> None:
    chunks = _code_chunks(_text(cell.source)) or [""]
    if kind in ("slide", "subslide"):
        deck.new_slide(kind)
    for chunk in chunks:
        piece = nbformat.v4.new_code_cell(chunk)
        deck.place(piece, CODE_BOX + CODE_LINE * len(chunk.splitlines()), code=len(chunk.splitlines()))
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if 'class="highlight"' in _text(data.get("text/html", "")) and "text/plain" in data:  # code shown as output
            for chunk in _code_chunks(_text(data["text/plain"])):
                lines = len(chunk.splitlines())
                deck.place(nbformat.v4.new_code_cell(chunk), CODE_BOX + CODE_LINE * lines, code=lines)
            continue
        room = HEIGHT - deck.height if deck.height + 4 * TABLE_ROW < HEIGHT else HEIGHT
        shown, height, left = _short_output(output, room)
        if not height:
            continue
        piece = nbformat.v4.new_code_cell("", outputs=[shown])
        piece.metadata["transient"] = {"remove_source": True}
        if not deck.fits(height):
            lead_in = _lead_in(deck, before) if height == FIGURE else None
            deck.continued()
            if lead_in is not None:
                deck.add(lead_in, block_height(lead_in.source), words(lead_in.source))
        deck.add(piece, height)
        deck.note(left)


def lay_out(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose cells are laid out for lecture slides (see the module's docstring)."""
    deck, cells = _Deck(), nb.cells
    for i, cell in enumerate(cells):
        kind = _slide_type(cell)
        if kind == "skip":
            continue
        if MANUAL_TAG in cell.get("metadata", {}).get("tags", []) or kind == "notes":  # shown whole, as it is
            if kind in ("slide", "subslide"):
                deck.new_slide(kind)
            deck.cells.append(copy.deepcopy(cell))
            deck.pending = "-"
            continue
        if i == 0 and cell.cell_type == "markdown":
            _title(deck, cell)
        elif cell.cell_type == "markdown":
            _markdown(deck, cell, kind)
        elif cell.cell_type == "code":
            _code(deck, cell, kind, cells[i - 1] if i else None)
    out = copy.deepcopy(nb)
    out.cells = deck.cells
    return out


def outline(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """Each slide of a laid-out notebook: its number as the deck shows it ("3" for the third slide, "3.2" for the
    second slide below it) and its first line of text, for lesson plans (TEACHING.md) to cite.

    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T\\n\\nintro"),
    ...                                      nbformat.v4.new_markdown_cell("## Part")])
    >>> nb.cells[1].metadata["slideshow"] = {"slide_type": "slide"}
    >>> outline(lay_out(nb))
    [('1', 'T'), ('2', 'Part')]
    """
    slides, h, v = [], 0, 0
    for cell in nb.cells:
        kind = _slide_type(cell)
        if kind == "slide" or not slides:
            h, v = h + 1, 1
        elif kind == "subslide":
            v += 1
        else:
            continue
        text = re.sub(r"<[^>]+>|^#+\s*|[*`]", "", cell.source.strip().splitlines()[0] if cell.source.strip() else "")
        slides.append((f"{h}" if v == 1 else f"{h}.{v}", text.strip() or "(an output)"))
    return slides
