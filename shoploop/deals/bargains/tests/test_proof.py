"""Provably fair cuts: the seed's commitment from the start, the seed only at the end, and a
recomputation that matches every recorded help (page and API)."""

import hashlib
import re

import pytest
from django.urls import reverse

from shoploop.deals.bargains import cuts, proof, services
from shoploop.deals.bargains.models import Bargain, Help
from shoploop.orders.testing import address_id_for


@pytest.fixture(autouse=True)
def _english(english):
    """Assertions read English."""


def _page(client, bargain, name="deals_bargains:detail") -> str:
    response = client.get(reverse(name, args=[bargain.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def _commitment_on(html: str) -> str:
    return re.search(r"data-seed-commitment[^>]*>([0-9a-f]{64})<", html).group(1)


def test_the_commitment_is_the_seeds_sha256_and_stays_the_same(client, campaign, buyer, friends):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    expected = hashlib.sha256(bargain.seed.encode()).hexdigest()
    assert proof.seed_commitment(bargain.seed) == expected
    first = _commitment_on(_page(client, bargain))
    assert first == expected
    services.help_bargain(bargain=bargain, helper=friends[0])
    assert _commitment_on(_page(client, bargain)) == first
    assert _commitment_on(_page(client, bargain, "deals_bargains:verify")) == first


def test_the_seed_is_not_revealed_while_the_bargain_runs(client, api, finished, buyer):
    # At the floor, even buying: the seed stays secret until the bargain has ended.
    for step in ("active", "buying"):
        if step == "buying":
            services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
            finished.refresh_from_db()
        assert finished.state == step
        for html in (_page(client, finished), _page(client, finished, "deals_bargains:verify")):
            assert finished.seed not in html
        assert "data-seed-hidden" in _page(client, finished, "deals_bargains:verify")
        for path in (
            f"/deals/bargains/{finished.public_id}",
            f"/deals/bargains/{finished.public_id}/verify",
        ):
            response = api.get(path)
            assert response.status_code == 200
            assert finished.seed not in response.content.decode()
        body = api.get(f"/deals/bargains/{finished.public_id}/verify").json()
        assert body["revealed"] is False and body["seed"] is None and body["helps"] == []
        assert body["all_match"] is None
        assert body["commitment"] == proof.seed_commitment(finished.seed)


def test_after_buying_the_seed_is_revealed_and_every_cut_recomputes(
    client, api, finished, buyer, pay
):
    order = services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
    pay(order.checkout)
    finished.refresh_from_db()
    assert finished.state == Bargain.State.BOUGHT
    body = api.get(f"/deals/bargains/{finished.public_id}/verify").json()
    assert body["revealed"] is True and body["seed"] == finished.seed
    assert body["seed_matches_commitment"] is True and body["all_match"] is True
    sequence = cuts.cut_sequence(
        seed=finished.seed,
        helpers=finished.campaign.helpers_needed,
        total=finished.campaign.total_cut_fen,
        version=finished.cuts_version,
    )
    recorded = list(Help.objects.filter(bargain=finished).order_by("position"))
    assert [h["recorded_fen"] for h in body["helps"]] == [h.cut_fen for h in recorded]
    assert [h["recomputed_fen"] for h in body["helps"]] == sequence
    assert all(h["matches"] for h in body["helps"])
    html = _page(client, finished, "deals_bargains:verify")
    assert finished.seed in html and 'data-all-match="yes"' in html
    assert html.count('data-matches="yes"') == 3


def test_an_expired_bargain_reveals_its_seed_too(client, campaign, buyer, friends):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    services.help_bargain(bargain=bargain, helper=friends[0])
    services.expire_due(bargain.deadline)
    bargain.refresh_from_db()
    assert bargain.state == Bargain.State.EXPIRED
    shown = proof.bargain_proof(bargain=bargain)
    assert shown.seed == bargain.seed and shown.all_match is True
    assert [check.position for check in shown.checks] == [1]
    assert bargain.seed in _page(client, bargain, "deals_bargains:verify")


def test_a_recorded_cut_that_the_seed_does_not_give_is_shown_as_a_mismatch(client, finished):
    Help.objects.filter(bargain=finished, position=2).update(cut_fen=1)
    Bargain.objects.filter(pk=finished.pk).update(state=Bargain.State.EXPIRED)
    finished.refresh_from_db()
    shown = proof.bargain_proof(bargain=finished)
    assert [check.matches for check in shown.checks] == [True, False, True]
    assert shown.all_match is False
    html = _page(client, finished, "deals_bargains:verify")
    assert 'data-all-match="no"' in html and 'data-matches="no"' in html


def test_a_seed_that_does_not_open_the_commitment_fails_the_proof(finished):
    shown = proof.bargain_proof(bargain=finished)
    assert shown.seed is None and shown.all_match is None
    Bargain.objects.filter(pk=finished.pk).update(state=Bargain.State.EXPIRED)
    finished.refresh_from_db()
    shown = proof.bargain_proof(bargain=finished)
    shown.commitment = proof.seed_commitment("another seed")
    assert shown.seed_matches_commitment is False and shown.all_match is False


def test_the_progress_bar_counts_helps_and_the_money_is_text(client, campaign, buyer, friends):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    help_row = services.help_bargain(bargain=bargain, helper=friends[0])
    html = _page(client, bargain)
    bar = re.search(r"<progress[^>]*>", html).group(0)
    assert 'value="1"' in bar and f'max="{campaign.helpers_needed}"' in bar
    assert "1 of 3 helps" in html
    assert f"¥{help_row.cut_fen / 100:.2f} cut by 1 of 3 helps." in html


def test_a_bargain_keeps_its_cut_version_when_the_current_one_changes(
    campaign, buyer, friends, monkeypatch
):
    old = services.start_bargain(campaign=campaign, user=buyer)
    assert old.cuts_version == cuts.CURRENT_VERSION == 1

    def version_two(*, seed, helpers, total):
        return [total - helpers + 1] + [1] * (helpers - 1)

    monkeypatch.setitem(cuts.ALGORITHMS, 2, version_two)
    monkeypatch.setattr(cuts, "CURRENT_VERSION", 2)
    expected = cuts.cut_sequence(seed=old.seed, helpers=3, total=4000, version=1)
    assert services.help_bargain(bargain=old, helper=friends[0]).cut_fen == expected[0]
    new = services.start_bargain(campaign=campaign, user=friends[4])
    assert new.cuts_version == 2
    assert services.help_bargain(bargain=new, helper=friends[1]).cut_fen == 3998
