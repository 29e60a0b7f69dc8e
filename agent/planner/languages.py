"""Phrasebooks for Spanish, French, German, Portuguese and Italian, and choosing one by code.

Each has one set of templates for every kind of topic, with the topic inserted as the person
wrote it: a brief written in the language reads natively; an English topic stays English.
"""

from __future__ import annotations

from agent.planner.lexicon import word_list
from agent.planner.phrases import ENGLISH, Phrasebook


def _foreign(
    code: str,
    numbers: str,
    greeting: str,
    hooks: tuple[tuple[str, ...], tuple[str, ...]],
    intro_more: tuple[str, ...],
    ordinals: str,
    numbered: tuple[str, str],
    connectors: tuple[str, ...],
    item_lines: tuple[str, ...],
    details: tuple[str, ...],
    outros: tuple[tuple[str, ...], tuple[str, ...]],
    calls: tuple[str, str, str],
    outro_more: tuple[str, ...],
    bridges: tuple[str, ...],
) -> Phrasebook:
    """A phrasebook with one set of templates for every kind of topic."""
    return Phrasebook(
        code=code,
        numbers=word_list(numbers),
        greetings={"": (greeting,)},
        hooks={"list": hooks[0], "general": hooks[1]},
        short_hooks={},
        intro_more={"": intro_more},
        ordinals=tuple(ordinals.split("|")),
        numbered=numbered[0],
        last_countdown=numbered[1],
        connectors={"": connectors},
        item_lines={"": item_lines},
        point_lines={"": item_lines},
        details={"": details},
        outros={"list": outros[0], "general": outros[1]},
        calls={"tiktok": (calls[0],), "youtube": (calls[1],), "square": (calls[2],)},
        outro_more={"": outro_more},
        bridges=bridges,
    )


SPANISH = _foreign(
    "es",
    "cero uno dos tres cuatro cinco seis siete ocho nueve diez",
    "¡Hola!",
    (
        ("Aquí tienes {n} ideas sobre {topic}.", "{N} claves sobre {topic}, en pocas palabras."),
        ("Hoy hablamos de {topic}.", "Esto es lo que necesitas saber sobre {topic}."),
    ),
    ("Quédate hasta el final.", "Puedes empezar hoy mismo."),
    "Primero,|Segundo,|Tercero,|Cuarto,|Quinto,|Sexto,|Séptimo,|Octavo,|Noveno,|Décimo,",
    ("Número {i}:", "Y el número uno:"),
    ("Para empezar,", "Después,", "Además,", "Y por último,"),
    (
        "dedica diez minutos al día a {topic}.",
        "empieza poco a poco y avanza paso a paso.",
        "haz un plan sencillo y síguelo.",
        "mide tus avances para ver qué funciona.",
        "busca ejemplos reales de {topic} a tu alrededor.",
        "pide opiniones pronto, antes de que los errores se vuelvan hábitos.",
        "elimina un obstáculo que siempre te frena.",
        "celebra cada pequeño logro.",
    ),
    (
        "Parece poco, pero suma mucho.",
        "Pruébalo esta semana y nota la diferencia.",
        "La constancia gana a la intensidad.",
        "Es más fácil de lo que parece.",
    ),
    (("Esas son {n} ideas sobre {topic}.",), ("Eso es lo esencial sobre {topic}.",)),
    (
        "Sígueme para más consejos.",
        "Suscríbete para ver más vídeos como este.",
        "Guarda este post para después.",
    ),
    ("Cuéntame en los comentarios qué vas a probar.", "Compártelo con quien lo necesite."),
    (
        "Fíjate en los detalles.",
        "Aquí viene lo interesante.",
        "Piénsalo un momento.",
        "Todo está conectado.",
        "Hay más de lo que parece.",
    ),
)
FRENCH = _foreign(
    "fr",
    "zéro un deux trois quatre cinq six sept huit neuf dix",
    "Bonjour à tous.",
    (
        ("Voici {n} idées sur {topic}.", "{N} clés pour comprendre {topic}."),
        ("Aujourd'hui, parlons de {topic}.", "Voici l'essentiel sur {topic}."),
    ),
    ("Restez jusqu'à la fin.", "Vous pouvez commencer dès aujourd'hui."),
    "Premièrement,|Deuxièmement,|Troisièmement,|Quatrièmement,|Cinquièmement,|Sixièmement,|"
    "Septièmement,|Huitièmement,|Neuvièmement,|Dixièmement,",
    ("Numéro {i} :", "Et le numéro un :"),
    ("Pour commencer,", "Ensuite,", "Puis,", "Enfin,"),
    (
        "consacrez dix minutes par jour à {topic}.",
        "commencez petit et progressez pas à pas.",
        "faites un plan simple et tenez-vous-y.",
        "mesurez vos progrès pour voir ce qui marche.",
        "cherchez des exemples concrets de {topic} autour de vous.",
        "demandez des retours tôt, avant que les erreurs ne deviennent des habitudes.",
        "supprimez un obstacle qui vous freine.",
        "célébrez chaque petite victoire.",
    ),
    (
        "Ça paraît peu, mais ça compte.",
        "Essayez cette semaine et voyez la différence.",
        "La régularité bat l'intensité.",
        "C'est plus simple qu'il n'y paraît.",
    ),
    (("Voilà {n} idées sur {topic}.",), ("Voilà l'essentiel sur {topic}.",)),
    (
        "Abonnez-vous pour plus d'astuces.",
        "Abonnez-vous pour d'autres vidéos comme celle-ci.",
        "Enregistrez ce post pour plus tard.",
    ),
    (
        "Dites-moi en commentaire ce que vous allez essayer.",
        "Partagez-la avec quelqu'un à qui elle servira.",
    ),
    (
        "Regardez les détails.",
        "C'est là que ça devient intéressant.",
        "Pensez-y un instant.",
        "Tout est lié.",
        "Il y a plus qu'il n'y paraît.",
    ),
)
GERMAN = _foreign(
    "de",
    "null eins zwei drei vier fünf sechs sieben acht neun zehn",
    "Hallo zusammen!",
    (
        ("Hier sind {n} Ideen zum Thema {topic}.", "{N} Tipps zum Thema {topic}, kurz erklärt."),
        ("Heute geht es um {topic}.", "Das Wichtigste zum Thema {topic}."),
    ),
    ("Bleib bis zum Schluss dran.", "Du kannst heute noch anfangen."),
    "Erstens:|Zweitens:|Drittens:|Viertens:|Fünftens:|Sechstens:|Siebtens:|Achtens:|"
    "Neuntens:|Zehntens:",
    ("Nummer {i}:", "Und die Nummer eins:"),
    ("Zuerst:", "Dann:", "Außerdem:", "Und zum Schluss:"),
    (
        "Nimm dir jeden Tag zehn Minuten Zeit für {topic}.",
        "Fang klein an und steigere dich Schritt für Schritt.",
        "Mach einen einfachen Plan und bleib dran.",
        "Miss deine Fortschritte, damit du siehst, was funktioniert.",
        "Such dir echte Beispiele für {topic} in deinem Alltag.",
        "Hol dir früh Feedback, bevor Fehler zur Gewohnheit werden.",
        "Räum ein Hindernis aus dem Weg, das dich bremst.",
        "Feier jeden kleinen Erfolg.",
    ),
    (
        "Klingt klein, bringt aber viel.",
        "Probier es diese Woche aus.",
        "Dranbleiben schlägt Vollgas.",
        "Es ist einfacher, als es klingt.",
    ),
    (("Das waren {n} Ideen zum Thema {topic}.",), ("Das war das Wichtigste zum Thema {topic}.",)),
    (
        "Folge mir für mehr Tipps.",
        "Abonniere den Kanal für mehr Videos wie dieses.",
        "Speichere dir diesen Beitrag.",
    ),
    (
        "Schreib mir in die Kommentare, was du zuerst ausprobierst.",
        "Teile das mit jemandem, dem es hilft.",
    ),
    (
        "Achte auf die Details.",
        "Jetzt wird es spannend.",
        "Denk kurz darüber nach.",
        "Alles hängt zusammen.",
        "Da steckt mehr dahinter, als man denkt.",
    ),
)
PORTUGUESE = _foreign(
    "pt",
    "zero um dois três quatro cinco seis sete oito nove dez",
    "Olá!",
    (
        ("Aqui estão {n} ideias sobre {topic}.", "{N} dicas sobre {topic}, em poucas palavras."),
        ("Hoje vamos falar de {topic}.", "Isto é o que você precisa saber sobre {topic}."),
    ),
    ("Fique até o final.", "Você pode começar hoje mesmo."),
    "Primeiro,|Segundo,|Terceiro,|Quarto,|Quinto,|Sexto,|Sétimo,|Oitavo,|Nono,|Décimo,",
    ("Número {i}:", "E o número um:"),
    ("Para começar,", "Depois,", "Além disso,", "E por fim,"),
    (
        "dedique dez minutos por dia a {topic}.",
        "comece pequeno e avance passo a passo.",
        "faça um plano simples e siga-o.",
        "acompanhe o seu progresso para ver o que funciona.",
        "procure exemplos reais de {topic} à sua volta.",
        "peça opiniões cedo, antes que os erros virem hábitos.",
        "remova um obstáculo que sempre atrapalha.",
        "comemore cada pequena vitória.",
    ),
    (
        "Parece pouco, mas faz diferença.",
        "Experimente esta semana e veja o resultado.",
        "Constância vale mais que intensidade.",
        "É mais fácil do que parece.",
    ),
    (("Essas são {n} ideias sobre {topic}.",), ("Esse é o essencial sobre {topic}.",)),
    (
        "Siga para mais dicas.",
        "Inscreva-se para mais vídeos como este.",
        "Salve este post para depois.",
    ),
    (
        "Conte nos comentários o que você vai testar primeiro.",
        "Compartilhe com alguém que precisa ver isso.",
    ),
    (
        "Repare nos detalhes.",
        "Aqui fica interessante.",
        "Pense nisso por um momento.",
        "Tudo está conectado.",
        "Há mais do que parece.",
    ),
)
ITALIAN = _foreign(
    "it",
    "zero uno due tre quattro cinque sei sette otto nove dieci",
    "Ciao a tutti!",
    (
        ("Ecco {n} idee su {topic}.", "{N} consigli su {topic}, in breve."),
        ("Oggi parliamo di {topic}.", "Ecco cosa sapere su {topic}."),
    ),
    ("Resta fino alla fine.", "Puoi iniziare già oggi."),
    "Primo,|Secondo,|Terzo,|Quarto,|Quinto,|Sesto,|Settimo,|Ottavo,|Nono,|Decimo,",
    ("Numero {i}:", "E il numero uno:"),
    ("Per cominciare,", "Poi,", "Inoltre,", "E infine,"),
    (
        "dedica dieci minuti al giorno a {topic}.",
        "inizia in piccolo e procedi passo dopo passo.",
        "fai un piano semplice e seguilo.",
        "misura i tuoi progressi per capire cosa funziona.",
        "cerca esempi reali di {topic} intorno a te.",
        "chiedi un parere presto, prima che gli errori diventino abitudini.",
        "elimina un ostacolo che ti frena.",
        "festeggia ogni piccolo successo.",
    ),
    (
        "Sembra poco, ma fa la differenza.",
        "Provalo questa settimana e nota la differenza.",
        "La costanza batte l'intensità.",
        "È più facile di quanto sembri.",
    ),
    (("Ecco {n} idee su {topic}.",), ("Questo è l'essenziale su {topic}.",)),
    (
        "Seguimi per altri consigli.",
        "Iscriviti per altri video come questo.",
        "Salva questo post per dopo.",
    ),
    ("Scrivimi nei commenti cosa proverai per primo.", "Condividilo con chi ne ha bisogno."),
    (
        "Guarda i dettagli.",
        "Ecco la parte interessante.",
        "Pensaci un attimo.",
        "Tutto è collegato.",
        "C'è più di quanto sembri.",
    ),
)

PHRASEBOOKS: dict[str, Phrasebook] = {
    book.code: book for book in (ENGLISH, SPANISH, FRENCH, GERMAN, PORTUGUESE, ITALIAN)
}


def phrasebook_for(language: str) -> Phrasebook:
    """The phrasebook for a language code ("pt-br" → Portuguese); English when there is none."""
    return PHRASEBOOKS.get(language.split("-", 1)[0], ENGLISH)
