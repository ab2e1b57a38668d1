"""Keep the message catalogues complete, re-runnably.

The reviewed translations live in shoploop/locale/<lang>/LC_MESSAGES/django.po (the source of
truth; nothing is generated at run time). After ``makemessages`` adds new msgids:

    manage.py translations status                      # what is missing in zh_Hans
    manage.py translations export-missing missing.json # {"msgid": ""} (plurals: a list of forms)
    # ... translate the values in missing.json ...
    manage.py translations import missing.json         # fills only those entries, clears fuzzy
    manage.py compilemessages

Importing never touches an entry that is not in the file, so re-running it is harmless.
"""

import json
from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

DEFAULT_LANGUAGE = "zh_Hans"
PLURAL_SEPARATOR = "\x00"


def catalogue_path(language: str = DEFAULT_LANGUAGE) -> Path:
    return Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.po"


def entry_key(entry: polib.POEntry) -> str:
    """msgctxt and msgid identify an entry; the context is joined the way gettext does (EOT)."""
    return f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid


def needs_translation(entry: polib.POEntry) -> bool:
    if entry.obsolete:
        return False
    if "fuzzy" in entry.flags:
        return True
    if entry.msgid_plural:
        return not all(entry.msgstr_plural.values())
    return not entry.msgstr


def missing_entries(po: polib.POFile) -> list[polib.POEntry]:
    return [entry for entry in po if needs_translation(entry)]


def export_missing(po: polib.POFile) -> dict:
    """Untranslated or fuzzy entries, with the current (fuzzy) guess when there is one."""
    missing = {}
    for entry in missing_entries(po):
        if entry.msgid_plural:
            missing[entry_key(entry)] = [entry.msgstr_plural.get(0, "")]
        else:
            missing[entry_key(entry)] = entry.msgstr if "fuzzy" in entry.flags else ""
    return missing


def fix_header(po: polib.POFile, language: str) -> None:
    """makemessages writes a placeholder header marked fuzzy; msgfmt would then drop it, and with
    it the charset and plural rule, so plural messages would fall back to English."""
    po.metadata_is_fuzzy = False
    po.metadata.update(
        {
            "Project-Id-Version": "Shoploop",
            "Language": language,
            "Language-Team": language,
            "Last-Translator": "Shoploop",
            "Content-Type": "text/plain; charset=UTF-8",
        }
    )
    po.metadata.pop("Report-Msgid-Bugs-To", None)
    po.metadata["PO-Revision-Date"] = po.metadata.get("POT-Creation-Date", "")
    po.header = "Shoploop message catalogue; see shoploop/web/management/commands/translations.py."


def import_translations(po: polib.POFile, translations: dict) -> int:
    """Fill entries from ``translations``; empty values are skipped. Returns how many changed."""
    by_key = {entry_key(entry): entry for entry in po if not entry.obsolete}
    unknown = [key for key in translations if key not in by_key]
    if unknown:
        raise CommandError(f"{len(unknown)} msgids are not in the catalogue, e.g. {unknown[0]!r}")
    changed = 0
    for key, value in translations.items():
        entry = by_key[key]
        if not value:
            continue
        if entry.msgid_plural:
            forms = value if isinstance(value, list) else [value]
            # zh-Hans has one plural form (nplurals=1); other languages list every form.
            entry.msgstr_plural = dict(enumerate(forms))
        else:
            entry.msgstr = value
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        changed += 1
    return changed


class Command(BaseCommand):
    help = "Show, export or import the translations a message catalogue is missing."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "export-missing", "import"])
        parser.add_argument("file", nargs="?", help="JSON file for export-missing / import")
        parser.add_argument("--language", default=DEFAULT_LANGUAGE)

    def handle(self, *args, action, file, language, **options):
        path = catalogue_path(language)
        if not path.exists():
            raise CommandError(f"{path} does not exist; run makemessages -l {language} first")
        po = polib.pofile(str(path), wrapwidth=100)
        if action == "status":
            self._status(po, language)
            return
        if not file:
            raise CommandError(f"{action} needs a JSON file")
        if action == "export-missing":
            data = export_missing(po)
            Path(file).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
            self.stdout.write(f"{len(data)} entries written to {file}")
        else:
            changed = import_translations(po, json.loads(Path(file).read_text()))
            fix_header(po, language)
            po.save(str(path))
            self.stdout.write(f"{changed} entries filled in {path}")

    def _status(self, po: polib.POFile, language: str):
        missing = missing_entries(po)
        total = len([entry for entry in po if not entry.obsolete])
        self.stdout.write(f"{language}: {total - len(missing)}/{total} translated")
        for entry in missing:
            self.stdout.write(f"  missing: {entry.msgid!r}")
