"""Words the extractor looks for, kept apart from the rules so users can extend them.

``load_vocabulary(path)`` merges a user's JSON (same keys, lists of strings) into these;
``$PURPORT_NEWS_VOCAB`` names such a file. Outlets here are the publishing arms of
armed groups as named in public reporting; they are looked for, never guessed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from purport.errors import ParameterError

DEFAULT = {
    "media_outlets": [
        "al-Furqan", "al-Furqan Media", "Amaq", "Amaq News Agency", "al-Hayat Media Center",
        "al-Hayat", "al-Itisam", "al-Bayan", "Nashir", "al-Naba", "As-Sahab", "as-Sahab",
        "al-Sahab", "al-Malahem", "al-Kataib", "al-Andalus", "al-Manara al-Bayda",
        "al-Zallaqa", "Thabat", "al-Qassam", "Sham al-Ribat", "al-Shahada",
    ],
    "channels": {
        "Telegram": ["telegram"],
        "Twitter": ["twitter", "tweeted", "x.com"],
        "websites": ["websites", "website", "web sites", "online forums", "jihadist forums",
                     "forums"],
        "YouTube": ["youtube"],
        "social media": ["social media", "social-media", "social networks",
                         "social networking sites"],
        "Facebook": ["facebook"],
        "Rocket.Chat": ["rocket.chat", "rocketchat"],
        "Element": ["element messenger", "element channel", "element account",
                    "element room", "element app", "element server"],
        "radio": ["radio"],
        "TikTok": ["tiktok"],
        "WhatsApp": ["whatsapp"],
        "Signal": ["signal messenger", "signal app", "signal channel", "signal group"],
    },
    "release_verbs": [
        "released", "releases", "release", "published", "publishes", "issued", "issues",
        "posted", "posts", "aired", "broadcast", "put out", "surfaced", "emerged", "appeared",
        "distributed", "circulated", "circulating", "disseminated", "uploaded", "shared",
    ],
    "audio_nouns": ["audio", "recording", "tape", "voice", "speech", "sermon", "message",
                    "address", "statement", "remarks"],
    "video_nouns": ["video", "footage", "film"],
    "text_nouns": ["written statement", "communique", "communiqué", "text statement",
                   "letter", "editorial"],
    "hedges": ["purported", "purportedly", "allegedly", "alleged", "apparent", "apparently",
               "said to be", "claimed to be", "reportedly", "believed to be",
               "sounded much like", "appears to be", "appeared to be", "attributed to"],
    "speaker_roles": ["leader", "chief", "spokesman", "spokesperson", "commander", "emir",
                      "founder", "head", "caliph", "cleric", "ideologue"],
}


def load_vocabulary(path: str | Path | None = None) -> dict:
    """The default vocabulary, extended by a user's JSON file (lists are appended)."""
    vocab = json.loads(json.dumps(DEFAULT))
    path = path or os.environ.get("PURPORT_NEWS_VOCAB")
    if not path:
        return vocab
    try:
        extra = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ParameterError(f"vocabulary {path}: {exc}") from exc
    for key, value in extra.items():
        if key not in vocab:
            raise ParameterError(f"vocabulary {path}: unknown key {key!r} "
                                 f"(known: {', '.join(vocab)})")
        if isinstance(vocab[key], dict):
            for name, words in value.items():
                vocab[key].setdefault(name, []).extend(words)
        else:
            vocab[key].extend(value)
    return vocab
