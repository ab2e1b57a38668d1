"""Catalog: shops (merchants), products, their images and SKUs.

Tables and field validation only; every rule lives in services.py.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shoploop.core import clock
from shoploop.core.ids import PublicIdField
from shoploop.core.money import MAX_PRICE_FEN

SHOP_NAME_MAX_LENGTH = 40
SHOP_DESCRIPTION_MAX_LENGTH = 2000
SHOP_CONTACT_MAX_LENGTH = 100
SHOP_RETURN_ADDRESS_MAX_LENGTH = 300
REJECTION_REASON_MAX_LENGTH = 500
DEFAULT_FEE_RATE_BPS = 500  # 5 %
BPS_PER_WHOLE = 10_000

PRODUCT_TITLE_MAX_LENGTH = 60
PRODUCT_DESCRIPTION_MAX_LENGTH = 20_000
MAX_PRODUCT_TAGS = 8
MAX_PRODUCT_IMAGES = 9

SKU_MAX_OPTIONS = 5
SKU_OPTION_MAX_LENGTH = 20
SKU_OPTIONS_KEY_MAX_LENGTH = 400
MAX_STOCK = 1_000_000


class Shop(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    public_id = PublicIdField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="shops",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=SHOP_NAME_MAX_LENGTH)
    description = models.TextField(
        _("description"), max_length=SHOP_DESCRIPTION_MAX_LENGTH, blank=True
    )
    # How the platform reaches the merchant (given when applying): never shown to buyers.
    contact = models.CharField(_("contact"), max_length=SHOP_CONTACT_MAX_LENGTH)
    # What the merchant chose to publish on the shop page; empty until they choose.
    public_contact = models.CharField(
        _("public contact"), max_length=SHOP_CONTACT_MAX_LENGTH, blank=True, default=""
    )
    logo = models.ImageField(_("logo"), upload_to="shops/logos/%Y/%m/", blank=True)
    # Where buyers send goods back after the shop accepted a return (shown only to them).
    return_address = models.CharField(
        _("return address"), max_length=SHOP_RETURN_ADDRESS_MAX_LENGTH, blank=True
    )
    # The platform's cut of each sale in basis points (1/100 of a percent); read by the money issue.
    fee_rate_bps = models.PositiveIntegerField(
        _("platform fee (bps)"), default=DEFAULT_FEE_RATE_BPS
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    rejection_reason = models.CharField(
        _("rejection reason"), max_length=REJECTION_REASON_MAX_LENGTH, blank=True
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviewed_shops",
        verbose_name=_("reviewed by"),
    )
    communities = models.ManyToManyField(
        "communities.Community",
        related_name="shops",
        blank=True,
        verbose_name=_("communities"),
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner"], name="one_shop_per_user"),
            models.CheckConstraint(
                condition=models.Q(fee_rate_bps__lte=BPS_PER_WHOLE),
                name="shop_fee_rate_at_most_100pct",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED


class ShopFollow(models.Model):
    """``follower`` follows ``shop``: the shop's 粉丝. Uniqueness is the database's job."""

    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followed_shop_links"
    )
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="follower_links")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("shop follow")
        verbose_name_plural = _("shop follows")
        constraints = [
            models.UniqueConstraint(fields=["follower", "shop"], name="unique_shop_follow"),
        ]
        indexes = [models.Index(fields=["shop", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.follower_id} → shop {self.shop_id}"


class Product(models.Model):
    class Category(models.TextChoices):
        FOOD = "food", _("Food & drink")
        FASHION = "fashion", _("Fashion")
        BEAUTY = "beauty", _("Beauty")
        # With a context: plain "Home" is the admin's and the site's home page (首页), not 家居.
        HOME = "home", pgettext_lazy("product category", "Home")
        DIGITAL = "digital", _("Digital")
        BOOKS = "books", _("Books")
        SPORTS = "sports", _("Sports & outdoors")
        KIDS = "kids", _("Kids")
        HANDMADE = "handmade", _("Handmade")
        OTHER = "other", _("Other")

    public_id = PublicIdField()
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="products", verbose_name=_("shop")
    )
    title = models.CharField(_("title"), max_length=PRODUCT_TITLE_MAX_LENGTH)
    # The merchant's Markdown exactly as typed; ``description_html`` is its sanitised rendering,
    # refreshed by the service whenever the source changes.
    description = models.TextField(_("description"), blank=True)
    description_html = models.TextField(
        _("description (sanitised HTML)"), blank=True, editable=False
    )
    category = models.CharField(
        _("category"), max_length=12, choices=Category.choices, default=Category.OTHER
    )
    tags = models.ManyToManyField(
        "communities.InterestTag", related_name="products", blank=True, verbose_name=_("tags")
    )
    communities = models.ManyToManyField(
        "communities.Community", related_name="products", blank=True, verbose_name=_("communities")
    )
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    updated_at = models.DateTimeField(_("updated at"), default=clock.now)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["shop", "-created_at"]),
            models.Index(fields=["is_published", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.title


class ProductImage(models.Model):
    public_id = PublicIdField()
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="images", verbose_name=_("product")
    )
    image = models.ImageField(_("image"), upload_to="products/%Y/%m/")
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["position", "created_at"]

    def __str__(self) -> str:
        return f"{self.product} #{self.position}"


class SKU(models.Model):
    """One buyable variant. ``stock`` changes only through conditional updates in services."""

    public_id = PublicIdField()
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="skus", verbose_name=_("product")
    )
    options = models.JSONField(_("options"), default=dict, blank=True)
    # Canonical JSON of ``options`` (sorted keys) so the database can enforce uniqueness the same
    # way on SQLite (JSON as text) and PostgreSQL (jsonb).
    options_key = models.CharField(max_length=SKU_OPTIONS_KEY_MAX_LENGTH, editable=False)
    price_fen = models.BigIntegerField(_("price (fen)"))
    list_price_fen = models.BigIntegerField(_("list price (fen)"), null=True, blank=True)
    stock = models.PositiveIntegerField(_("stock"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "options_key"], name="unique_sku_options"),
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="sku_stock_not_negative"),
            models.CheckConstraint(
                condition=models.Q(price_fen__gt=0, price_fen__lte=MAX_PRICE_FEN),
                name="sku_price_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(list_price_fen__isnull=True)
                | models.Q(
                    list_price_fen__gte=models.F("price_fen"), list_price_fen__lte=MAX_PRICE_FEN
                ),
                name="sku_list_price_at_least_price",
            ),
        ]

    def __str__(self) -> str:
        label = " / ".join(f"{k}: {v}" for k, v in self.options.items())
        return f"{self.product} ({label})" if label else str(self.product)

    @property
    def options_label(self) -> str:
        return " / ".join(str(value) for value in self.options.values())
