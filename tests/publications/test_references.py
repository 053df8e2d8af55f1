# ruff: noqa: E501 - pasted reference lists are long lines, as editors paste them
"""Parsing a pasted reference list into references."""

from __future__ import annotations

import datetime as dt

from publications.references import parse_date, parse_reference, parse_reference_list, split_entries

LATIN_LIST = """\
1. Allison R. Russia and the post-2014 international legal order: revisionism and realpolitik. International Affairs. 2017; 93(3): 519-543. https://doi.org/10.1093/ia/iix061
2. Cooley A., Heathershaw J. Dictators Without Borders: Power and Money in Central Asia. New Haven: Yale University Press; 2017. 320 p.
3. World Bank. Global Economic Prospects, June 2021. Washington, DC: World Bank; 2021. URL: https://openknowledge.worldbank.org/handle/10986/35647 (accessed 12.03.2021).
4. Laruelle M. The Chinese Belt and Road Initiative and its impact in Central Asia. Washington: GWU;
   2018. 160 p. doi: 10.2139/ssrn.3119424
5. International Energy Agency. Gas Market Report Q1-2022. Paris: IEA; 2022. Available at: https://www.iea.org/reports/gas-market-report-q1-2022. Accessed: 2022-02-15.
"""

CYRILLIC_LIST = """\
[1] Тренин Д.В. Новый баланс сил: Россия в поисках внешнеполитического равновесия. Москва: Альпина Паблишер; 2021. 432 с.
[2] Лукин А.В. Поворот на Восток и российско-китайские отношения. Международная жизнь. 2019; (5): 38-51. DOI: 10.31278/1810-6374-2019-17-5-38-51
[3] Министерство экономического развития РФ. Прогноз социально-экономического развития. URL: https://www.economy.gov.ru/material/directions/makroec/prognozy_socialno_ekonomicheskogo_razvitiya/ (дата обращения: 05.11.2020).
[4] Kortunov A.V. Russia and the world in 2020. Mezhdunarodnye protsessy. 2020; 18(1): 5-20. (In Russian)
[5] Bordachev T.V. Eurasian integration: achievements and problems. Vestnik MGIMO-Universiteta. 2018; (3): 7-25. https://doi.org/10.24833/2071-8160-2018-3-60-7-25 (In Russ.)
"""


def test_split_entries_numbered_dot():
    """ "1." numbering splits entries and wrapped lines stay in their entry."""
    entries = split_entries(LATIN_LIST)
    assert len(entries) == 5
    assert entries[3].startswith("Laruelle M.") and entries[3].endswith("10.2139/ssrn.3119424")


def test_split_entries_brackets():
    """ "[1]" numbering is stripped."""
    entries = split_entries(CYRILLIC_LIST)
    assert len(entries) == 5
    assert entries[0].startswith("Тренин")


def test_split_entries_parenthesis():
    """ "1)" numbering is stripped."""
    assert split_entries("1) First entry.\n2) Second entry.") == ["First entry.", "Second entry."]


def test_split_entries_unnumbered_lines():
    """Without numbering, each non-empty line is an entry."""
    assert split_entries("First entry.\n\nSecond entry.\n") == ["First entry.", "Second entry."]


def test_parse_latin_list_dois():
    """DOIs written as doi.org URLs or "doi:" are recognised and removed from the text."""
    references = parse_reference_list(LATIN_LIST)
    assert references[0].doi == "10.1093/ia/iix061"
    assert references[3].doi == "10.2139/ssrn.3119424"
    assert "doi" not in references[3].text.lower()
    assert references[0].url == ""


def test_parse_latin_list_url_with_access_date():
    """ "URL: … (accessed 12.03.2021)" fills url and accessed_on."""
    reference = parse_reference_list(LATIN_LIST)[2]
    assert reference.url == "https://openknowledge.worldbank.org/handle/10986/35647"
    assert reference.accessed_on == dt.date(2021, 3, 12)
    assert (
        reference.text
        == "World Bank. Global Economic Prospects, June 2021. Washington, DC: World Bank; 2021."
    )


def test_parse_latin_list_iso_access_date():
    """ "Accessed: 2022-02-15" after "Available at:" is recognised."""
    reference = parse_reference_list(LATIN_LIST)[4]
    assert reference.url == "https://www.iea.org/reports/gas-market-report-q1-2022"
    assert reference.accessed_on == dt.date(2022, 2, 15)
    assert "Available at" not in reference.text


def test_parse_latin_list_language_unset():
    """English entries get no language note."""
    assert {reference.language for reference in parse_reference_list(LATIN_LIST)} == {""}


def test_parse_cyrillic_entry_is_russian():
    """An entry in Cyrillic is Russian."""
    reference = parse_reference_list(CYRILLIC_LIST)[0]
    assert reference.language == "ru"
    assert reference.text.startswith("Тренин Д.В. Новый баланс сил")


def test_parse_cyrillic_doi():
    """ "DOI: …" in a Cyrillic entry is recognised."""
    assert parse_reference_list(CYRILLIC_LIST)[1].doi == "10.31278/1810-6374-2019-17-5-38-51"


def test_parse_russian_access_date():
    """ "(дата обращения: 05.11.2020)" is the access date."""
    reference = parse_reference_list(CYRILLIC_LIST)[2]
    assert reference.accessed_on == dt.date(2020, 11, 5)
    assert reference.url.startswith("https://www.economy.gov.ru/")
    assert "обращения" not in reference.text
    assert "URL" not in reference.text


def test_parse_in_russian_note():
    """ "(In Russian)" marks a transliterated entry as Russian and leaves the text."""
    reference = parse_reference_list(CYRILLIC_LIST)[3]
    assert reference.language == "ru"
    assert "In Russian" not in reference.text


def test_parse_in_russ_note_with_doi_url():
    """ "(In Russ.)" after a doi.org URL: both recognised."""
    reference = parse_reference_list(CYRILLIC_LIST)[4]
    assert reference.language == "ru"
    assert reference.doi == "10.24833/2071-8160-2018-3-60-7-25"
    assert reference.text.endswith("2018; (3): 7-25.")


def test_parse_doi_with_parentheses():
    """A DOI containing parentheses keeps them; a closing bracket around it does not."""
    reference = parse_reference(
        "Old paper (doi:10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-0)."
    )
    assert reference.doi == "10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-0"


def test_parse_written_access_date():
    """ "Accessed 12 March 2021" and "Retrieved March 12, 2021" are read."""
    assert parse_reference("Report. https://example.org/r. Accessed 12 March 2021.").accessed_on == dt.date(
        2021, 3, 12
    )
    assert parse_reference(
        "Report. Retrieved March 12, 2021, from https://example.org/r"
    ).accessed_on == dt.date(2021, 3, 12)


def test_parse_date_invalid():
    """An impossible date is not an access date."""
    assert parse_date("31.02.2021") is None


def test_parse_empty_list():
    """Blank input gives no references."""
    assert parse_reference_list("  \n\n ") == []
