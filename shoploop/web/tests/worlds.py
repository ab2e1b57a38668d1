"""Small worlds for page tests and browser journeys, built only through other apps' services."""

from shoploop.catalog import selectors as catalog_selectors
from shoploop.catalog import services as catalog
from shoploop.communities import services as communities


def community(*, owner, name: str, tags=("coffee",)):
    return communities.create_community(actor=owner, name=name, tags=list(tags))


def join(*, user, community):
    return communities.join_community(actor=user, community=community)


def product_on_sale(*, merchant, operator, community, title: str, price_fen: int):
    """An approved shop of ``merchant`` (a member of ``community``) offering one product there."""
    shop = catalog.apply_for_shop(user=merchant, name=f"{merchant.name}'s shop", contact="wechat")
    catalog.approve_shop(shop=shop, actor=operator)
    catalog.list_shop_in_community(shop=shop, community=community, actor=merchant)
    return _published(
        shop=shop, merchant=merchant, community=community, title=title, price_fen=price_fen
    )


def another_product(*, merchant, community, title: str, price_fen: int):
    """One more product from the shop ``product_on_sale`` opened for ``merchant``."""
    shop = catalog_selectors.shop_of(user=merchant)
    return _published(
        shop=shop, merchant=merchant, community=community, title=title, price_fen=price_fen
    )


def _published(*, shop, merchant, community, title, price_fen):
    product = catalog.create_product(
        shop=shop, actor=merchant, title=title, communities=[community]
    )
    catalog.add_sku(product=product, actor=merchant, options={}, price_fen=price_fen, stock=10)
    return catalog.publish_product(product=product, actor=merchant)
