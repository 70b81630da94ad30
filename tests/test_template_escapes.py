"""Issue 11: templates see plain data only. A book's own template tries the known ways out of Jinja's sandbox;
none of them reads or writes a file, and a template that never ends stops with a clear error."""
from __future__ import annotations

import time

import pytest
from markupsafe import Markup

from goodbook import build_cli, copy_book, old_outputs, state

SECRET = "the-secret-word-4711"

# Each template tries to read `secret.txt` (beside the book) or to write `pwned.txt` there.
ESCAPES = {
    "Path operator and read_text": "{{ (book.root / '../secret.txt').read_text() }}",
    "chapter source read_text": "{{ chapters[0].source.read_text() }}",
    "Path write_text": "{{ book.root.joinpath('../pwned.txt').write_text('x') }}",
    "Path open": "{{ book.root.parent.joinpath('pwned.txt').open('w') }}",
    "image path": "{{ book.images[0].path.read_bytes() }}",
    "cover path": "{{ meta.cover.read_bytes() }}",
    "__class__ __mro__ __subclasses__": "{{ meta.__class__.__mro__[1].__subclasses__() }}",
    "string __class__": "{{ meta.title.__class__.__mro__[-1].__subclasses__() }}",
    "cycler __globals__": "{{ cycler.__init__.__globals__.os.popen('touch ../pwned.txt').read() }}",
    "joiner __globals__": "{{ joiner.__init__.__globals__.os.popen('touch ../pwned.txt').read() }}",
    "namespace __globals__": "{{ namespace.__init__.__globals__.os.popen('touch ../pwned.txt').read() }}",
    "lipsum __globals__": "{{ lipsum.__globals__.os.popen('touch ../pwned.txt').read() }}",
    "self template reference context": "{{ self._TemplateReference__context.book.root.read_text() }}",
    "format string __class__": "{{ '{0.__class__.__init__.__globals__}'.format(meta) }}",
    "format string via Markup": "{{ meta.title.format.__globals__ }}",
    "format_map attribute": "{{ '{0.root}'.format(book) }}",
    "percent format": "{{ '%s' % book.root }}",
    "attr filter": "{{ (meta | attr('__class__')).__init__.__globals__ }}",
    "attr filter on a method": "{{ (book.root | attr('read_text'))() }}",
    "map attribute": "{{ chapters | map(attribute='source') | map(attribute='read_text') | list }}",
    "selectattr": "{{ chapters | selectattr('source') | map(attribute='source.parent') | list }}",
    "dict get method": "{{ book.get('root').read_text() }}",
    "items of book": "{% for k, v in book.items() %}{{ v.read_text() if v.read_text is defined }}{% endfor %}",
    "mutating the data": "{% set _ = chapters.append(1) %}{{ chapters.pop() }}",
    "config and request": "{{ config.__class__.__init__.__globals__ }}",
    "range globals": "{{ range.__self__.__import__('os').system('touch ../pwned.txt') }}",
    "dict globals": "{{ dict.__base__.__subclasses__() }}",
}


def _book_with_template(tmp_path, text):
    book = copy_book(tmp_path)
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    partials = book / "templates" / "partials"
    partials.mkdir(parents=True)
    (partials / "titlepage.html.j2").write_text(text, encoding="utf-8")
    return book


def _render_titlepage(book):
    from bookgen.errors import BookError
    from bookgen.load_book import load_book
    from bookgen.render import context, environment, render
    loaded = load_book(book)
    try:
        return render(environment(loaded.root), "partials/titlepage.html.j2", **context(loaded, "print"))
    except BookError as e:
        return e


@pytest.mark.parametrize("name", list(ESCAPES))
def test_template_escape_reaches_no_file(tmp_path, name):
    book = _book_with_template(tmp_path, ESCAPES[name])
    before = sorted(p.name for p in tmp_path.iterdir())
    out = _render_titlepage(book)
    assert SECRET not in str(out)
    assert not (tmp_path / "pwned.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert "<bound method" not in str(out) and "PosixPath" not in str(out) and "<function" not in str(out)


def test_escape_in_a_real_build_fails_cleanly_and_writes_nothing(tmp_path):
    _book_with_template(tmp_path, ESCAPES["Path operator and read_text"])
    before = old_outputs(tmp_path / "dist")
    r = build_cli(tmp_path)
    assert r.returncode == 1
    assert SECRET not in r.stdout + r.stderr
    assert "titlepage.html.j2" in r.stderr and "Traceback" not in r.stderr
    assert state(tmp_path / "dist") == before


def _walk(value, seen_types):
    seen_types.add(type(value))
    if isinstance(value, dict):
        for k, v in value.items():
            assert type(k) is str
            _walk(v, seen_types)
    elif isinstance(value, list):
        for v in value:
            _walk(v, seen_types)


def test_context_holds_only_plain_data(tmp_path):
    from bookgen.load_book import load_book
    from bookgen.render import context
    from bookgen.template_data import Data, Items
    book = load_book(copy_book(tmp_path))
    for edition in ("print", "epub"):
        types = set()
        _walk(context(book, edition), types)
        assert types <= {dict, Data, Items, str, Markup, int, float, bool, type(None)}, types


def test_plain_refuses_unknown_objects():
    from bookgen.template_data import plain
    with pytest.raises(TypeError):
        plain(object())
    with pytest.raises(TypeError):
        plain(open)


def test_normal_template_still_prints_the_book(tmp_path):
    # A book's own title page that uses the data as documented: title, authors, chapters' titles and files.
    book = _book_with_template(tmp_path, "<h1>{{ meta.title }}</h1><p>{{ meta.author_names }}</p>"
                                         "{% for c in chapters %}<i>{{ c.title }} {{ c.file_name }} "
                                         "{{ c.source }}</i>{% endfor %}")
    out = _render_titlepage(book)
    assert isinstance(out, str), out
    assert out.startswith("<h1>A Small Good Book</h1>")
    assert "chapters/one.md" in out and "one.xhtml" in out
    assert str(tmp_path) not in out  # no absolute path of the machine


NEVER_ENDING = {
    "nested huge ranges": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "recursive macro": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "huge string": "{{ 'x' * 10000000000 }}",
    "huge power": "{{ 10 ** 100000000 }}",
}


@pytest.mark.parametrize("name", list(NEVER_ENDING))
def test_template_that_never_ends_stops_with_a_clear_error(tmp_path, monkeypatch, name):
    from bookgen.errors import BookError
    monkeypatch.setenv("BOOKGEN_TEMPLATE_SECONDS", "2")
    book = _book_with_template(tmp_path, NEVER_ENDING[name])
    t = time.monotonic()
    out = _render_titlepage(book)
    assert time.monotonic() - t < 20
    assert isinstance(out, BookError), out
    text = str(out)
    assert "titlepage.html.j2" in text
    assert "template" in text and "hint" in text
    if name == "nested huge ranges":
        assert "did not finish within 2 seconds" in text and "BOOKGEN_TEMPLATE_SECONDS" in text
