"""Catalog pages: parse the form, call a service or selector, render. A DomainError's message is
shown on the page; 'not found' and 'not yours' become the site's 404 and 403 pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shoploop.catalog import forms, selectors, services
from shoploop.catalog.models import Shop
from shoploop.communities import selectors as community_selectors
from shoploop.core.errors import DomainError, NotFound, PermissionDenied
from shoploop.core.money import format_fen

SEARCH_RESULT_LIMIT = 40
SEARCH_CONTENT_LIMIT = 20


def _reraise_http(error: DomainError) -> None:
    if isinstance(error, NotFound | PermissionDenied):
        raise error


# --- public pages -----------------------------------------------------------------------------


def shop_detail(request, shop_id):
    shop = selectors.visible_shop(public_id=shop_id, viewer=request.user)
    return render(
        request,
        "catalog/shop_detail.html",
        {
            "shop": shop,
            "products": selectors.shop_products(shop=shop)[:60],
            "communities": selectors.shop_communities(shop=shop),
            "is_owner": request.user.is_authenticated and shop.owner_id == request.user.pk,
            "follower_count": selectors.shop_follower_count(shop=shop),
            "viewer_follows": selectors.follows_shop(user=request.user, shop=shop),
        },
    )


def _act_on_shop(request, shop_id, action, done_message):
    shop = selectors.visible_shop(public_id=shop_id, viewer=request.user)
    try:
        action(actor=request.user, shop=shop)
    except DomainError as error:
        _reraise_http(error)
        messages.error(request, error.message)
    else:
        messages.success(request, done_message)
    return redirect("catalog:shop", shop_id=shop.public_id)


@require_POST
@login_required
def follow_shop(request, shop_id):
    return _act_on_shop(request, shop_id, services.follow_shop, _("You now follow this shop."))


@require_POST
@login_required
def unfollow_shop(request, shop_id):
    return _act_on_shop(
        request, shop_id, services.unfollow_shop, _("You no longer follow this shop.")
    )


def product_detail(request, product_id):
    product = selectors.product_for_viewer(public_id=product_id, viewer=request.user)
    skus = [sku for sku in product.skus.all() if sku.is_active]
    chosen = _chosen_sku(skus, request.GET.get("sku", ""))
    context = {
        "product": product,
        "skus": skus,
        "chosen": chosen,
        "stock": selectors.stock_state(chosen.stock if chosen else 0),
        "images": list(product.images.all()),
        "communities": list(product.communities.all()),
        "is_owner": request.user.is_authenticated and product.shop.owner_id == request.user.pk,
    }
    if request.htmx:
        return render(request, "catalog/_sku_panel.html", context)
    from shoploop.insights.pageviews import record_view  # a higher app: imported here

    record_view(
        kind="product",
        target_public_id=product.public_id,
        shop_public_id=product.shop.public_id,
        viewer=request.user,
    )
    return render(request, "catalog/product_detail.html", context)


def _chosen_sku(skus, public_id: str):
    """The SKU picked with ?sku=…, else the first one still in stock, else the first."""
    for sku in skus:
        if sku.public_id == public_id:
            return sku
    return next((sku for sku in skus if sku.stock > 0), skus[0] if skus else None)


def search(request):
    query = request.GET.get("q", "").strip()
    tag = request.GET.get("tag", "").strip()
    products, communities, posts, reviews = [], [], [], []
    if query or tag:
        products = list(selectors.search_products(query=query, tag=tag, limit=SEARCH_RESULT_LIMIT))
        communities = community_selectors.search_communities(
            query=query, tag=tag or None, limit=SEARCH_RESULT_LIMIT
        )
    if query:
        posts, reviews = _search_content(query=query, viewer=request.user)
    return render(
        request,
        "catalog/search.html",
        {
            "query": query,
            "tag": tag,
            "products": products,
            "communities": communities,
            "posts": posts,
            "reviews": reviews,
        },
    )


def _search_content(*, query: str, viewer) -> tuple[list, list]:
    """Posts the viewer may read and visible reviews that mention the keyword. content sits above
    catalog, so its selectors are imported here, inside the function (imports stay one-way)."""
    from shoploop.content import selectors as content_selectors

    posts = content_selectors.search_posts(query=query, viewer=viewer)[:SEARCH_CONTENT_LIMIT]
    reviews = content_selectors.search_reviews(query=query, viewer=viewer)[:SEARCH_CONTENT_LIMIT]
    return list(posts), list(reviews)


@login_required
def shop_apply(request):
    existing = selectors.shop_of(user=request.user)
    if existing is not None and existing.status != Shop.Status.REJECTED:
        return redirect("catalog:console")
    form = forms.ShopForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            services.apply_for_shop(user=request.user, **form.cleaned_data)
        except DomainError as failure:
            error = failure.message
        else:
            messages.success(request, _("Thank you! We will review your shop soon."))
            return redirect("catalog:console")
    return render(
        request,
        "catalog/shop_apply.html",
        {"form": form, "error": error, "rejected": existing, "nav_active": "me"},
    )


# --- merchant console -------------------------------------------------------------------------


@login_required
def console(request):
    shop = selectors.shop_of(user=request.user)
    if shop is None:
        return redirect("catalog:shop_apply")
    products = list(selectors.merchant_products(shop=shop)) if shop.is_approved else []
    # What waits for the merchant today, on top of the console (orders sits above catalog).
    from shoploop.orders.selectors import shop_to_do_counts

    to_do = shop_to_do_counts(shop=shop) if shop.is_approved else {}
    return render(
        request,
        "catalog/console/home.html",
        {
            "shop": shop,
            "products": products,
            "to_do": to_do,
            "follower_count": selectors.shop_follower_count(shop=shop),
            "nav_active": "me",
        },
    )


def _own_shop(request) -> Shop:
    shop = selectors.shop_of(user=request.user)
    if shop is None:
        raise Http404(_("You do not have a shop yet."))
    return shop


@login_required
def console_shop(request):
    shop = _own_shop(request)
    choices = selectors.listable_communities(user=request.user) | shop.communities.all()
    details = forms.ShopDetailsForm(
        request.POST if request.POST.get("part") == "details" else None,
        initial={
            "name": shop.name,
            "contact": shop.contact,
            "public_contact": shop.public_contact,
            "description": shop.description,
        },
    )
    listing = forms.ShopCommunitiesForm(
        request.POST if request.POST.get("part") == "communities" else None,
        choices=choices.distinct().order_by("name"),
        initial={"communities": list(shop.communities.all())},
    )
    logo = forms.LogoForm(
        request.POST if request.POST.get("part") == "logo" else None, request.FILES or None
    )
    returns = forms.ReturnAddressForm(
        request.POST if request.POST.get("part") == "returns" else None,
        initial={"return_address": shop.return_address},
    )
    error = None
    if request.method == "POST":
        error = _save_shop_part(
            request, shop=shop, details=details, listing=listing, logo=logo, returns=returns
        )
        if error is None and not any(f.errors for f in (details, listing, logo, returns)):
            messages.success(request, _("Saved."))
            return redirect("catalog:console_shop")
    return render(
        request,
        "catalog/console/shop.html",
        {
            "shop": shop,
            "details": details,
            "listing": listing,
            "logo": logo,
            "returns": returns,
            "error": error,
            "nav_active": "me",
        },
    )


def _save_shop_part(request, *, shop, details, listing, logo, returns):
    part = request.POST.get("part")
    try:
        if part == "details" and details.is_valid():
            services.update_shop(shop=shop, actor=request.user, **details.cleaned_data)
        elif part == "returns" and returns.is_valid():
            services.update_shop(shop=shop, actor=request.user, **returns.cleaned_data)
        elif part == "communities" and listing.is_valid():
            services.set_shop_communities(
                shop=shop, communities=listing.cleaned_data["communities"], actor=request.user
            )
        elif part == "logo" and logo.is_valid():
            services.set_shop_logo(shop=shop, actor=request.user, upload=logo.cleaned_data["logo"])
    except DomainError as failure:
        _reraise_http(failure)
        return failure.message
    return None


@login_required
def console_product_new(request):
    shop = _own_shop(request)
    form = forms.ProductForm(request.POST or None, community_choices=shop.communities.all())
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            product = services.create_product(shop=shop, actor=request.user, **form.cleaned_data)
        except DomainError as failure:
            _reraise_http(failure)
            error = failure.message
        else:
            messages.success(request, _("Product created. Add images and SKUs, then publish."))
            return redirect("catalog:console_product", product_id=product.public_id)
    return render(
        request,
        "catalog/console/product_new.html",
        {"shop": shop, "form": form, "error": error, "nav_active": "me"},
    )


@login_required
def console_product(request, product_id):
    product = selectors.product_for_owner(public_id=product_id, actor=request.user)
    form = forms.ProductForm(
        request.POST or None,
        community_choices=product.shop.communities.all(),
        initial={
            "title": product.title,
            "description": product.description,
            "category": product.category,
            "tags": ", ".join(tag.name for tag in product.tags.all()),
            "communities": list(product.communities.all()),
        },
    )
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            services.update_product(product=product, actor=request.user, **form.cleaned_data)
        except DomainError as failure:
            _reraise_http(failure)
            error = failure.message
        else:
            messages.success(request, _("Saved."))
            return redirect("catalog:console_product", product_id=product.public_id)
    return render(
        request,
        "catalog/console/product_edit.html",
        {
            "product": product,
            "form": form,
            "error": error,
            "image_form": forms.ImageForm(),
            "sku_form": forms.SkuForm(prefix="new"),
            "skus": [
                {
                    "sku": sku,
                    "form": forms.SkuForm(
                        prefix=sku.public_id,
                        initial={
                            "options": forms.options_as_text(sku.options),
                            "price": format_fen(sku.price_fen, symbol=False),
                            "list_price": (
                                format_fen(sku.list_price_fen, symbol=False)
                                if sku.list_price_fen
                                else ""
                            ),
                            "stock": sku.stock,
                            "is_active": sku.is_active,
                        },
                    ),
                    "stock_state": selectors.stock_state(sku.stock),
                }
                for sku in product.skus.all()
            ],
            "nav_active": "me",
        },
    )


def _back_to_product(product_id):
    return redirect(reverse("catalog:console_product", kwargs={"product_id": product_id}))


def _run(request, action, *, success: str):
    """Run a console action; its DomainError message is shown as a flash on the product page."""
    try:
        action()
    except DomainError as failure:
        _reraise_http(failure)
        messages.error(request, failure.message)
    else:
        messages.success(request, success)


@require_POST
@login_required
def console_product_publish(request, product_id):
    product = selectors.product_by_public_id(public_id=product_id)
    _run(
        request,
        lambda: services.publish_product(product=product, actor=request.user),
        success=_("Published."),
    )
    return _back_to_product(product_id)


@require_POST
@login_required
def console_product_unpublish(request, product_id):
    product = selectors.product_by_public_id(public_id=product_id)
    _run(
        request,
        lambda: services.unpublish_product(product=product, actor=request.user),
        success=_("Taken off sale."),
    )
    return _back_to_product(product_id)


@require_POST
@login_required
def console_image_add(request, product_id):
    product = selectors.product_by_public_id(public_id=product_id)
    form = forms.ImageForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose an image to upload."))
        return _back_to_product(product_id)
    _run(
        request,
        lambda: services.add_product_image(
            product=product, actor=request.user, upload=form.cleaned_data["image"]
        ),
        success=_("Image added."),
    )
    return _back_to_product(product_id)


@require_POST
@login_required
def console_image_cover(request, image_id):
    image = selectors.image_by_public_id(public_id=image_id)
    _run(
        request,
        lambda: services.make_cover_image(image=image, actor=request.user),
        success=_("Cover image set."),
    )
    return _back_to_product(image.product.public_id)


@require_POST
@login_required
def console_image_remove(request, image_id):
    image = selectors.image_by_public_id(public_id=image_id)
    _run(
        request,
        lambda: services.remove_product_image(image=image, actor=request.user),
        success=_("Image removed."),
    )
    return _back_to_product(image.product.public_id)


@require_POST
@login_required
def console_sku_add(request, product_id):
    product = selectors.product_by_public_id(public_id=product_id)
    form = forms.SkuForm(request.POST, prefix="new")
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back_to_product(product_id)
    data = form.cleaned_data
    _run(
        request,
        lambda: services.add_sku(
            product=product,
            actor=request.user,
            options=data["options"],
            price_fen=data["price"],
            list_price_fen=data["list_price"],
            stock=data["stock"] or 0,
        ),
        success=_("SKU added."),
    )
    return _back_to_product(product_id)


@require_POST
@login_required
def console_sku_edit(request, sku_id):
    sku = selectors.sku_by_public_id(public_id=sku_id)
    form = forms.SkuForm(request.POST, prefix=sku.public_id)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back_to_product(sku.product.public_id)
    data = form.cleaned_data
    _run(
        request,
        lambda: services.update_sku(
            sku=sku,
            actor=request.user,
            options=data["options"],
            price_fen=data["price"],
            list_price_fen=data["list_price"],
            is_active=data["is_active"],
        ),
        success=_("SKU saved."),
    )
    return _back_to_product(sku.product.public_id)


@require_POST
@login_required
def console_stock_adjust(request, sku_id):
    sku = selectors.sku_by_public_id(public_id=sku_id)
    form = forms.StockAdjustForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back_to_product(sku.product.public_id)
    _run(
        request,
        lambda: services.adjust_stock(
            sku=sku, delta=form.cleaned_data["delta"], actor=request.user
        ),
        success=_("Stock updated."),
    )
    return _back_to_product(sku.product.public_id)


def _form_errors(form) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)
