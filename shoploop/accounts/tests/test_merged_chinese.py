"""Chinese as the catalogue has it: in the operator area the deal kinds are 拼团, 砍价, 众筹 and
秒杀, Django's groups are 权限组, and "Home" is 首页, never 家居; the sign-in SMS speaks each
recipient's language."""

import logging
import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from shoploop.accounts import services

PLAIN_HOME = re.compile(
    r"""(?<![p\w])gettext(?:_lazy)?\(\s*["']Home["']\s*\)|\b_\(\s*["']Home["']\s*\)"""
    r"""|\{%\s*(?:trans|translate)\s+["']Home["']\s*%\}"""
)


def _source_files():
    root = Path(settings.BASE_DIR) / "shoploop"
    for pattern in ("*.py", "*.html"):
        yield from (path for path in root.rglob(pattern) if "tests" not in path.parts)


def test_no_plain_home_msgid_is_left_in_the_source():
    """Without a plain "Home" of ours, makemessages drops the 家居 entry and Django's own 首页
    shows in the admin's breadcrumbs."""
    found = [str(path) for path in _source_files() if PLAIN_HOME.search(path.read_text("utf-8"))]
    assert found == []


def test_the_operator_area_reads_right_in_chinese(client, operator):
    client.force_login(operator)
    index = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    for label in ("Shoploop 运营后台", "拼团", "砍价", "众筹", "秒杀", "权限组", "砍价活动"):
        assert label in index, label
    assert "认证和授权" not in index  # Django's own auth app (its 组) is not shown
    listing = client.get(
        reverse("admin:deals_groups_group_changelist"), HTTP_ACCEPT_LANGUAGE="zh-Hans"
    ).content.decode()
    breadcrumbs = listing[listing.index('class="breadcrumbs"') :][:600]
    assert "首页" in breadcrumbs and "家居" not in listing
    user_page = client.get(
        reverse("admin:accounts_user_change", args=[operator.pk]), HTTP_ACCEPT_LANGUAGE="zh-Hans"
    ).content.decode()
    assert "权限组" in user_page


def test_the_sms_speaks_each_recipients_language(make_user, caplog):
    chinese = make_user(phone="+8613412345678")
    english = make_user(phone="+8613412345679")
    type(chinese).objects.filter(pk=chinese.pk).update(locale="zh-hans")
    type(english).objects.filter(pk=english.pk).update(locale="en")
    with caplog.at_level(logging.INFO, logger="shoploop.accounts.sms"):
        services.send_code(phone=chinese.phone, locale="en")
        services.send_code(phone=english.phone, locale="zh-hans")
    assert f"SMS to {chinese.phone} : 【Shoploop】你的登录验证码是" in caplog.text
    assert f"SMS to {english.phone} : [Shoploop] Your sign-in code is" in caplog.text
