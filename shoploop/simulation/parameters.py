"""The world's knobs. Every number here is ground truth the insights app should be able to recover;
``manage.py simulate`` writes them (with the outcome counts) to var/world.json."""

from dataclasses import asdict, dataclass, field

from shoploop.simulation.themes import THEMES

DEFAULT_SEED = 20240601
DEFAULT_USERS = 300
DEFAULT_DAYS = 30


def zipf_weights(count: int, exponent: float) -> tuple[float, ...]:
    """Weight of the k-th most popular item ∝ 1 / k^exponent, normalised to sum to 1."""
    raw = [1.0 / (rank**exponent) for rank in range(1, count + 1)]
    total = sum(raw)
    return tuple(weight / total for weight in raw)


@dataclass(frozen=True)
class WorldParameters:
    seed: int = DEFAULT_SEED
    users: int = DEFAULT_USERS
    days: int = DEFAULT_DAYS

    # People
    english_name_share: float = 0.10
    interests_per_user: tuple[int, int] = (1, 3)
    theme_zipf_exponent: float = 1.0
    # Share of users present on day 0; the rest sign up uniformly over days 1..days-1.
    early_adopter_share: float = 0.20

    # Communities
    users_per_community: int = 40
    visibility_shares: dict[str, float] = field(
        default_factory=lambda: {"public": 0.75, "approval": 0.17, "invite": 0.08}
    )
    # Communities are founded in the first third of the period.
    founding_period_share: float = 1 / 3
    # For each interest: the chance of joining that theme's communities at all, then how many.
    join_probability_per_interest: float = 0.85
    communities_joined_per_interest: tuple[int, int] = (1, 2)
    # Join delay after both the user and the community exist: geometric with this mean (days).
    mean_join_delay_days: float = 2.0
    request_approval_rate: float = 0.85
    members_per_moderator: int = 25
    archived_communities: int = 1
    dissolved_communities: int = 1

    # Social graph: where a follow target is sought, then preferential attachment (∝ followers+1).
    follows_per_user_mean: float = 5.0
    follow_source_shares: dict[str, float] = field(
        default_factory=lambda: {"community": 0.40, "theme": 0.35, "anyone": 0.25}
    )
    # Share of a user's follows made on the sign-up day; the rest on random later days.
    follows_on_signup_day_share: float = 0.5
    block_share: float = 0.01
    # Share of people who turn on "share my purchases and deals with my followers" (the privacy
    # setting, off by default) on the day they sign up: their purchases and the deals they open,
    # join, bargain for or back reach their followers' feeds.
    activity_sharing_share: float = 0.35

    # Merchants and catalog
    merchant_share: float = 0.04
    min_merchants: int = 3
    shop_approval_rate: float = 0.9
    products_per_shop: tuple[int, int] = (2, 6)
    skus_per_product: tuple[int, int] = (1, 4)
    stock_per_sku: tuple[int, int] = (5, 200)
    list_price_markup_share: float = 0.3  # share of SKUs with a higher "was" price
    # Every demo product has a picture (a drawn square: simulation.images); 1.0 means all.
    product_image_share: float = 1.0

    # Coupons: each approved shop creates some once its first products are on sale.
    coupons_per_shop: tuple[int, int] = (1, 3)
    percent_coupon_share: float = 0.4  # the rest take a fixed amount off
    coupon_quantity: tuple[int, int] = (20, 200)
    # People who claim one coupon per day: geometric with this mean (interested people only).
    coupon_claims_per_coupon_day: float = 1.5
    coupon_use_rate: float = 0.8  # a held, applicable coupon is used at checkout

    # Buying. Each signed-up person checks out on a given day with probability
    # purchase_propensity + purchase_propensity_per_community × min(communities joined, 3).
    purchase_propensity: float = 0.02
    purchase_propensity_per_community: float = 0.01
    # Where the products in a cart come from: the buyer's communities, their interests, anywhere.
    purchase_source_shares: dict[str, float] = field(
        default_factory=lambda: {"community": 0.5, "theme": 0.4, "anyone": 0.1}
    )
    items_per_cart: tuple[int, int] = (1, 3)
    units_per_item: tuple[int, int] = (1, 2)
    # What the buyer does in the sandbox cashier (shares sum to 1).
    payment_outcome_shares: dict[str, float] = field(
        default_factory=lambda: {"approve": 0.86, "decline": 0.06, "never_pay": 0.08}
    )
    payment_delay_minutes: tuple[int, int] = (1, 10)  # within the 15-minute reservation
    # After a decline the order stays payable; this share presses "pay" again and approves.
    pay_again_after_decline_rate: float = 0.5

    # Fulfilment and after-sale.
    cancel_before_shipping_rate: float = 0.04  # the buyer cancels a paid order the same day
    ship_delay_days: tuple[int, int] = (1, 2)
    confirm_receipt_rate: float = 0.7  # the rest are received automatically after 7 days
    confirm_delay_days: tuple[int, int] = (2, 5)  # after shipping
    after_sale_rate: float = 0.12  # of orders the buyer confirmed
    return_and_refund_share: float = 0.5  # the rest are "refund only"
    after_sale_accept_rate: float = 0.75  # the merchant accepts; otherwise rejects
    escalation_rate: float = 0.6  # of rejected requests, the buyer escalates
    min_escalations: int = 1  # the world's first rejections are escalated until this many
    operator_refund_rate: float = 0.5  # of escalated requests, the operator refunds
    unshipped_refund_rate: float = 0.03  # of paid orders, the buyer asks for a refund first
    after_sale_no_answer_rate: float = 0.2  # the merchant never answers (settle_due decides)
    return_ship_rate: float = 0.9  # of accepted returns, the buyer sends the goods back
    min_returns_sent: int = 1  # the world's first accepted returns are sent back until this many
    return_confirm_rate: float = 0.5  # the merchant confirms the returned goods (refund now)
    return_dispute_rate: float = 0.1  # the merchant disputes them; else refunded at the deadline

    # 团长 and pickup (activities/pickup.py, own random stream). A community with a few members
    # gets a 团长 and a pickup point with this chance (its owner leads it with the next share, else
    # a member); a shop pays 团长 a commission per order (fen, drawn from the range) with the
    # next; a buyer with a point in their communities picks up with pickup_choice_rate; the 团长
    # then collects at confirm_receipt_rate (the rest are received automatically).
    pickup_community_share: float = 0.4
    pickup_owner_leads_share: float = 0.5
    pickup_commission_shop_share: float = 0.5
    pickup_commission_fen: tuple[int, int] = (100, 600)
    pickup_choice_rate: float = 0.3

    # Payouts.
    withdrawal_rate: float = 0.3  # a merchant with available money withdraws on a given day
    withdrawal_share_percent: tuple[int, int] = (50, 100)  # of the available balance
    # The demo merchant's first withdrawal goes to an account ending in 0000, which the sandbox
    # bank refuses: the wallet shows a failed payout and the money back.
    failed_payouts: int = 1

    # Attention (the content app). Each community draws its own rates once, uniformly from these
    # ranges (seeded apart from the rest of the world); var/world.json lists what each one drew.
    # post_rate: the chance a member posts on a given day; comments_per_post: the mean number
    # of comments a post gets (a share of them replies); like_rate: the chance each member who
    # comes by likes a post.
    content_post_rate: tuple[float, float] = (0.02, 0.12)
    content_comments_per_post: tuple[float, float] = (0.5, 3.0)
    content_reply_share: float = 0.3
    content_like_rate: tuple[float, float] = (0.05, 0.30)
    content_likers_sampled: int = 30  # members who come by a post (at most)
    # The home feed: the chance a signed-up person opens it on a day, how many more pages they
    # read (geometric mean), and the share who switch to the latest order.
    feed_open_rate: float = 0.3
    feed_more_pages_mean: float = 0.5
    feed_latest_share: float = 0.2
    # Reviews: the chance a buyer reviews a received line (within 3 days), their stars, and the
    # chance they share the review into one of their communities (晒单).
    review_rate: float = 0.5
    review_star_weights: dict[str, float] = field(
        default_factory=lambda: {"5": 0.55, "4": 0.25, "3": 0.1, "2": 0.05, "1": 0.05}
    )
    review_share_rate: float = 0.2
    # Shop follows (粉丝): each approved shop draws once, uniformly from this range, the chance
    # that a member of a community it is listed in (not yet a follower) follows it on a day.
    shop_follow_rate: tuple[float, float] = (0.005, 0.04)

    # Sharing (the referrals app): the chance a person shares an offer on a day (as a short
    # link, from one of their communities), the mean number of friends who open a new link,
    # the chance a friend who opened it buys it, the chance a sharer opts in as a promoter,
    # the share of shops paying commissions and their rates (basis points). The viral
    # coefficient per sharer-day is share_rate × share_visits_per_link × share_conversion.
    share_rate: float = 0.04
    share_visits_per_link: float = 2.0
    share_conversion: float = 0.15
    promoter_share: float = 0.5
    commission_shop_share: float = 0.6
    commission_level1_bps: int = 800
    commission_level2_bps: int = 200

    # Co-creation (the ideas app; activities/ideas.py, its own random stream). Each day, each
    # approved shop listed in a community gets a new idea from one of those communities' members
    # with idea_rate (idea_improvement_share of them improve one of its products). Each day each
    # open idea is seen by up to idea_voters_sampled members of its community; each votes with
    # idea_vote_rate and comments with idea_comment_rate. The merchant answers an open idea on a
    # day with idea_answer_rate: it declines it with idea_decline_share (with a reason), else
    # moves it one step forward (under review → planned → in progress → shipped, linked to one
    # of the shop's products). Wanted products (想要): each day a listed shop gets one with
    # wanted_rate; each sampled member adds a want with want_rate at a band drawn from
    # want_band_weights. The first wanted product with presale_min_wants wants (else, two days
    # before the end, the most wanted one with a want) is turned into a crowdfunding pre-sale, once
    # (presales_from_wants).
    idea_rate: float = 0.25
    idea_improvement_share: float = 0.4
    idea_voters_sampled: int = 20
    idea_vote_rate: float = 0.08
    idea_comment_rate: float = 0.02
    idea_answer_rate: float = 0.25
    idea_decline_share: float = 0.2
    wanted_rate: float = 0.08
    want_rate: float = 0.06
    want_band_weights: dict[str, float] = field(
        default_factory=lambda: {
            "under_50": 0.2,
            "50_100": 0.35,
            "100_200": 0.25,
            "200_500": 0.15,
            "500_up": 0.05,
        }
    )
    presale_min_wants: int = 5
    presales_from_wants: int = 1
    # Crowdsourcing tasks (众包, activities/crowdtasks.py, own random stream): the chance an
    # approved shop without an open task posts one on a day; its winners, days to the deadline
    # and money per winner (fen); a money reward only when the shop has this many times it
    # available (else a coupon of the shop); entries per open task and day (geometric mean);
    # the chance the merchant picks winners the day before the deadline (the rest expire and
    # are refunded). The world's first min_unanswered_tasks are never answered, so an expired
    # task always shows.
    crowdtask_post_rate: float = 0.08
    crowdtask_winners: tuple[int, int] = (1, 3)
    crowdtask_days: tuple[int, int] = (2, 5)
    crowdtask_reward_fen: tuple[int, int] = (500, 3000)
    crowdtask_balance_margin: int = 3
    crowdtask_entries_per_task_day: float = 1.5
    crowdtask_answer_rate: float = 0.7
    min_unanswered_tasks: int = 1

    @property
    def theme_keys(self) -> tuple[str, ...]:
        return tuple(theme.key for theme in THEMES)

    @property
    def theme_weights(self) -> tuple[float, ...]:
        return zipf_weights(len(THEMES), self.theme_zipf_exponent)

    @property
    def community_count(self) -> int:
        # At least one per theme, and enough that every visibility and lifecycle state can appear.
        return max(len(THEMES) + 3, self.users // self.users_per_community)

    @property
    def merchant_count(self) -> int:
        return max(self.min_merchants, round(self.users * self.merchant_share))

    def as_dict(self) -> dict:
        data = asdict(self)
        data["themes"] = [
            {"key": theme.key, "name": theme.name, "weight": round(weight, 6)}
            for theme, weight in zip(THEMES, self.theme_weights, strict=True)
        ]
        data["community_count"] = self.community_count
        data["merchant_count"] = self.merchant_count
        return data
