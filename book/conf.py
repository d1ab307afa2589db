"""Sphinx configuration of the series as a book (``kdtutor book`` builds it).

``kdtutor book`` (:mod:`kdtutor.series.book`) copies this folder, the notebooks, the
instructors' guide and a run's report into one temporary source folder and builds it there. The site
needs no network, neither to build nor to read: the notebooks are never executed (their
stored outputs are shown), math is MathML written at build time, the search shows no page
summaries (fetching them fails on file://), and nothing is loaded from a CDN.
"""

import inspect

project = "kdtutor"
author = "the kdtutor authors"  # the footer's "By ..." line
html_title = "kdtutor: knowledge distillation, step by step"

extensions = [
    "myst_nb",  # the notebooks and the Markdown pages (MyST)
    "sphinx.ext.autodoc",  # the API page, from the docstrings
    "kdtutor.series.book_site",  # html_math_renderer "mathml"; links to what the book leaves out
]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# --- the notebooks: shown as they are, with the outputs of their one run ---
nb_execution_mode = "off"
# MyST-NB lets a notebook override these settings in its metadata (``metadata.mystnb``,
# ``execution_mode: force`` would execute it): it reads a key no notebook holds
# (``kdtutor book`` replaces this one by a random key for each build).
nb_metadata_key = "kdtutor-book-no-overrides"
html_favicon = "_static/favicon.svg"  # no request for /favicon.ico (a 404 over http)
nb_ipywidgets_js = {}  # the default loads require.js and the widgets from two CDNs
nb_merge_streams = True  # one block per cell for stdout, not one per flush
myst_enable_extensions = ["dollarmath"]  # $...$ and $$...$$ in the notebooks' Markdown
myst_heading_anchors = 3  # the instructors' guide links to its own sections

# --- math without JavaScript ---
html_math_renderer = "mathml"

# --- the API page: kdtutor.__all__ and the modules the chapters call, with their docstrings ---
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_inherit_docstrings = False  # DistillModel's Keras hooks: Keras' docs are not ours

# --- the site ---
html_theme = "sphinx_book_theme"
# Light or dark as the reader's system is; without a default the theme's script logs
# "Got invalid theme mode" as a console error on every page.
html_context = {"default_mode": "auto"}
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": True,  # a chapter's .ipynb, served from _sources/NN_name.ipynb
    "use_fullscreen_button": False,
    "navigation_with_keys": False,
    "navbar_persistent": [],  # the sidebar has the search field: no second one in a top bar
}
html_static_path = ["_static"]
html_css_files = ["kdtutor-book.css"]
html_show_search_summary = False  # searchtools would fetch() each page: fails on file://
html_show_sourcelink = False
html_copy_source = True  # the download button serves these copies


def _no_builtin_docstrings(app, what, name, obj, options, lines):
    # DATASET_NAMES is a tuple: its docstring would be tuple's ("Built-in immutable sequence").
    if what == "data" and "\n".join(lines).strip() == inspect.cleandoc(type(obj).__doc__ or ""):
        lines.clear()


def _init_signature(app, what, name, obj, options, signature, return_annotation):
    # keras.Model defines __new__(*args, **kwargs), which autodoc shows for DistillModel.
    if what == "class" and signature == "(*args, **kwargs)":
        init = inspect.signature(obj.__init__)
        signature = str(init.replace(parameters=list(init.parameters.values())[1:]))
    return signature, return_annotation


def setup(app):
    app.connect("autodoc-process-docstring", _no_builtin_docstrings)
    app.connect("autodoc-process-signature", _init_signature)
