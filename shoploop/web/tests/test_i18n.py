"""Both languages ship: pages speak the visitor's language, and the catalogues are complete."""

import ast
import json
import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

from shoploop.web.management.commands.translations import (
    catalogue_path,
    export_missing,
    import_translations,
    missing_entries,
)

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def _mo_path(language):
    return catalogue_path(language).with_suffix(".mo")


@pytest.fixture
def compiled_catalogues():
    for language in ("zh_Hans", "en"):
        assert _mo_path(language).exists(), "compile the catalogues first: make messages"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "lang", "words"),
    [
        (
            "zh-Hans",
            "zh-hans",
            ["和社群一起买好物", "首页", "社群", "购物车", "消息", "我的", "拼团"],
        ),
        ("zh-CN,zh;q=0.9", "zh-hans", ["和社群一起买好物", "手机号登录"]),
        ("en-US,en;q=0.8", "en", ["Shop with your communities", "Home", "Cart", "group buys"]),
    ],
)
def test_home_speaks_the_visitors_language(
    client, compiled_catalogues, accept_language, lang, words
):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE=accept_language).content.decode()
    assert f'<html lang="{lang}">' in html
    for word in words:
        assert word in html


@pytest.mark.django_db
def test_chinese_is_the_default_language(client, compiled_catalogues):
    html = client.get("/me/").content.decode()
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert '<html lang="zh-hans">' in html and "用手机号登录" in html


@pytest.mark.django_db
def test_plural_messages_use_the_chinese_form(client, compiled_catalogues, user):
    from shoploop.web.tests import worlds

    worlds.community(owner=user, name="Coffee")  # the owner is its one member
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "1 位成员" in html


def test_every_chinese_message_is_translated():
    po = polib.pofile(str(catalogue_path("zh_Hans")))
    missing = [entry.msgid for entry in missing_entries(po)]
    assert not missing, f"untranslated or fuzzy in zh_Hans: {missing[:10]}"
    assert not po.metadata_is_fuzzy
    assert po.metadata["Plural-Forms"].startswith("nplurals=1;")


def test_chinese_translations_keep_every_placeholder():
    """Chinese has one plural form, used for every count: it carries the placeholders of the
    English plural (which names the count even where the singular does not: "… for the winner" /
    "… for each of %(winners)s winners")."""
    po = polib.pofile(str(catalogue_path("zh_Hans")))
    for entry in po.translated_entries():
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        source = entry.msgid_plural or entry.msgid
        for translation in translations:
            assert sorted(PLACEHOLDER.findall(translation)) == sorted(
                PLACEHOLDER.findall(source)
            ), entry.msgid


def test_the_english_catalogue_leaves_english_as_written():
    po = polib.pofile(str(catalogue_path("en")))
    assert len(po) > 0
    assert not [entry.msgid for entry in po if entry.msgstr], "English msgids are the English text"


SAMPLE_PO = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

msgid "Cart"
msgstr "购物车"

msgid "Join"
msgstr ""

#, fuzzy
msgid "Leave"
msgstr "离开"

msgid "%(counter)s member"
msgid_plural "%(counter)s members"
msgstr[0] ""

msgctxt "navigation"
msgid "Home"
msgstr ""
"""


def test_export_then_import_fills_only_what_was_missing(tmp_path):
    po = polib.pofile(SAMPLE_PO)
    missing = export_missing(po)
    assert missing == {
        "Join": "",
        "Leave": "离开",
        "%(counter)s member": [""],
        "navigation\x04Home": "",
    }
    changed = import_translations(
        po,
        {
            "Join": "加入",
            "Leave": "退出",
            "%(counter)s member": ["%(counter)s 位成员"],
            "navigation\x04Home": "首页",
        },
    )
    assert changed == 4
    assert not missing_entries(po)
    assert po.find("Cart").msgstr == "购物车"  # untouched
    assert po.find("Leave").msgstr == "退出" and "fuzzy" not in po.find("Leave").flags
    assert po.find("%(counter)s member").msgstr_plural == {0: "%(counter)s 位成员"}
    assert po.find("Home", msgctxt="navigation").msgstr == "首页"


def test_import_refuses_msgids_that_are_not_in_the_catalogue():
    from django.core.management.base import CommandError

    po = polib.pofile(SAMPLE_PO)
    with pytest.raises(CommandError):
        import_translations(po, {"Not a msgid": "不是"})
    assert po.find("Join").msgstr == ""


def test_status_command_reports_the_catalogue(capsys):
    call_command("translations", "status")
    assert "zh_Hans:" in capsys.readouterr().out


def test_export_command_writes_json(tmp_path):
    target = tmp_path / "missing.json"
    call_command("translations", "export-missing", str(target))
    assert isinstance(json.loads(target.read_text()), dict)


@pytest.mark.django_db
def test_home_is_home_page_not_home_goods(client, compiled_catalogues):
    """ "Home" is the home page (首页) and a product category (家居); a context parts them."""
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "<title>首页 · Shoploop</title>" in html
    assert "家居" not in html


def _eager_gettext_at_import(path) -> list[int]:
    """Lines where a module-level statement calls ``_`` bound to the eager ``gettext``: such a
    string is translated once, in whatever language is active at import, for every visitor."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    eager = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "django.utils.translation"
        and any(alias.name == "gettext" and alias.asname == "_" for alias in node.names)
        for node in tree.body
    )
    if not eager:
        return []
    return [
        node.lineno
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(call, ast.Call) and getattr(call.func, "id", "") == "_"
            for call in ast.walk(node)
        )
    ]


def test_no_module_level_string_is_translated_eagerly():
    package = Path(settings.BASE_DIR) / "shoploop"
    found = {
        str(path.relative_to(package)): lines
        for path in package.rglob("*.py")
        if (lines := _eager_gettext_at_import(path))
    }
    assert found == {}, "use gettext_lazy for strings defined at import time"
