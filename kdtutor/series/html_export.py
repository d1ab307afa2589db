"""The offline HTML exporter: a readable copy of an executed notebook, with MathML, no script.

:func:`write_html` writes ``<stem>.html`` next to an executed notebook. The page looks like
JupyterLab (nbconvert's ``lab`` template) and stands alone: CSS inline, images embedded, math
as MathML, no script, so it reads the same offline and attached to a CI run.
"""

from __future__ import annotations

import html
from pathlib import Path

from kdtutor.series.notebooks import NOTEBOOKS_DIR

__all__ = ["write_html"]

# nbconvert's JupyterLab look without the blocks that load scripts from a CDN (require.js,
# MathJax, Mermaid, widgets): a CI artifact is often opened offline, where each would fail.
# The page keeps its CSS inline and its output images as data: URLs, so it stands alone.
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style>math { font-size: 1.15em; } math[display="block"] { margin: 0.8em 0; }</style>
{%- endblock extra_css -%}
"""


def _mathml(tex: str, display: str) -> str:
    """TeX math as MathML, which browsers render without a script (MathJax would need one),
    or, when latex2mathml cannot read it, the TeX source itself, escaped and still legible."""
    from latex2mathml.converter import convert

    try:
        return convert(tex.strip(), display=display)
    except Exception:  # latex2mathml raises its own errors for TeX it does not know
        delimiter = "$$" if display == "block" else "$"
        return f"<code>{html.escape(delimiter + tex + delimiter)}</code>"


def _offline_exporter(image_dir: Path):
    """An nbconvert ``HTMLExporter`` whose pages need no network (see :func:`write_html`)."""
    import jinja2
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class MathMLRenderer(IPythonRenderer):
        def block_math(self, body):
            return _mathml(body, "block")

        def inline_math(self, body):
            return _mathml(body, "inline")

        def latex_environment(self, name, body):
            return _mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")

    class OfflineHTMLExporter(HTMLExporter):
        # HTMLExporter.markdown2html with the MathML renderer and images always embedded.
        @jinja2.pass_context
        def markdown2html(self, context, source):
            cell = context.get("cell", {})
            renderer = MathMLRenderer(
                escape=False,
                attachments=cell.get("attachments", {}),
                embed_images=True,
                path=str(image_dir),
                anchor_link_text=self.anchor_link_text,
                exclude_anchor_links=self.exclude_anchor_links,
                **self.lexer_options,
            )
            return MarkdownWithMath(renderer=renderer).render(source)

    return OfflineHTMLExporter(
        template_name="lab",
        template_file="kdtutor_offline.html.j2",
        extra_loaders=[jinja2.DictLoader({"kdtutor_offline.html.j2": _OFFLINE_TEMPLATE})],
        embed_images=True,
    )


def write_html(executed, *, notebooks_dir=NOTEBOOKS_DIR) -> Path:
    """Write a readable copy of the executed notebook ``executed`` next to it, as ``.html``.

    The page looks like JupyterLab (nbconvert's ``lab`` template) and stands alone: CSS
    inline, images embedded, no script, so it reads the same offline and attached to a CI
    run. LaTeX math in Markdown cells becomes MathML, which browsers render natively.
    ``notebooks_dir`` is where the notebook's Markdown image links are resolved (the
    series' folder, not the run's). Returns the path of the page.
    """
    import nbformat

    executed = Path(executed)
    nb = nbformat.read(executed, as_version=4)
    resources = {"metadata": {"name": executed.stem, "path": str(notebooks_dir)}}
    page, _ = _offline_exporter(Path(notebooks_dir)).from_notebook_node(nb, resources)
    target = executed.with_suffix(".html")
    target.write_text(page, encoding="utf-8")
    return target
