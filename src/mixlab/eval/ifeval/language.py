"""A small, documented heuristic for "is this response in language X" (no model, no download).

Two signals:

1. **Script.** Letters are classified by Unicode block (Latin, Cyrillic, Arabic, Devanagari, Han, ...). A
   language written in a non-Latin script passes when at least 80 % of the letters are in its script (for
   Japanese: kana or Han with some kana; for Chinese: Han without kana). Languages that share a script
   (Russian / Bulgarian, Hindi / Marathi / Nepali, Arabic / Persian / Urdu) are not told apart.
2. **Function words**, for languages written in Latin script. Each known language has a short list of
   frequent, distinctive function words; the response's words are counted against every list and the
   language with most hits wins. The response passes when at least 80 % of its letters are Latin and the
   target language wins (ties count as a pass). A response with no function word of any known language
   ("Paris.") passes on script alone: it is too short to judge, as IFEval also lets undetectable text pass.

IFEval itself uses the ``langdetect`` package; this heuristic agrees with it on ordinary paragraphs but is
cruder on very short or mixed-language text.

>>> is_language("The cat is sleeping on the mat, and it is happy.", "en")
True
>>> is_language("Le chat dort sur le tapis et il est content.", "en")
False
>>> is_language("Кошка спит на ковре.", "ru")
True
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the and is are was were of to in that it with for this on you not be have has which what "
              "they their there would will can from by an at or but",
        "de": "der die das und ist nicht ein eine ich sie mit auf für von den dem zu auch sich wir aber wie "
              "oder sind war noch nach",
        "fr": "le la les et est une des du que qui pas pour dans sur avec il elle nous vous sont ce cette "
              "mais ou au aux",
        "es": "el la los las y es una que del por para con no se su lo como pero más está son muy también "
              "al",
        "it": "il lo la gli le e è una che di per con non sono del della questo ma come anche più nel alla",
        "pt": "o a os as e é um uma que do da não para com se por mais como mas são está também no na",
        "nl": "de het een en is van dat niet ik zijn op te met voor er maar ook als wat nog bij",
        "sw": "na ya wa kwa ni za la katika hii huo kama lakini pia sana kuwa hiyo wao yeye",
        "fi": "ja on ei se että hän oli ovat mutta kun tai myös niin joka tämä mitä ole",
        "vi": "và là của có không những một được cho người trong này với các đã để khi",
        "tr": "ve bir bu da de için ile çok ama gibi daha olarak değil ne ki var",
        "id": "dan yang di ini itu dengan untuk tidak dari dalam akan ada juga saya mereka",
        "pl": "i w nie na jest się z że do to jak ale co tak od po są",
        "sv": "och att det som en är på för med inte av till har jag var men om",
    }.items()
}

# Scripts of non-Latin languages: language code -> Unicode name prefix(es) of its letters.
_SCRIPTS: dict[str, tuple[str, ...]] = {
    "ru": ("CYRILLIC",), "bg": ("CYRILLIC",), "uk": ("CYRILLIC",), "ar": ("ARABIC",), "fa": ("ARABIC",),
    "ur": ("ARABIC",), "hi": ("DEVANAGARI",), "mr": ("DEVANAGARI",), "ne": ("DEVANAGARI",),
    "bn": ("BENGALI",), "pa": ("GURMUKHI",), "gu": ("GUJARATI",), "ta": ("TAMIL",), "te": ("TELUGU",),
    "kn": ("KANNADA",), "ml": ("MALAYALAM",), "th": ("THAI",), "ko": ("HANGUL",), "he": ("HEBREW",),
    "el": ("GREEK",), "ka": ("GEORGIAN",), "hy": ("ARMENIAN",), "zh": ("CJK",),
    "ja": ("HIRAGANA", "KATAKANA", "CJK"),
}

#: language codes the heuristic knows (ISO 639-1, as IFEval uses)
LANGUAGES: tuple[str, ...] = tuple(sorted({*_FUNCTION_WORDS, *_SCRIPTS}))

_MIN_SHARE = 0.8
_TOKEN = re.compile(r"[^\W\d_]+")


def _script(ch: str) -> str:
    if ch.isascii():
        return "LATIN"
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def _script_counts(text: str) -> Counter[str]:
    # count distinct letters first (C speed), then classify each distinct letter once
    out: Counter[str] = Counter()
    for ch, n in Counter(ch for ch in text if ch.isalpha()).items():
        out[_script(ch)] += n
    return out


def is_language(text: str, language: str) -> bool:
    """Whether ``text`` looks written in ``language`` (an ISO 639-1 code from ``LANGUAGES``)."""
    scripts = _script_counts(text)
    total = sum(scripts.values())
    if not total:
        return False
    kana = scripts["HIRAGANA"] + scripts["KATAKANA"]
    if language in _SCRIPTS:
        share = sum(scripts[s] for s in _SCRIPTS[language]) / total
        if language == "ja":  # Japanese needs kana; Han alone reads as Chinese
            return share >= _MIN_SHARE and kana > 0
        if language == "zh":
            return share >= _MIN_SHARE and kana == 0
        return share >= _MIN_SHARE
    if scripts["LATIN"] / total < _MIN_SHARE:
        return False
    tokens = Counter(t.lower() for t in _TOKEN.findall(text))
    hits = {lang: sum(n for t, n in tokens.items() if t in fw) for lang, fw in _FUNCTION_WORDS.items()}
    best = max(hits.values())
    return best == 0 or hits[language] == best
