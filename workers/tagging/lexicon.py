"""General English vocabulary the entity rules lean on: word classes, never the names of one article.

Every list here is about how English news text names things (heads of organisation names, geographic nouns,
timezone abbreviations, common country/organisation abbreviations), so it helps every article alike.
"""

from __future__ import annotations

from collections.abc import Mapping


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Timezone abbreviations: never an ORG ("13:07 GMT").
TIMEZONES = _words(
    "GMT UTC UT BST IST CET CEST EET EEST WET ET EST EDT CT CST CDT MT MST MDT PT PST PDT AKST AKDT HST "
    "JST KST HKT SGT AEST AEDT ACST ACDT AWST NZST NZDT MSK WIB PHT ICT"
)

#: Head nouns of multi-word proper-noun phrases, with the label the whole phrase takes.
PHRASE_HEADS: Mapping[str, str] = {
    **dict.fromkeys(["Initiative", "Program", "Programme", "Partnership"], "ORG"),
    **dict.fromkeys(
        ["Agreement", "Treaty", "Act", "Accord", "Accords", "Pact", "Convention", "Protocol", "Charter"], "LAW"
    ),
}

#: Common nouns that, right after a name, make it a place ("the Indo-Pacific region", "the Pembrokeshire coast").
GEO_NOUNS = _words(
    "region regions area areas basin peninsula coast coastline sea seas ocean valley strait straits gulf delta "
    "plateau desert highlands lowlands archipelago subcontinent"
)

#: Common nouns that, right after a name, make it the place a public body belongs to ("Bristol council").
GOVERNMENT_NOUNS = _words("council government authorities parliament legislature municipality mayor")

#: Last words of organisation names ("Marlin Robotics", "Old Dominion University", "Met Office").
ORG_HEADS = _words(
    "Robotics Semiconductor Semiconductors Technologies Technology Systems Industries Holdings Group Motors "
    "Airlines Airways Pharmaceuticals Pharma Energy Labs Laboratories Software Networks Capital Partners Bank "
    "Insurance Foods Electronics Communications Media Entertainment Therapeutics Biosciences Aerospace Composites "
    "Logistics Dynamics Petroleum Mining Steel Chemicals Solutions Ventures Enterprises Brands Resources Markets "
    "Securities Investments Railway Railways University College Institute Agency Ministry Department Office "
    "Council Committee Commission Association Federation Foundation Union Party Authority Court Police Service "
    "Services Corporation Company Inc Inc. Corp Corp. Ltd Ltd. PLC plc LLC AG SA GmbH"
)

#: Organisation heads that make the name a company, so a bare first word refers to it ("Nordvik" ->
#: "Nordvik Semiconductor Inc."). Public bodies are left out: "Bristol" is not "Bristol City Council".
COMPANY_HEADS = _words(
    "Robotics Semiconductor Semiconductors Technologies Technology Systems Industries Holdings Group Motors "
    "Airlines Airways Pharmaceuticals Pharma Energy Labs Laboratories Software Networks Capital Partners "
    "Insurance Foods Electronics Communications Media Entertainment Therapeutics Biosciences Aerospace Composites "
    "Logistics Dynamics Petroleum Mining Steel Chemicals Solutions Ventures Enterprises Brands Resources "
    "Securities Investments Corporation Company"
)

#: Legal-form suffixes ignored when deciding whether two organisation names are one ("BAE Systems PLC").
CORPORATE_SUFFIXES = _words(
    "plc inc incorporated ltd limited corp corporation co llc llp ag sa nv bv gmbh spa se ab asa oyj kk"
)

#: Public bodies named after their place: "<place> [City] Council" says <place> is a GPE.
PUBLIC_BODY_SUFFIXES = (
    "City Council",
    "County Council",
    "Borough Council",
    "District Council",
    "Town Council",
    "Regional Council",
    "Council",
    "City Hall",
    "Police",
    "Fire Service",
    "Government",
    "Assembly",
)

#: Words that open a name span but are not part of the name.
DETERMINERS = _words("the a an this that these those its their his her our my your")

#: Lower-case particles that belong to names ("Charles de Gaulle", "Vincent van Gogh").
NAME_PARTICLES = _words("de da di del della der den van von du la le bin ibn al el ter ten dos das")

#: Calendar words: a capitalised "May" or "March" is not propagated as a surname.
CALENDAR_WORDS = _words(
    "January February March April May June July August September October November December Monday Tuesday "
    "Wednesday Thursday Friday Saturday Sunday"
)

#: Words that stay lower case in a Title Case headline.
HEADLINE_SMALL_WORDS = _words("a an the and or but nor of in on at to for by with as from into via vs v per")

#: Common abbreviations of countries and international bodies -> (canonical name, label). Matched on the
#: upper-case form with dots removed ("U.S." -> "US"), so the pronoun "us" is never read as a country.
ACRONYM_ALIASES: Mapping[str, tuple[str, str]] = {
    "US": ("United States", "GPE"),
    "USA": ("United States", "GPE"),
    "UK": ("United Kingdom", "GPE"),
    "GB": ("United Kingdom", "GPE"),
    "EU": ("European Union", "ORG"),
    "UN": ("United Nations", "ORG"),
    "NATO": ("NATO", "ORG"),
    "UAE": ("United Arab Emirates", "GPE"),
    "PRC": ("China", "GPE"),
    "DPRK": ("North Korea", "GPE"),
    "ROK": ("South Korea", "GPE"),
    "USSR": ("Soviet Union", "GPE"),
    "DRC": ("Democratic Republic of the Congo", "GPE"),
}

#: Long forms -> (canonical name, label); matched case-insensitively.
NAME_ALIASES: Mapping[str, tuple[str, str]] = {
    "united states": ("United States", "GPE"),
    "united states of america": ("United States", "GPE"),
    "britain": ("United Kingdom", "GPE"),
    "great britain": ("United Kingdom", "GPE"),
    "united kingdom": ("United Kingdom", "GPE"),
    "european union": ("European Union", "ORG"),
    "united nations": ("United Nations", "ORG"),
    "nato": ("NATO", "ORG"),
    "north atlantic treaty organization": ("NATO", "ORG"),
    "united arab emirates": ("United Arab Emirates", "GPE"),
    "people's republic of china": ("China", "GPE"),
    "soviet union": ("Soviet Union", "GPE"),
}
