import django.db.models.deletion
from django.db import migrations, models


def one_variant_per_campaign(apps, schema_editor):
    """Every existing campaign sold one SKU: that is its one variant, and its seats chose it."""
    GroupCampaign = apps.get_model("deals_groups", "GroupCampaign")
    GroupCampaignSKU = apps.get_model("deals_groups", "GroupCampaignSKU")
    Seat = apps.get_model("deals_groups", "Seat")
    for campaign in GroupCampaign.objects.order_by("pk").iterator():
        variant = GroupCampaignSKU.objects.create(
            campaign_id=campaign.pk,
            sku_id=campaign.sku_id,
            group_price_fen=campaign.group_price_fen,
            leader_price_fen=campaign.leader_price_fen,
            stock=campaign.stock,
            stock_total=campaign.stock_total,
        )
        Seat.objects.filter(group__campaign_id=campaign.pk).update(variant_id=variant.pk)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("deals_groups", "0002_buyer_lock_row_and_refunded_count"),
    ]

    operations = [
        migrations.CreateModel(
            name="GroupCampaignSKU",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("group_price_fen", models.PositiveIntegerField(verbose_name="group price (fen)")),
                (
                    "leader_price_fen",
                    models.PositiveIntegerField(
                        blank=True, null=True, verbose_name="leader price (fen)"
                    ),
                ),
                ("stock", models.PositiveIntegerField(verbose_name="stock left")),
                ("stock_total", models.PositiveIntegerField(verbose_name="campaign stock")),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="variants",
                        to="deals_groups.groupcampaign",
                        verbose_name="campaign",
                    ),
                ),
                (
                    "sku",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="catalog.sku",
                        verbose_name="SKU",
                    ),
                ),
            ],
            options={
                "verbose_name": "campaign variant",
                "verbose_name_plural": "campaign variants",
                "ordering": ["pk"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("campaign", "sku"), name="one_variant_per_campaign_sku"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("stock__gte", 0)), name="group_variant_stock_gte_0"
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="seat",
            name="variant",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="seats",
                to="deals_groups.groupcampaignsku",
                verbose_name="variant",
            ),
        ),
        migrations.RunPython(one_variant_per_campaign, migrations.RunPython.noop),
    ]
