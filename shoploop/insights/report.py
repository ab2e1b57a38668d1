"""The tables behind the charts, one shape for the page, the CSV and the API: a header and rows
(``None`` is a figure hidden by the k-anonymity rule)."""

from django.utils.translation import gettext as _

from shoploop.insights.selectors import COUNTS, PEOPLE, WeekFigures

CONVERSIONS = ("reach_to_conversation", "conversation_to_purchase", "purchase_to_sharing")


def stage_labels() -> dict[str, str]:
    return {
        "reach": _("Reach"),
        "conversation": _("Conversation"),
        "purchase": _("Purchase"),
        "sharing": _("Sharing"),
    }


def loop_rows(loop: list[WeekFigures]) -> dict:
    header = ["week", *(f"people_{key}" for key in PEOPLE), *COUNTS, *CONVERSIONS, "viral"]
    rows = [
        [
            row.week.isoformat(),
            *(row.people[key] for key in PEOPLE),
            *(row.counts[key] for key in COUNTS),
            *(row.conversions[key] for key in CONVERSIONS),
            row.viral,
        ]
        for row in loop
    ]
    return {"header": header, "rows": rows}


def cohort_rows(cohorts: list[dict]) -> dict:
    width = max((len(c["active"]) for c in cohorts), default=0)
    header = ["cohort", "buyers", *(f"week_{n}" for n in range(width))]
    rows = [
        [c["cohort"].isoformat(), c["buyers"], *c["active"], *([""] * (width - len(c["active"])))]
        for c in cohorts
    ]
    return {"header": header, "rows": rows}


def segment_rows(segments: dict) -> dict:
    rows = [
        [kind, row["name"], row["units"], row["buyers_at_least"]]
        for kind in ("categories", "price_bands", "wants")
        for row in segments[kind]
    ]
    return {"header": ["segment", "name", "units", "buyers_at_least"], "rows": rows}
