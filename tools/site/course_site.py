"""A Sphinx extension for the course site (tools/build_site.py copies it into the book as ``_ext/course_site.py``).

- Drops sphinx-thebe's scripts: Jupyter Book 1.0 adds its inline ``const THEBE_JS_URL`` script twice, a
  SyntaxError on every page, and the site never starts Thebe (its code runs on Colab or in JupyterLab).
- Starts the colour mode at "auto" where the reader chose none (pydata-sphinx-theme 0.17 starts it at "" and
  logs an error on a first visit).
- Adds the course's stylesheet.
"""

from __future__ import annotations


def _page(app, pagename, templatename, context, doctree) -> None:
    def thebe(script) -> bool:
        return "thebe" in f"{getattr(script, 'filename', '')} {getattr(script, 'attributes', {}).get('body', '')}".lower()

    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    if "script_files" in context:
        context["script_files"] = [script for script in context["script_files"] if not thebe(script)]


def setup(app):
    app.connect("html-page-context", _page)
    app.add_css_file("course.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
