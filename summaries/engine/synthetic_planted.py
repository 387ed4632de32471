"""Generated chat with planted decisions, action items and open questions, and the look-alikes real chat
is full of (jokes using "decided", vague intentions, rhetorical and answered questions, requests nobody
takes), in English, French and German: the yardstick of the offline engine's precision and recall.

`planted_conversation` returns the messages and, per section, the groups of message ids that make each
planted item (a proposal and its agreements, a request and the reply taking it): an item the engine files
in a section is right when it cites a message of one of that section's groups.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from .synthetic import _START, CHANNEL_ID, GUILD_ID, message_id
from .types import Author, ChatMessage

LANGUAGES = ("en", "fr", "de")

_PEOPLE = {
    "en": ["Maya", "Tom", "Lin", "Sam", "Priya", "Jonas"],
    "fr": ["Camille", "Hugo", "Léa", "Julien", "Chloé", "Antoine"],
    "de": ["Lena", "Felix", "Jonas", "Mia", "Lukas", "Hannah"],
}
_THINGS = {
    "en": ["the release", "the login page", "the billing job", "the search index", "the mobile app", "the API docs"],
    "fr": ["la release", "la page de connexion", "le job de facturation", "l'index de recherche", "l'appli mobile"],
    "de": ["das Release", "die Login-Seite", "den Abrechnungsjob", "den Suchindex", "die Mobile-App"],
}
_WHEN = {
    "en": ["tomorrow", "on Monday", "before Friday", "tonight", "this afternoon"],
    "fr": ["demain", "lundi", "avant vendredi", "ce soir", "cet après-midi"],
    "de": ["morgen", "am Montag", "vor Freitag", "heute Abend", "heute Nachmittag"],
}
_FILLER = {
    "en": [
        "the build for {thing} is green again",
        "lunch was great today",
        "the new monitors arrived",
        "{thing} looks a bit faster since the update",
        "the coffee machine on the second floor works again",
        "ok",
        "nice",
        "thanks",
        "I read the blog post about {thing}, interesting stuff",
        "the meeting room is free now",
    ],
    "fr": [
        "le build de {thing} est de nouveau vert",
        "le déjeuner était super aujourd'hui",
        "les nouveaux écrans sont arrivés",
        "{thing} semble un peu plus rapide depuis la mise à jour",
        "la machine à café du deuxième étage remarche",
        "ok",
        "merci",
        "sympa",
        "j'ai lu l'article sur {thing}, intéressant",
    ],
    "de": [
        "der Build für {thing} ist wieder grün",
        "das Mittagessen war heute super",
        "die neuen Monitore sind angekommen",
        "{thing} wirkt seit dem Update etwas schneller",
        "die Kaffeemaschine im zweiten Stock geht wieder",
        "ok",
        "danke",
        "cool",
        "ich habe den Blogpost über {thing} gelesen, spannend",
    ],
}
# Planted: (proposal, agreements...) or an explicit decision alone.
_DECISION_PROPOSAL = {
    "en": "Proposal: we move {thing} to {when}. Objections?",
    "fr": "Je propose qu'on déplace {thing} à {when}. Des objections ?",
    "de": "Ich schlage vor, wir verschieben {thing} auf {when}. Einwände?",
}
_AGREE = {
    "en": ["Works for me.", "Agreed.", "Sounds good.", "+1"],
    "fr": ["D'accord.", "Ok pour moi.", "👍"],
    "de": ["Einverstanden.", "Passt.", "👍"],
}
_DECISION_EXPLICIT = {
    "en": "Decided: {thing} ships {when}, no more changes.",
    "fr": "C'est décidé : {thing} sort {when}, plus de changements.",
    "de": "Wir haben entschieden: {thing} geht {when} raus, keine Änderungen mehr.",
}
_COMMIT = {
    "en": "I'll update {thing} {when}.",
    "fr": "Je vais mettre à jour {thing} {when}.",
    "de": "Ich werde {thing} {when} aktualisieren.",
}
_REQUEST = {
    "en": ("{name}, can you review {thing} {when}?", "Sure, will do."),
    "fr": ("{name}, peux-tu relire {thing} {when} ?", "Oui, je m'en occupe."),
    "de": ("{name}, kannst du {thing} {when} prüfen?", "Klar, ich mache das."),
}
_OPEN_QUESTION = {
    "en": "Does anyone know who owns {thing} now?",
    "fr": "Quelqu'un sait qui s'occupe de {thing} maintenant ?",
    "de": "Weiß jemand, wer jetzt für {thing} zuständig ist?",
}
# Look-alikes: none of these is a decision, an action item or an open question.
_NEGATIVES = {
    "en": [
        "God bless whoever decided to put spaces between words",
        "whoever decided on this font owes me new glasses lol",
        "I'll try to watch that when I get the time",
        "maybe I'll look at {thing} at some point",
        "Why did I ever agree to touch {thing}?",
        "Who cares about IE11 anymore?",
        "What could possibly go wrong?",
        "someone should clean up {thing} some day",
        "we should rewrite {thing} in Rust haha",
    ],
    "fr": [
        "Dieu bénisse celui qui a décidé de mettre des espaces entre les mots",
        "je vais peut-être regarder {thing} quand j'aurai le temps",
        "Pourquoi j'ai accepté de toucher à {thing} ?",
        "Qui s'en soucie encore d'IE11 ?",
        "on devrait réécrire {thing} en Rust mdr",
    ],
    "de": [
        "Gott segne den, der entschieden hat, Leerzeichen zwischen Wörter zu setzen",
        "ich werde vielleicht irgendwann {thing} anschauen",
        "Warum habe ich nur zugestimmt, {thing} anzufassen?",
        "Wen interessiert IE11 noch?",
        "wir sollten {thing} in Rust neu schreiben haha",
    ],
}
_ANSWERED = {
    "en": ("Is {thing} deployed yet?", "Yes, since this morning."),
    "fr": ("{thing} est déjà déployé ?", "Oui, depuis ce matin."),
    "de": ("Ist {thing} schon deployed?", "Ja, seit heute Morgen."),
}


@dataclass(slots=True)
class Planted:
    messages: list[ChatMessage]
    sections: dict[str, list[frozenset[int]]] = field(default_factory=dict)


def planted_conversation(count: int, language: str = "en", *, seed: int = 7, planted: int = 10) -> Planted:
    """About `count` messages of filler and look-alikes, with `planted` items of each section spread evenly."""
    rng = random.Random(f"{language}:{seed}:{count}")
    names = _PEOPLE[language]
    people = [Author(id=20_000 + i, name=name.lower(), display_name=name) for i, name in enumerate(names)]
    result = Planted(messages=[], sections={"decisions": [], "action_items": [], "open_questions": []})
    when = _START

    def fill(template: str, **extra: str) -> str:
        return template.format(thing=rng.choice(_THINGS[language]), when=rng.choice(_WHEN[language]), **extra)

    def add(author: Author, text: str, *, after: float = 0, reply_to: int | None = None) -> int:
        nonlocal when
        when += timedelta(seconds=after or rng.choice((20, 40, 60, 90, 120)))
        index = len(result.messages)
        result.messages.append(
            ChatMessage(
                id=message_id(index),
                channel_id=CHANNEL_ID,
                guild_id=GUILD_ID,
                author=author,
                created_at=when,
                content=text,
                kind="reply" if reply_to is not None else "default",
                reply_to=reply_to,
            )
        )
        return message_id(index)

    # Which slots hold planted items: evenly spread, each kind in turn.
    kinds = ["decision", "action", "question"] * planted
    slots = {round((n + 0.5) * count / len(kinds)): kind for n, kind in enumerate(kinds)}
    position = 0
    while len(result.messages) < count:
        kind = slots.get(position)
        position += 1
        speaker, *others = rng.sample(people, len(people))
        if kind == "decision":
            if rng.random() < 0.5:
                group = [add(speaker, fill(_DECISION_EXPLICIT[language]))]
            else:
                group = [add(speaker, fill(_DECISION_PROPOSAL[language]))]
                group += [add(o, rng.choice(_AGREE[language])) for o in others[:2]]
            result.sections["decisions"].append(frozenset(group))
        elif kind == "action":
            if rng.random() < 0.5:
                group = [add(speaker, fill(_COMMIT[language]))]
            else:
                ask, accept = _REQUEST[language]
                asked = add(speaker, fill(ask, name=others[0].display_name))
                group = [asked, add(others[0], accept, reply_to=asked)]
            result.sections["action_items"].append(frozenset(group))
        elif kind == "question":
            # Left unanswered: the channel goes quiet, then talks about something else.
            group = [add(speaker, fill(_OPEN_QUESTION[language]))]
            when += timedelta(minutes=rng.randint(20, 90))
            result.sections["open_questions"].append(frozenset(group))
        else:
            roll = rng.random()
            if roll < 0.1:
                add(speaker, fill(rng.choice(_NEGATIVES[language])))
                when += timedelta(minutes=rng.randint(15, 40))  # nobody answers a rhetorical question either
            elif roll < 0.15:
                question, answer = _ANSWERED[language]
                asked = add(speaker, fill(question))
                add(others[0], answer)
            else:
                add(speaker, fill(rng.choice(_FILLER[language])))
    return result
