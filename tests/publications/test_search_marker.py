"""PostgreSQL's snippets are marked in Python: the same stems as the index, the best fragment."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from publications import search
from tests.factories import AuthorFactory, PublicationFactory


def marked(text: str, query: str) -> str | None:
    fragment = search._Marker(search.parse_query(query)).fragment(text)
    return None if fragment is None else str(search.highlight(fragment))


@pytest.mark.postgresql
@pytest.mark.django_db
def test_stems_are_the_index_stems():
    """Every word is stemmed as center_search indexes it: what the engine matched is what gets marked."""
    words = [
        *["sanctions", "sanctioned", "policies", "policy", "running", "international"],
        *["organizations", "organisation", "generously", "economies", "economic", "Café", "Côte"],
        *["naïve", "Zürich", "Économie", "1990s", "covid19"],
        *["санкции", "экономика", "Москва", "the", "and", "of", "between"],
    ]
    sql = "SELECT w, to_tsvector('center_search', w)::text FROM unnest(%s::text[]) AS w"
    with connection.cursor() as cursor:
        cursor.execute(sql, [words])
        indexed = {
            word: (re.findall(r"'([^']*)'", vector) or [None])[0] for word, vector in cursor.fetchall()
        }
    assert {word: search.lexeme(word) for word in words} == indexed


def test_fragment_is_the_stretch_with_most_matches():
    """A long text gives the window where the words cluster, cut with ellipses on both sides."""
    filler = " ".join(f"word{number}" for number in range(60))
    text = f"Sanctions opened it. {filler} The sanctions regime and new sanctions on trade. {filler}"
    fragment = marked(text, "sanction")
    assert fragment.startswith("…") and fragment.endswith("…")
    assert fragment.count("<mark>") == 2
    assert "<mark>sanctions</mark> regime and new <mark>sanctions</mark> on trade." in fragment
    assert len(fragment.split()) <= search._Marker.SNIPPET_WORDS + 1


def test_fragment_keeps_a_short_text_whole():
    """A text shorter than a snippet is shown whole, its final punctuation included."""
    assert marked("Tariffs on steel rose 5%.", "steel") == "Tariffs on <mark>steel</mark> rose 5%."


def test_fragment_of_unmatched_text_is_none():
    """No fragment when no word matches (the caller then tries the PDF, then the opening)."""
    assert marked("Nothing relevant here.", "sanctions") is None


def test_stop_words_and_accents():
    """Accents and case do not matter; stop words are never marked."""
    assert marked("The CAFE of Côte", "café cote the") == "The <mark>CAFE</mark> of <mark>Côte</mark>"


def test_opening_is_cut_after_the_snippet_length():
    long = " ".join(f"w{number}" for number in range(100))
    assert search._opening(long).endswith("w29…")
    assert search._opening("Short text.") == "Short text."


@pytest.mark.django_db
def test_hit_matched_by_author_only_shows_the_opening():
    """A hit whose words are only in its byline gets the opening of its text as the snippet, unmarked."""
    author = AuthorFactory(given_name="Irina", family_name="Volkova")
    publication = PublicationFactory(
        title="Annual review", abstract="A calm opening sentence.", authors=[author]
    )
    hit = search.search("Volkova")[0:1][0]
    assert hit.pk == publication.pk
    assert str(hit.search_snippet).startswith("A calm opening sentence.")
    assert "<mark>" not in str(hit.search_snippet)


@pytest.mark.django_db
def test_figure_codes_are_not_indexed_text():
    """A body's ``[figure N]`` places an image: it is neither searchable nor shown in snippets."""
    PublicationFactory(abstract="", body="<p>Grain exports rose.</p><p>[figure 1]</p><p>Then fell.</p>")
    hit = search.search("grain")[0:1][0]
    assert "figure" not in str(hit.search_snippet)
    assert search.search("figure").total == 0


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_rebuild_leaves_no_dead_rows_behind():
    """rebuild_search_index reclaims the rows it replaced (VACUUM after the commit): searches would
    otherwise scan a table twice its size until autovacuum came by."""
    from django.core.management import call_command

    PublicationFactory.create_batch(3)
    call_command("rebuild_search_index", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = %s",
            [search.SearchDocument._meta.db_table],
        )
        assert cursor.fetchone()[0] >= 1
