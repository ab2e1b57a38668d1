"""Test data shared by every app's tests that place orders."""

# A real district of China's administrative divisions (orders/data/regions_cn.json).
SHENZHEN_NANSHAN = {"province_code": "44", "city_code": "4403", "district_code": "440305"}


def address_id_for(user) -> str:
    """The public id of the user's default address, made on first use ("" for a visitor or
    nobody, so a test of "sign in first" still reaches that check). Plain function: deal tests
    pass it as ``address_id=address_id_for(buyer)`` wherever a buyer acts."""
    from shoploop.orders import address_services
    from shoploop.orders.models import Address

    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    found = Address.objects.filter(user=user, is_default=True).first()
    if found is None:
        found = address_services.add_address(
            user=user,
            recipient_name="收件人",
            phone="13912345678",
            street="人民路 1 号",
            **SHENZHEN_NANSHAN,
        )
    return found.public_id


def as_buyer(user) -> dict:
    """``user=`` and ``address_id=`` for a deal action by ``user`` (for a user made inline:
    ``services.buy(sale=sale, **as_buyer(make_user()))``)."""
    return {"user": user, "address_id": address_id_for(user)}
