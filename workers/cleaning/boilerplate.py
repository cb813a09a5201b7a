"""Boilerplate knowledge: phrase families that news pages repeat, and line fingerprints.

The phrase families (cookie banners, newsletter and donation appeals, login walls, share bars,
related-link headers, copyright lines, ...) are matched with a few compiled regexes so that the
per-line cost stays at a couple of regex searches.
"""

from __future__ import annotations

import re

__all__ = [
    "BOILERPLATE_PHRASE_RE",
    "BOILERPLATE_SHORT_RE",
    "SELF_PROMO_RE",
    "line_fingerprint",
]

_DIGITS_RE = re.compile(r"\d+")
_SPACE_RE = re.compile(r"\s+")

# Phrases that mark a line as boilerplate whatever its length: appeals, walls, banners, legal lines.
BOILERPLATE_PHRASE_RE = re.compile(
    r"""
    \b(?:
      (?:we|this\s+(?:site|website))\s+uses?\s+cookies | cookie\s+(?:policy|settings|preferences|consent)
    | accept\s+(?:all\s+)?cookies | privacy\s+(?:policy|notice|settings)
    | terms\s+(?:of\s+(?:use|service)|and\s+conditions)
    | all\s+rights\s+reserved | copyright\s+(?:©|\(c\)|\d{4}) | ©\s*\d{4}
    | sign\s+up\s+(?:for|to)\s+(?:our|the)\b | subscribe\s+to\s+(?:our|the)\b
    | (?:our|free|daily|weekly)\s+newsletters?
    | newsletter\s+(?:sign|signup) | (?:enter|your)\s+(?:e-?mail|email\s+address)
    | thank\s+you\s+for\s+(?:signing|subscribing|registering)
    | already\s+(?:a\s+)?(?:subscriber|registered|have\s+an\s+account) | (?:log|sign)\s*(?:in|on)\s+to\s+
    | create\s+(?:a\s+)?(?:free\s+)?account | forgot\s+(?:your\s+)?password
    | refresh\s+(?:the\s+page|your\s+browser)
    | to\s+be\s+(?:automatically\s+)?logged\s+in | notifications?\s+can\s+be\s+managed
    | up\s+to\s+date\s+with\s+notifications
    | (?:turn\s+on|enable|allow)\s+(?:browser\s+)?notifications | push\s+notifications
    | (?:your|a)\s+(?:donation|contribution)s?\b
    | (?:please\s+)?(?:donate|support\s+(?:us|our\s+journalism|independent\s+journalism))
    | your\s+support\s+(?:helps|makes|means) | become\s+a\s+(?:member|subscriber|supporter|patron)
    | (?:share|follow)\s+(?:this|us)\s+on
    | (?:share|post)\s+(?:on|to)\s+(?:facebook|twitter|linkedin|whatsapp|reddit|pinterest)
    | click\s+here | read\s+more\s*(?::|»|›|>|$)
    | (?:most\s+)?(?:popular|read|viewed|shared)\s+(?:now|today|stories|articles)
    | related\s+(?:articles|stories|content|coverage|posts|topics|links)\b
    | recommended\s+(?:for\s+you|stories|videos|reading)
    | (?:more|other)\s+(?:stories|articles)\s+(?:from|like|you)
    | you\s+(?:may|might)\s+(?:also\s+)?(?:like|enjoy|be\s+interested)
    | advertisement | sponsored\s+(?:content|links|stories) | skip\s+(?:to|ad)\b
    | (?:back\s+to|return\s+to)\s+top
    | javascript\s+(?:is\s+)?(?:disabled|required) | (?:enable|update)\s+(?:your\s+)?(?:javascript|browser)
    | ad\s*blocker | whitelist | report\s+(?:an?\s+)?(?:error|typo|correction)
    | comments?\s+(?:are\s+closed|policy)
    | (?:leave|post|add|view|show|load)\s+(?:a\s+|all\s+|more\s+)?comments? | \d+\s+comments?\b
    | no\s+comments
    | (?:this|the)\s+(?:article|story|post|content)\s+(?:is|was)\s+
      (?:published|produced|originally|provided|written\s+by)
    | image\s+(?:copyright|source|caption|credit) | photo(?:graph)?\s*(?:credit|:|by\b) | getty\s+images
    | (?:file\s+)?photo\s*/
    | (?:follow|like)\s+us | download\s+(?:our|the)\s+app | get\s+the\s+app
    | listen\s+to\s+(?:this|the)\s+(?:article|story)
    | reading\s+time | min(?:ute)?s?\s+read\b | trending\s+now | breaking\s+news\s+alerts?
    | paywall | premium\s+(?:content|subscriber|access) | subscribers?\s+only
    | unlimited\s+(?:digital\s+)?access
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Short navigation / widget labels (matched on the whole, short line).
BOILERPLATE_SHORT_RE = re.compile(
    r"""^\W*(?:
      home | menu | search | news | sport[s]? | business | opinion | politics | world | video[s]?
    | photos? | more
    | share(?:\s+this)?(?:\s+(?:article|story))? | tweet | email | print | comments? | reply | login
    | log\s*in | log\s*out
    | sign\s*(?:in|up|out) | register | subscribe | close | next | previous | prev | advertisement | ad
    | sponsored
    | facebook | twitter | linkedin | whatsapp | reddit | pinterest | instagram | youtube | copy\s+link
    | save
    | related | tags? | topics | see\s+(?:more|all) | show\s+more | load\s+more | read\s+(?:more|next)
    | up\s+next
    | watch(?:\s+now)? | listen | loading\.*
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)

# Words of a site talking about itself to the reader (donation appeals, membership pitches).
SELF_PROMO_RE = re.compile(
    r"\b(?:journalism|journalists|reporters|newsroom|paywalls?|donations?|donate|subscribers?|subscriptions?|"
    r"membership|independent\s+news|quality\s+news|news\s+outlets|readers\s+like\s+you|our\s+reporting)\b",
    re.IGNORECASE,
)


# Every alternative of BOILERPLATE_PHRASE_RE contains at least one of these words (lowercase), so a
# line without any of them cannot match and the (comparatively slow) regex is skipped.
PHRASE_TRIGGER_WORDS = frozenset(
    """cookies cookie privacy terms rights copyright sign subscribe newsletter newsletters email e mail
    thank already log login logged create forgot refresh notifications notification donation donations
    contribution contributions donate support member subscriber supporter patron share follow post click
    read popular viewed shared related recommended stories articles like enjoy interested advertisement advertisements
    sponsored skip top javascript browser ad adblocker blocker whitelist report comment comments image
    photo photograph getty app listen reading min mins minute minutes trending breaking paywall premium
    subscribers unlimited access signing subscribing registering""".split()
)
PROMO_TRIGGER_WORDS = frozenset(
    """journalism journalists reporters newsroom paywall paywalls donation donations donate subscriber
    subscribers subscription subscriptions membership independent quality readers our""".split()
)


def line_fingerprint(line: str) -> str:
    """Stable fingerprint of a line: lowercased, runs of digits as "0", whitespace collapsed.

    Used as the key of the per-source learned-boilerplate table, so "Updated 10:48" and
    "Updated 11:05" share a fingerprint.
    """
    text = _DIGITS_RE.sub("0", line.lower())
    return _SPACE_RE.sub(" ", text).strip()
