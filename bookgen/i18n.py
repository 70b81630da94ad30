"""The few words the templates print themselves, per language (English when a language is not listed)."""

WORDS = {
    "en": {"contents": "Contents", "cover": "Cover", "title_page": "Title page", "copyright": "Copyright",
           "start": "Start of reading", "back_matter": "Back matter", "pages": "Pages", "note": "Note",
           "back_to_text": "Back to text", "by": "by", "set_in": "Set in", "identifier": "Identifier",
           "published": "Published"},
    "fr": {"contents": "Table des matières", "cover": "Couverture", "title_page": "Page de titre",
           "copyright": "Droits", "start": "Début de la lecture", "back_matter": "Annexes", "pages": "Pages",
           "note": "Note", "back_to_text": "Retour au texte", "by": "par", "set_in": "Composé en",
           "identifier": "Identifiant", "published": "Publié"},
    "de": {"contents": "Inhalt", "cover": "Umschlag", "title_page": "Titelseite", "copyright": "Impressum",
           "start": "Beginn des Textes", "back_matter": "Anhang", "pages": "Seiten", "note": "Anmerkung",
           "back_to_text": "Zurück zum Text", "by": "von", "set_in": "Gesetzt in", "identifier": "Kennung",
           "published": "Erschienen"},
    "es": {"contents": "Índice", "cover": "Cubierta", "title_page": "Portada", "copyright": "Créditos",
           "start": "Inicio de la lectura", "back_matter": "Apéndices", "pages": "Páginas", "note": "Nota",
           "back_to_text": "Volver al texto", "by": "por", "set_in": "Compuesto en",
           "identifier": "Identificador", "published": "Publicado"},
}

# The EPUB's hidden navigation (landmarks nav, NCX page list).
for _lang, _more in {"en": {"landmarks": "Landmarks"}, "fr": {"landmarks": "Repères"},
                     "de": {"landmarks": "Orientierungspunkte"}, "es": {"landmarks": "Puntos de referencia"}}.items():
    WORDS[_lang].update(_more)


def words(language: str) -> dict:
    return {**WORDS["en"], **WORDS.get(language.split("-")[0].lower(), {})}
