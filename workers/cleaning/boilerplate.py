"""Boilerplate knowledge: phrase families that news pages repeat, and line fingerprints.

The phrase families (cookie banners, newsletter and donation appeals, login walls, share bars,
related-link headers, copyright lines, ...) are matched with a few compiled regexes so that the
per-line cost stays at a couple of regex searches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "BOILERPLATE_PHRASE_LOWER_RE",
    "BOILERPLATE_PHRASE_RE",
    "BOILERPLATE_SHORT_RE",
    "LINK_LABEL_RE",
    "SELF_PROMO_ALTERNATIVES",
    "SELF_PROMO_LOWER_RE",
    "SELF_PROMO_RE",
    "by_first_letter",
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
    | (?:in|to|into|straight\s+to)\s+your\s+inbox
    | consider\s+(?:a\s+|making\s+a\s+)?(?:(?:monthly|regular|one-off|small|recurring)\s+)?
      (?:contribution|donation|gift|supporting\s+us)
    | (?:browser|app)\s+settings
    | ^support\b.{0,60}\b(?:from|for)\s+(?:just|only|as\s+little\s+as)\s+[£$€]\s?\d
    | (?:from|for)\s+(?:just|only|as\s+little\s+as)\s+[£$€]\s?\d+(?:[.,]\d\d)?\s*(?:a|per|/)\s*(?:month|week)
    | desde\s+\d+\s*(?:€|euros?)\s+al\s+mes|à\s+partir\s+de\s+\d+\s*(?:€|euros?)\s+par\s+mois
    # --- the same families in Spanish, Portuguese, French, German and Italian
    | (?:utilizamos|usamos|utilizan|nous\s+utilisons|wir\s+verwenden|utilizziamo|(?:este\s+sitio|esta\s+web)\s+utiliza
      |ce\s+site\s+utilise|diese\s+(?:website|seite)\s+(?:verwendet|nutzt)|questo\s+sito\s+(?:utilizza|usa))
      \s+(?:\w+\s+){0,2}cookies?
    | (?:aceptar|rechazar|configurar|accepter|refuser|paramétrer|akzeptieren|ablehnen|accetta|rifiuta|aceitar|recusar)
      \s+(?:(?:todas?|las|les|tous|toutes|alle|tutti|os)\s+)?cookies?
    | política\s+de\s+(?:cookies|privacidad|privacidade)|politique\s+de\s+confidentialité|datenschutzerklärung
    | informativa\s+(?:sulla\s+)?(?:privacy|cookie)
    | derechos\s+reservados|droits\s+réservés|rechte\s+vorbehalten|diritti\s+riservati|direitos\s+reservados
    | (?:recibe|recibir|activa|activar|gestiona|gestionar)\s+(?:las\s+|nuestras\s+)?notificaciones
    | (?:preferencias|configuración|ajustes)\s+de\s+(?:tu|su)\s+navegador|paramètres\s+de\s+votre\s+navigateur
    | browser-?einstellungen|impostazioni\s+del\s+(?:tuo\s+)?browser|configurações\s+do\s+(?:seu\s+)?navegador
    | (?:compartir|partager|teilen|condividi|compartilhar|partilhar)\s+(?:en|sur|auf|su|no|na|em)\s+\w+
    | copiar\s+(?:enlace|link)|copier\s+le\s+lien|link\s+kopieren|copia\s+(?:il\s+)?link
    | lo\s+más\s+(?:leído|visto|popular)|les\s+plus\s+lus|meistgelesen|i\s+più\s+letti|(?:as\s+)?mais\s+lidas
    | suscríbete|suscribirse|abonnez-vous|inscrivez-vous|abonnieren\s+sie|iscriviti|inscreva-se|assine\s+(?:a|o|já)
    | (?:nuestro|nuestra|nuestros|nuestras)\s+(?:boletín|boletines|newsletters?)|unseren?\s+newsletter
    | en\s+tu\s+correo|dans\s+votre\s+boîte|in\s+ihr(?:em)?\s+postfach
    | hazte\s+(?:socio|socia|suscriptor|suscriptora|miembro|mecenas)|(?:haz|hacer|realiza)\s+una\s+donación
    | apoya\s+(?:nuestro|el)\s+periodismo|faites\s+un\s+don|soutenez(?:-nous)?|jetzt\s+spenden
    | unterstützen\s+sie\s+(?:uns|unabhängigen)|sostienici|faça\s+uma\s+doação|apoie\s+o\s+jornalismo
    | muro\s+de\s+pago
    | inici(?:a|ar)\s+sesión|se\s+connecter|connectez-vous|jetzt\s+anmelden|einloggen|regístrate
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)

# "Related: <headline>", "See also: ...", "Lee también: ..." — a link to another story inside the body. Removed
# on its own (it does not pull its neighbours into an appeal block).
LINK_LABEL_RE = re.compile(
    r"^\W*(?:related|see\s+also|also\s+read|read\s+also|(?:lee|lea|leer)\s+(?:también|tambien|más)"
    r"|(?:à\s+)?lire\s+aussi|lesen\s+sie\s+auch|mehr\s+zum\s+thema|leggi\s+anche|(?:leia|veja)\s+(?:também|mais))"
    r"\s*:\s*\S",
    re.IGNORECASE,
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

# Words of a site talking about itself to the reader (donation appeals, membership pitches), in the order the
# regex tries them.
SELF_PROMO_ALTERNATIVES = (
    "journalism", "journalists", "reporters", "newsroom", "paywalls?", "donations?", "donate", "subscribers?",
    "subscriptions?", "membership", r"independent\s+news", r"quality\s+news", r"news\s+outlets",
    r"readers\s+like\s+you", r"our\s+reporting", r"a\s+contribution", r"monthly\s+contribution",
    r"regular\s+contribution", r"every\s+contribution", r"small\s+contribution", r"one-off\s+contribution",
    r"funded\s+by\s+(?:its|our)\s+readers", "periodismo", "periodistas", "jornalismo", "journalisme",
    "journalismus", "giornalismo", "suscriptor(?:es|as)?", "suscripci(?:ón|ones)", "abonnés", "abonnement",
    "abonnenten", r"muro\s+de\s+pago", "donaci(?:ón|ones)", "socios?",
)


def by_first_letter(alternatives: Sequence[str]) -> str:
    """The alternation of ``alternatives`` (regexes that each start with a literal lower-case letter) with
    those sharing a first letter grouped under it, in their order. At each place of a text the engine then
    tries the one group of the letter there instead of every alternative in turn. Two alternatives with
    different first letters never both match at one place (with or without IGNORECASE), so the regex tries
    the ones that can match in the same order: it finds the same match at every place as the plain
    alternation, and ``findall`` finds the same matches."""
    groups: dict[str, list[str]] = {}
    for alternative in alternatives:
        if not "a" <= alternative[0] <= "z" or alternative[1:2] in ("?", "*", "+", "{"):
            raise ValueError(f"alternative without a leading literal letter: {alternative!r}")
        groups.setdefault(alternative[0], []).append(alternative[1:])
    return "|".join(f"{letter}(?:{'|'.join(rests)})" for letter, rests in groups.items())


SELF_PROMO_RE = re.compile(rf"\b(?:{by_first_letter(SELF_PROMO_ALTERNATIVES)})\b", re.IGNORECASE)


# The same patterns without IGNORECASE, for text that is already lowercased (about 3x faster: Python's
# case-insensitive matching of a large alternation is slow).
BOILERPLATE_PHRASE_LOWER_RE = re.compile(BOILERPLATE_PHRASE_RE.pattern, re.VERBOSE)
SELF_PROMO_LOWER_RE = re.compile(SELF_PROMO_RE.pattern)

# Every alternative of BOILERPLATE_PHRASE_RE contains at least one of these words (lowercase), so a
# line without any of them cannot match and the (comparatively slow) regex is skipped.
PHRASE_TRIGGER_WORDS = frozenset(
    """cookies cookie privacy terms rights copyright sign subscribe newsletter newsletters email e mail
    thank already log login logged create forgot refresh notifications notification donation donations
    contribution contributions donate support member subscriber supporter patron share follow post click
    read popular viewed shared related recommended stories articles like enjoy interested advertisement advertisements
    sponsored skip top javascript browser ad adblocker blocker whitelist report comment comments image
    photo photograph getty app listen reading min mins minute minutes trending breaking paywall premium
    subscribers unlimited access signing subscribing registering inbox consider settings month week
    desde partir
    utilizamos usamos utilizan utilisons verwenden utilizziamo utiliza utilise verwendet nutzt utilizza sito
    aceptar rechazar configurar accepter refuser paramétrer akzeptieren ablehnen accetta rifiuta aceitar recusar
    política politique datenschutzerklärung informativa derechos droits rechte diritti direitos
    notificaciones preferencias configuración ajustes paramètres einstellungen impostazioni configurações
    browser compartir partager teilen condividi compartilhar partilhar copiar copier kopieren copia
    leído visto lus meistgelesen letti lidas
    suscríbete suscribirse abonnez inscrivez abonnieren iscriviti inscreva assine boletín boletines newsletter
    unseren unser correo boîte postfach hazte donación faites soutenez spenden unterstützen sostienici doação
    apoya apoie muro inicia iniciar connecter connectez anmelden einloggen regístrate""".split()
)
PROMO_TRIGGER_WORDS = frozenset(
    """journalism journalists reporters newsroom paywall paywalls donation donations donate subscriber
    subscribers subscription subscriptions membership independent quality readers our contribution funded
    periodismo periodistas jornalismo journalisme journalismus giornalismo suscriptor suscriptores suscriptoras
    suscripción suscripciones abonnés abonnement abonnenten muro donación donaciones socio socios""".split()
)


def line_fingerprint(line: str) -> str:
    """Stable fingerprint of a line: lowercased, runs of digits as "0", whitespace collapsed.

    Used as the key of the per-source learned-boilerplate table, so "Updated 10:48" and
    "Updated 11:05" share a fingerprint.
    """
    text = _DIGITS_RE.sub("0", line.lower())
    return _SPACE_RE.sub(" ", text).strip()
